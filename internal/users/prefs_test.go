package users_test

import (
	"context"
	"testing"

	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/users"
)

func TestPrefsAreRememberedWithoutEndingSessions(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		s := store(t, dsn)
		ctx := context.Background()
		u, err := s.Create(ctx, "olivia", users.RoleOperator, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		if p, err := s.Prefs(ctx, u.ID); err != nil || p != (users.Prefs{}) {
			t.Fatalf("before any choice: %+v %v", p, err)
		}
		if err := s.SetLang(ctx, u.ID, "zh-CN"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetZone(ctx, u.ID, "Asia/Shanghai"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetLang(ctx, u.ID, "en"); err != nil { // a second choice replaces the first
			t.Fatal(err)
		}
		if p, err := s.Prefs(ctx, u.ID); err != nil || p != (users.Prefs{Lang: "en", Zone: "Asia/Shanghai"}) {
			t.Fatalf("after choosing: %+v %v", p, err)
		}
		after, err := s.ByID(ctx, u.ID)
		if err != nil || after.Epoch != u.Epoch {
			t.Fatalf("a preference bumped the epoch (%d -> %d): it would end the user's sessions (%v)", u.Epoch, after.Epoch, err)
		}
	})
}
