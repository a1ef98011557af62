package handlers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFormTokensAreBoundedInSizeCountAndTime(t *testing.T) {
	t.Parallel()
	if validFormToken(strings.Repeat("a", 60000)) || validFormToken("") || validFormToken("has space") || !validFormToken(randomToken()) {
		t.Fatal("token shape check")
	}
	var u usedTokens
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
	u.release(context.Background(), last)
	if !u.reserve(last, now.Add(formTokenTTL+2*time.Second)) {
		t.Fatal("a released token stays used")
	}
}
