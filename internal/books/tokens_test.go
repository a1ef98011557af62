package books

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFormTokensAreBoundedInCountAndTime(t *testing.T) {
	t.Parallel()
	var u UsedTokens
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for i := range 3 * maxFormTokens {
		if !u.reserve(fmt.Sprintf("t%d|i-x", i), now) {
			t.Fatalf("fresh token %d refused", i)
		}
	}
	if n := u.size(); n > maxFormTokens {
		t.Fatalf("%d tokens kept, bound %d", n, maxFormTokens)
	}
	last := fmt.Sprintf("t%d|i-x", 3*maxFormTokens-1)
	if u.reserve(last, now) {
		t.Fatal("the newest token was forgotten first")
	}
	if !u.reserve(last, now.Add(formTokenTTL+time.Second)) {
		t.Fatal("a token was kept past its time")
	}
	u.Release(context.Background(), last)
	if !u.reserve(last, now.Add(formTokenTTL+2*time.Second)) {
		t.Fatal("a released token stays used")
	}
}

// Round three, finding 1: while one live token sits at the front of the
// queue, refused starts that reserve and release the same token must not
// grow the queue (200,000 of them took the heap from 3.9 MB to 51 MB).
func TestRefusedStartsOnOneTokenGrowNothing(t *testing.T) {
	t.Parallel()
	var u UsedTokens
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	if !u.reserve("live|cn-hangzhou/i-a", now) {
		t.Fatal("fresh token refused")
	}
	key := strings.Repeat("A", 64) + "|cn-hangzhou/i-b"
	for i := range 200000 {
		if !u.reserve(key, now.Add(time.Duration(i)*time.Microsecond)) {
			t.Fatalf("released token %d refused", i)
		}
		u.Release(context.Background(), key)
	}
	u.mu.Lock()
	queued := len(u.order)
	u.mu.Unlock()
	if kept := u.size(); kept != 1 || queued > 2*kept+64 {
		t.Fatalf("after 200,000 refused starts: %d tokens kept, %d queued (bound %d)", kept, queued, 2*kept+64)
	}
	if u.reserve("live|cn-hangzhou/i-a", now.Add(time.Second)) {
		t.Fatal("the live token was forgotten")
	}
}
