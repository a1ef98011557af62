//go:build !race

package users_test

import (
	"context"
	"testing"
)

// A signed-in request's user, unchanged since the last, costs one narrow
// read and a few allocations (issue 32): database/sql's statement, rows,
// arguments and conversions were about twenty.
func TestCurrentOfAnUnchangedUserAllocatesAFewTimes(t *testing.T) {
	s, u := oneUser(t, "fay")
	ctx := context.Background()
	call := func() {
		if got, _, err := s.Current(ctx, u.ID); err != nil || got.Epoch != u.Epoch {
			t.Fatalf("Current: %+v %v", got, err)
		}
	}
	call()
	n := testing.AllocsPerRun(200, call)
	t.Logf("%.0f allocations a call", n)
	if n > 10 {
		t.Fatalf("Current of an unchanged user allocates %.0f times (at most 10)", n)
	}
}

// A single sign-on request's read of the grants' version alone is the same
// kind of lookup.
func TestTheGrantsVersionReadAllocatesAFewTimes(t *testing.T) {
	s, _ := oneUser(t, "gil")
	ctx := context.Background()
	call := func() {
		if _, err := s.GrantsVersion(ctx); err != nil {
			t.Fatal(err)
		}
	}
	call()
	n := testing.AllocsPerRun(200, call)
	t.Logf("%.0f allocations a call", n)
	if n > 6 {
		t.Fatalf("the grants' version read allocates %.0f times (at most 6)", n)
	}
}
