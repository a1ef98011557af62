package handlers

import (
	"strings"
	"testing"
)

// A form token is checked for its shape before any book is asked: one of
// ours, not an unbounded or odd string.
func TestFormTokensAreBoundedInSize(t *testing.T) {
	t.Parallel()
	if validFormToken(strings.Repeat("a", 60000)) || validFormToken("") || validFormToken("has space") || !validFormToken(randomToken()) {
		t.Fatal("token shape check")
	}
}
