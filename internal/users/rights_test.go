package users_test

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// Rights are compiled once while nobody's grants change, and any change to
// the grants table — through another replica's store, or a statement of
// its own (an older version, a hand-made fix) — is seen at the next read.
func TestRightsAreCompiledOncePerGrantsVersionAndFollowEveryChangeOnAnyReplica(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		open := func() (*db.DB, *users.Store) {
			d, err := db.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d, users.NewStore(d.Write, d.Read, nil, bcrypt.MinCost)
		}
		d, here := open()
		_, there := open() // another replica
		u, err := here.CreateScoped(ctx, "dana", users.RoleViewer, scope.MustParse("tag:team=data"), "long-enough")
		if err != nil {
			t.Fatal(err)
		}
		data := scope.Target{Tags: map[string]string{"team": "data"}}
		web := scope.Target{Tags: map[string]string{"team": "web"}}
		rights := func() *users.Rights {
			t.Helper()
			cur, grants, err := here.Current(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			return here.Compiled(cur.ID, grants)
		}
		r1 := rights()
		if r2 := rights(); r2 != r1 {
			t.Fatal("the rights were compiled again though nothing changed")
		}
		if r1.Scopes(users.PermStart).Covers(data) || !r1.Scopes(users.PermView).Covers(data) || r1.Key(users.PermView) != "tag:team=data" {
			t.Fatalf("before any grant: start %v, view key %q", r1.Scopes(users.PermStart), r1.Key(users.PermView))
		}

		g, err := there.AddGrant(ctx, users.Grant{User: "dana", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=web")}, "test")
		if err != nil {
			t.Fatal(err)
		}
		if r := rights(); !r.Scopes(users.PermStart).Covers(web) || r.Roles() != "viewer and operator" {
			t.Fatalf("a grant given on another replica is not held: %q", r.Words())
		}
		if _, err := there.RemoveGrant(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		if r := rights(); r.Scopes(users.PermStart).Covers(web) {
			t.Fatalf("a grant removed on another replica is still held: %q", r.Words())
		}

		// Statements of their own: the version is the table's, not the store's.
		if _, err := d.Write.ExecContext(ctx, "INSERT INTO grants (user_name, role, scope, created_by, created_at) VALUES ('dana', 'operator', 'tag:team=data', 'sql', 'x')"); err != nil {
			t.Fatal(err)
		}
		if r := rights(); !r.Scopes(users.PermStart).Covers(data) {
			t.Fatalf("a grant inserted by a statement is not held: %q", r.Words())
		}
		if _, err := d.Write.ExecContext(ctx, "UPDATE grants SET scope = 'tag:team=web' WHERE created_by = 'sql'"); err != nil {
			t.Fatal(err)
		}
		if r := rights(); r.Scopes(users.PermStart).Covers(data) || !r.Scopes(users.PermStart).Covers(web) {
			t.Fatalf("a grant updated by a statement: %q", r.Words())
		}
		if _, err := d.Write.ExecContext(ctx, "DELETE FROM grants WHERE created_by = 'sql'"); err != nil {
			t.Fatal(err)
		}
		if r := rights(); r.Scopes(users.PermStart) != nil {
			t.Fatalf("a grant deleted by a statement is still held: %q", r.Words())
		}

		// A single sign-on user's group grants, likewise.
		sso := func() *users.Rights {
			t.Helper()
			r, err := here.SSORights(ctx, "sam", "", []string{"staff", "data-oncall"}, false)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := sso(); len(r.Grants()) != 0 {
			t.Fatalf("sam before the group grant: %q", r.Words())
		}
		gg, err := there.AddGrant(ctx, users.Grant{Group: "data-oncall", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "test")
		if err != nil {
			t.Fatal(err)
		}
		r := sso()
		if !r.Scopes(users.PermStart).Covers(data) || sso() != r {
			t.Fatalf("sam's group grant: %q (compiled once: %v)", r.Words(), sso() == r)
		}
		if _, err := there.RemoveGrant(ctx, gg.ID); err != nil {
			t.Fatal(err)
		}
		if r := sso(); len(r.Grants()) != 0 {
			t.Fatalf("sam after the group grant was removed: %q", r.Words())
		}
	})
}
