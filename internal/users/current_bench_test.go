package users_test

import (
	"context"
	"testing"
)

// BenchmarkCurrent is a signed-in request's user lookup on SQLite, the
// user unchanged since the last: the stamp query alone, from goroutines
// at once as requests come.
func BenchmarkCurrent(b *testing.B) {
	s, u := oneUser(b, "gus")
	ctx := context.Background()
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
