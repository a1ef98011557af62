package handlers

import (
	"testing"
	"time"
)

// Forced refreshes are limited per user (2 at once, then one every 30 s)
// and in total (3 at once, then one every 10 s).
func TestForcedRefreshesAreLimitedPerUserAndInTotal(t *testing.T) {
	t.Parallel()
	var l refreshLimits
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	passed := 0
	for range 3 {
		if l.allow("ann", now) {
			passed++
		}
	}
	if passed != 2 {
		t.Fatalf("%d of a user's 3 refreshes at once passed, want 2", passed)
	}
	if !l.allow("bob", now) || l.allow("cy", now) {
		t.Fatal("the total budget is not 3 at once")
	}
	if !l.allow("cy", now.Add(refreshAllEvery)) || l.allow("ann", now.Add(refreshAllEvery+time.Second)) {
		t.Fatal("the budgets do not refill at their rates")
	}
	if !l.allow("ann", now.Add(refreshUserEvery)) {
		t.Fatal("a user's budget did not refill after its interval")
	}
}
