package users_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/users"
)

// Current reads the user's stamp afresh at every call, on whichever of its
// connections: a change made by another process's connections (the CLI, or
// SQL typed by hand) is seen by every call after it, never a snapshot
// from before (issue 32: the read goes through the driver itself now,
// whose every read transaction must end with its call).
func TestCurrentSeesAChangeByAnotherProcessAtEveryCallAfterIt(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := store(t, dsn)
		erin, err := s.Create(ctx, "erin", users.RoleOperator, "long-enough")
		if err != nil {
			t.Fatal(err)
		}
		other, err := db.Open(ctx, dsn) // connections of their own, as the CLI's
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { other.Close() })
		// Calls at once, so that each of the lookup's connections answers.
		everyCall := func(step string, check func(users.User, []users.Grant, error) string) {
			t.Helper()
			var wg sync.WaitGroup
			errs := make(chan string, 32)
			for range 32 {
				wg.Go(func() {
					u, gs, err := s.Current(ctx, erin.ID)
					if msg := check(u, gs, err); msg != "" {
						errs <- msg
					}
				})
			}
			wg.Wait()
			close(errs)
			for msg := range errs {
				t.Fatalf("%s: %s", step, msg)
			}
		}
		live := func(role string, grants int, disabled bool) func(users.User, []users.Grant, error) string {
			return func(u users.User, gs []users.Grant, err error) string {
				switch {
				case err != nil:
					return err.Error()
				case u.Role != role || len(gs) != grants || u.Disabled != disabled:
					return "a stale answer: " + u.Role + " with " + string(rune('0'+len(gs))) + " grants"
				}
				return ""
			}
		}
		everyCall("before", live(users.RoleOperator, 1, false))
		for _, c := range []struct {
			sql   string
			check func(users.User, []users.Grant, error) string
		}{
			{"UPDATE users SET role = 'viewer', epoch = epoch + 1 WHERE name = 'erin'", live(users.RoleViewer, 1, false)},
			{"INSERT INTO grants (user_name, role, scope, created_by, created_at) VALUES ('erin', 'operator', 'region=cn-hangzhou', 'sql', 'x')",
				live(users.RoleViewer, 2, false)},
			{"UPDATE users SET disabled = 1, epoch = epoch + 1 WHERE name = 'erin'", live(users.RoleViewer, 2, true)},
			{"DELETE FROM grants WHERE user_name = 'erin'", live(users.RoleViewer, 1, true)},
			{"DELETE FROM users WHERE name = 'erin'", func(_ users.User, _ []users.Grant, err error) string {
				if !errors.Is(err, users.ErrNotFound) {
					return "a deleted user is still found"
				}
				return ""
			}},
		} {
			if _, err := other.Write.ExecContext(ctx, c.sql); err != nil {
				t.Fatalf("%s: %v", c.sql, err)
			}
			everyCall(c.sql, c.check)
		}
	})
}

// oneUser is a SQLite store holding one operator called name.
func oneUser(t testing.TB, name string) (*users.Store, users.User) {
	t.Helper()
	s := store(t, filepath.Join(t.TempDir(), "store.db"))
	u, err := s.Create(context.Background(), name, users.RoleOperator, "long-enough")
	if err != nil {
		t.Fatal(err)
	}
	return s, u
}
