package users_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

func TestGrantsForUsersAndGroupsInBothDatabases(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := store(t, dsn)
		ctx := context.Background()
		if _, err := s.CreateScoped(ctx, "Dana", users.RoleOperator, scope.MustParse("tag:team=data"), "long-enough"); err != nil {
			t.Fatal(err)
		}
		u, _ := s.ByName(ctx, "dana")
		if u.Scope.String() != "tag:team=data" || u.Own().Role != users.RoleOperator {
			t.Fatalf("own grant %+v", u.Own())
		}
		g1, err := s.AddGrant(ctx, users.Grant{User: "DANA", Role: users.RoleApprover, Scope: scope.MustParse("region=cn-hangzhou")}, "cli")
		if err != nil || g1.User != "Dana" {
			t.Fatalf("user grant: %+v %v", g1, err)
		}
		g2, err := s.AddGrant(ctx, users.Grant{Group: "web", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=web")}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddGrant(ctx, users.Grant{User: "nobody", Role: users.RoleViewer}, "cli"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("grant for a stranger: %v", err)
		}
		if _, err := s.AddGrant(ctx, users.Grant{Group: "web", Role: users.RoleAdmin, Scope: scope.MustParse("tag:team=web")}, "cli"); !errors.Is(err, users.ErrScopedAdmin) {
			t.Fatalf("scoped admin: %v", err)
		}
		got, err := s.GrantsFor(ctx, "dana", []string{"web", "other"})
		if err != nil || len(got) != 2 || got[0].ID != g1.ID || got[1].ID != g2.ID {
			t.Fatalf("GrantsFor: %+v %v", got, err)
		}
		if got, _ := s.GrantsFor(ctx, "dana", nil); len(got) != 1 {
			t.Fatalf("without groups: %d", len(got))
		}
		if _, err := s.RemoveGrant(ctx, g1.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RemoveGrant(ctx, g1.ID); !errors.Is(err, users.ErrNoGrant) {
			t.Fatalf("second removal: %v", err)
		}
		if all, _ := s.Grants(ctx); len(all) != 1 {
			t.Fatalf("%d grants left", len(all))
		}
	})
}

// A database written by the version before grants: its users keep their
// roles over every instance, and its audit log still verifies.
func TestUpgradeKeepsEveryoneUnscopedAndTheLogVerifying(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		log := audit.New(d.Write, d.Read, nil)
		if _, err := log.Append(ctx, audit.Event{Action: audit.ActionLogin, User: "ann", State: audit.StateSucceeded}); err != nil {
			t.Fatal(err)
		}
		// Back to the schema of the version before: no grants, no scope;
		// then that version's users.
		for _, q := range []string{"DROP TABLE grants", "ALTER TABLE users DROP COLUMN scope", "DELETE FROM schema_migrations WHERE version BETWEEN 60 AND 69", // the grants migrations
			"DROP TABLE grants_version", "DELETE FROM schema_migrations WHERE version = 120", // and the grants' version
			"INSERT INTO users (name, source, role, password_hash, created_at, updated_at) VALUES ('ann', 'local', 'operator', '', 'x', 'x'), ('root', 'local', 'admin', '', 'x', 'x')"} {
			if _, err := d.Write.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		d.Close()
		d, err = db.Open(ctx, dsn) // today's migrations apply
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		s := users.NewStore(d.Write, d.Read, nil, bcrypt.MinCost)
		for name, role := range map[string]string{"ann": users.RoleOperator, "root": users.RoleAdmin} {
			u, err := s.ByName(ctx, name)
			if err != nil || u.Role != role || !u.Scope.IsAll() {
				t.Fatalf("%s after the upgrade: %+v %v", name, u, err)
			}
		}
		if _, n, err := audit.Verify(ctx, d.Read, nil); err != nil || n != 1 {
			t.Fatalf("the log after the upgrade: %d entries, %v", n, err)
		}
		adm := users.Admin{Store: s, Log: audit.New(d.Write, d.Read, nil)}
		if err := adm.SetRole(ctx, users.CLI, "ann", users.RoleOperator, scope.MustParse("tag:team=web")); err != nil {
			t.Fatal(err)
		}
		if _, n, err := audit.Verify(ctx, d.Read, nil); err != nil || n != 2 {
			t.Fatalf("with a new entry: %d entries, %v", n, err)
		}
		var target, detail string
		d.Read.QueryRowContext(ctx, "SELECT target, detail FROM audit_events WHERE action = 'user_role'").Scan(&target, &detail)
		if target != "ann" || !strings.Contains(detail, "tag:team=web") || !strings.Contains(detail, "was operator over every instance") {
			t.Fatalf("entry: target %q, detail %q", target, detail)
		}
	})
}

// Two replicas' stores on one database: whatever changes a user's grants
// (the other replica, or SQL by hand), Current on this one says it at its
// next call, though it keeps the grants in memory while nothing changes.
func TestCurrentSeesEveryGrantChangeFromAnywhereAtOnceAndKeepsThemBetween(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, err := db.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		a, b := store(t, dsn), users.NewStore(d.Write, d.Read, nil, bcrypt.MinCost)
		dana, err := a.Create(ctx, "dana", users.RoleViewer, "long-enough")
		if err != nil {
			t.Fatal(err)
		}
		roles := func() string {
			t.Helper()
			u, gs, err := b.Current(ctx, dana.ID)
			if err != nil || u.Name != "dana" {
				t.Fatalf("Current: %+v %v", u, err)
			}
			var out []string
			for _, g := range gs {
				out = append(out, g.Role+" over "+g.Scope.String())
			}
			return strings.Join(out, ", ")
		}
		want := func(step, roles, expect string) {
			t.Helper()
			if roles != expect {
				t.Fatalf("%s: the other replica says %q, want %q", step, roles, expect)
			}
		}
		want("before", roles(), "viewer over ")
		_, first, _ := b.Current(ctx, dana.ID)
		if _, again, _ := b.Current(ctx, dana.ID); &again[0] != &first[0] {
			t.Fatal("nothing changed, yet the grants were read again")
		}
		g, err := a.AddGrant(ctx, users.Grant{User: "dana", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "cli")
		if err != nil {
			t.Fatal(err)
		}
		want("granted", roles(), "viewer over , operator over tag:team=data")
		if _, err := a.RemoveGrant(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		want("taken", roles(), "viewer over ")
		for _, q := range []struct{ sql, expect string }{
			{"INSERT INTO grants (user_name, role, scope, created_by, created_at) VALUES ('dana', 'approver', 'region=cn-hangzhou', 'sql', 'x')", "viewer over , approver over region=cn-hangzhou"},
			{"UPDATE grants SET role = 'operator' WHERE user_name = 'dana'", "viewer over , operator over region=cn-hangzhou"},
			{"DELETE FROM grants WHERE user_name = 'dana'", "viewer over "},
		} {
			if _, err := d.Write.ExecContext(ctx, q.sql); err != nil {
				t.Fatalf("%s: %v", q.sql, err)
			}
			want(q.sql, roles(), q.expect)
		}
	})
}
