package handlers_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// A single sign-on user's rights come from the proxy's groups at each
// sign-in; a token request carries none, so the stored placeholder role
// (viewer, over every instance) or the last sign-in's --group-roles role
// would be the token's. Such a user may not create a token, and one they
// already hold fails: it never lists or starts outside the user's scope.
func TestScopedSSOUserCannotGetATokenThatListsOrStartsOutsideTheScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "none", "--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32",
		"--groups-header", "X-Forwarded-Groups"}})
	if _, err := h.users.AddGrant(t.Context(), users.Grant{Group: "data-oncall", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "test"); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.hdr.Set("X-Forwarded-User", "sam")
	b.hdr.Set("X-Forwarded-Groups", "data-oncall")
	if p := b.get("tokens"); p.status != http.StatusOK || p.doc.Find(`[data-testid="no-token"]`).Length() != 1 {
		t.Fatalf("tokens page: %d, want the refusal in words", p.status)
	}
	p := b.post("tokens", url.Values{"name": {"ci"}, "expires": {"720h"}})
	if p.status != http.StatusForbidden || strings.Contains(p.body, "ecsd_") || p.doc.Find(`[data-testid="no-token"]`).Length() != 1 {
		t.Fatalf("create: %d, want 403 in words and no token", p.status)
	}
	sam, err := h.users.ByName(t.Context(), "sam")
	if err != nil {
		t.Fatal(err)
	}
	if list, err := h.users.Tokens(t.Context(), sam.ID); err != nil || len(list) != 0 {
		t.Fatalf("sam's tokens: %v %v", list, err)
	}
	if _, _, err := h.users.CreateToken(t.Context(), "sam", users.TokenOptions{Name: "cli"}); !errors.Is(err, users.ErrSSOToken) {
		t.Fatalf("the command's path: %v, want ErrSSOToken", err)
	}

	// A token sam got before the rule (written as CreateToken wrote it).
	text := "ecsd_0123456789ab_" + strings.Repeat("A", 43)
	sum := sha256.Sum256([]byte(text))
	if _, err := h.store.Write.ExecContext(t.Context(), `INSERT INTO api_tokens (id, user_id, name, secret_hash, read_only, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, "0123456789ab", sam.ID, "old", hex.EncodeToString(sum[:]), false, "sam", time.Now().UTC().Format(time.RFC3339), ""); err != nil {
		t.Fatal(err)
	}
	c := h.api(text)
	r := c.do("GET", "instances", nil)
	wantError(t, r, http.StatusUnauthorized, "unauthorized")
	if !strings.Contains(r.errMessage(), "single sign-on") {
		t.Fatalf("the refusal does not say why: %q", r.errMessage())
	}
	out := h.stoppedOf("platform")
	wantError(t, c.do("POST", "instances/"+out.ID+"/start", map[string]any{"region": out.Region}), http.StatusUnauthorized, "unauthorized")
	if n, _ := h.sim.Starts(out.ID); n != 0 {
		t.Fatal("started outside the scope through an SSO user's token")
	}
}

// An SSO user is not offered a form that can only refuse them: /tokens
// says in words why they have no token and what to do instead. A local
// user keeps the form.
func TestTheTokensPageOffersSSOUsersNoFormAndSaysWhy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32"}})
	b := h.browser()
	b.hdr.Set("X-Forwarded-User", "sam")
	p := b.get("tokens")
	if p.status != http.StatusOK || p.doc.Find(`form[action="/tokens"]`).Length() != 0 || p.doc.Find(`input[name=name]`).Length() != 0 {
		t.Fatalf("an SSO user's tokens page: %d, with %d create forms", p.status, p.doc.Find(`form[action="/tokens"]`).Length())
	}
	why := p.doc.Find(`[data-testid="no-token"]`).Text()
	if !strings.Contains(why, "cannot have API tokens") || !strings.Contains(why, "ask an administrator") {
		t.Fatalf("an SSO user is not told why there is no token and what to do: %q", why)
	}
	if p.doc.Find(`[data-testid="token-error"]`).Length() != 0 {
		t.Fatal("an SSO user who asked for nothing is shown an error")
	}
	local := h.loggedIn("op1").get("tokens")
	if local.doc.Find(`form[action="/tokens"] input[name=name]`).Length() != 1 || local.doc.Find(`[data-testid="no-token"]`).Length() != 0 {
		t.Fatal("a local user lost the create form")
	}
}
