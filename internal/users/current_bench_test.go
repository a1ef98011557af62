package users_test

import (
	"context"
	"path/filepath"
	"testing"

	"ecsdash/internal/users"
)

// BenchmarkCurrent is a signed-in request's user lookup on SQLite, the
// user unchanged since the last: the stamp query alone, from goroutines
// at once as requests come.
func BenchmarkCurrent(b *testing.B) {
	s := store(b, filepath.Join(b.TempDir(), "store.db"))
	ctx := context.Background()
	u, err := s.Create(ctx, "gus", users.RoleOperator, "long-enough")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := s.Current(ctx, u.ID); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
