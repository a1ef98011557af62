package users_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/users"
	"ecsdash/migrations"
)

func store(t testing.TB, dsn string) *users.Store {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return users.NewStore(d.Write, d.Read, nil, bcrypt.MinCost)
}

func TestEveryFailureIsTheSameAnswer(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := store(t, dsn)
		ctx := context.Background()
		if _, err := s.Create(ctx, "ann", users.RoleOperator, "correct-horse"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, "bob", users.RoleViewer, "correct-horse"); err != nil {
			t.Fatal(err)
		}
		s.SetDisabled(ctx, "bob", true)
		s.EnsureSSO(ctx, "sso-only", users.RoleViewer)
		for name, pw := range map[string]string{"ann": "wrong-password", "nobody": "correct-horse", "bob": "correct-horse", "sso-only": ""} {
			if _, err := s.Authenticate(ctx, name, pw); !errors.Is(err, users.ErrBadCredentials) {
				t.Errorf("%s: %v", name, err)
			}
		}
		if u, err := s.Authenticate(ctx, "ANN", "correct-horse"); err != nil || u.Name != "ann" {
			t.Fatalf("names are case-insensitive: %v", err)
		}
	})
}

func TestCreateValidates(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := store(t, dsn)
		ctx := context.Background()
		for _, c := range []struct{ name, role, pw string }{
			{"ok-name", "root", "long-enough"}, {"bad name!", "viewer", "long-enough"}, {"short", "viewer", "short"}, {"", "viewer", "long-enough"},
		} {
			if _, err := s.Create(ctx, c.name, c.role, c.pw); err == nil {
				t.Errorf("accepted %+v", c)
			}
		}
		s.Create(ctx, "dup", users.RoleViewer, "long-enough")
		if _, err := s.Create(ctx, "DUP", users.RoleViewer, "long-enough"); !errors.Is(err, users.ErrExists) {
			t.Fatalf("duplicate: %v", err)
		}
	})
}

func TestChangesBumpTheEpoch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := store(t, dsn)
		ctx := context.Background()
		u, _ := s.Create(ctx, "cat", users.RoleOperator, "long-enough")
		steps := []func() error{
			func() error { return s.SetRole(ctx, "cat", users.RoleViewer) },
			func() error { return s.SetPassword(ctx, "cat", "another-password") },
			func() error { return s.SetDisabled(ctx, "cat", true) },
			func() error { return s.EndSessions(ctx, "cat") },
		}
		epoch := u.Epoch
		for i, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
			now, _ := s.ByName(ctx, "cat")
			if now.Epoch <= epoch {
				t.Fatalf("step %d left the epoch at %d", i, now.Epoch)
			}
			epoch = now.Epoch
		}
		if err := s.SetRole(ctx, "nobody", users.RoleViewer); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestRolesAllowWhatTheContractSays(t *testing.T) {
	t.Parallel()
	all := []users.Perm{users.PermView, users.PermStart, users.PermDecide, users.PermExport, users.PermAdmin}
	for role, want := range map[string][]users.Perm{
		users.RoleViewer:   {users.PermView},
		users.RoleOperator: {users.PermView, users.PermStart},
		users.RoleApprover: {users.PermView, users.PermDecide, users.PermExport},
		users.RoleAdmin:    all,
		"root":             nil,
		"":                 nil,
	} {
		for _, p := range all {
			if got := users.Can(role, p); got != slices.Contains(want, p) {
				t.Errorf("Can(%q, %d) = %v", role, p, got)
			}
		}
		if users.ValidRole(role) != (want != nil) {
			t.Errorf("ValidRole(%q) = %v", role, users.ValidRole(role))
		}
	}
	if users.Can(users.RoleAdmin, 0) {
		t.Error("the empty permission is held")
	}
	if users.Can(users.RoleOperator, users.PermStart|users.PermDecide) {
		t.Error("an operator holds start and decide together")
	}
	for _, r := range users.Roles {
		if !users.ValidRole(r) {
			t.Errorf("%s is listed but has no permissions", r)
		}
	}
}

// Finding 10: bcrypt reads 72 bytes of a password; a longer one is refused
// where it is set, with words, and never signs in by its first 72 bytes.
func TestPasswordsPast72BytesAreRefused(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := store(t, dsn)
		ctx := context.Background()
		long := strings.Repeat("p", 72) + "-and-more"
		if _, err := s.Create(ctx, "ann", users.RoleOperator, long); err == nil || !strings.Contains(err.Error(), "at most 72") {
			t.Fatalf("a %d-byte password was accepted: %v", len(long), err)
		}
		if _, err := s.ByName(ctx, "ann"); !errors.Is(err, users.ErrNotFound) {
			t.Fatal("the refused user was created")
		}
		if _, err := s.Create(ctx, "ann", users.RoleOperator, strings.Repeat("p", 72)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPassword(ctx, "ann", long); err == nil {
			t.Fatal("SetPassword accepted a password past 72 bytes")
		}
		if _, err := s.Authenticate(ctx, "ann", long); !errors.Is(err, users.ErrBadCredentials) {
			t.Fatalf("72 matching bytes and more signed in: %v", err)
		}
		if _, err := s.Authenticate(ctx, "ann", strings.Repeat("p", 72)); err != nil {
			t.Fatal(err)
		}
	})
}

// Accounts made before the source column: those without a password were
// created by SSO and become SSO accounts; the others stay local.
func TestAccountsFromBeforeTheSourceColumnKeepTheirIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := migrations.FS.ReadFile("0001_users.sql")
	if _, err := w.Exec(string(b)); err != nil {
		t.Fatal(err)
	}
	w.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
		INSERT INTO schema_migrations VALUES (1, 'users', 'x');
		INSERT INTO users (name, password_hash, role, created_at, updated_at) VALUES ('local-ann', '$2a$04$abcdefghijklmnopqrstuv', 'admin', 'x', 'x'), ('sso-sam', '', 'viewer', 'x', 'x')`)
	w.Close()
	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := users.NewStore(d.Write, d.Read, nil, bcrypt.MinCost)
	if u, _ := s.ByName(ctx, "local-ann"); u.Source != users.SourceLocal {
		t.Fatalf("local-ann is %q", u.Source)
	}
	if u, _ := s.ByName(ctx, "sso-sam"); u.Source != users.SourceSSO {
		t.Fatalf("sso-sam is %q", u.Source)
	}
	if _, err := s.EnsureSSO(ctx, "LOCAL-ANN", users.RoleViewer); !errors.Is(err, users.ErrNameClash) {
		t.Fatalf("an SSO name matching a local account: %v", err)
	}
}

// Names are one identity whatever their case, in both databases: a second
// "ANN" is refused, and "Ann" finds "ann".
func TestNamesAreCaseInsensitiveInBothDatabases(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := store(t, dsn)
		ctx := context.Background()
		if _, err := s.Create(ctx, "ann", users.RoleOperator, "correct-horse"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Create(ctx, "ANN", users.RoleViewer, "correct-horse"); !errors.Is(err, users.ErrExists) {
			t.Fatalf("a second ANN: %v", err)
		}
		u, err := s.ByName(ctx, "Ann")
		if err != nil || u.Name != "ann" {
			t.Fatalf("Ann found %+v (%v)", u, err)
		}
		if err := s.SetRole(ctx, "ANN", users.RoleApprover); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.ByName(ctx, "ann"); u.Role != users.RoleApprover || u.Epoch != 2 {
			t.Fatalf("after SetRole: %+v", u)
		}
	})
}
