package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"ecsdash/internal/audit"
)

// The Tokens page works as plain forms: a token is created (CSRF
// required), shown once, works on the API, is listed without its secret,
// and is revoked by its owner only; both changes are audit entries naming
// who made them.
func TestTokensPageCreatesAndRevokesTheUsersOwnTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	if p := b.post("tokens", url.Values{"_csrf": {"forged"}, "name": {"x"}, "expires": {"720h"}}); p.status != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d", p.status)
	}
	if list, _ := h.users.Tokens(t.Context(), 0); len(list) != 0 {
		t.Fatal("a token was created without the CSRF token")
	}
	p := b.post("tokens", url.Values{"name": {"ci pipeline"}, "expires": {"720h"}})
	text := p.doc.Find("[data-testid=token-text]").AttrOr("value", "")
	if p.status != http.StatusOK || !strings.HasPrefix(text, "ecsd_") {
		t.Fatalf("create: %d %q", p.status, p.doc.Find("main").Text())
	}
	if cc := p.resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("the page showing a token may be cached: %q", cc)
	}
	if r := h.api(text).do("GET", "instances", nil); r.status != http.StatusOK {
		t.Fatalf("the new token on the API: %d", r.status)
	}
	list := b.get("tokens")
	row := list.doc.Find("tr[data-token-id]")
	id := row.AttrOr("data-token-id", "")
	if row.Length() != 1 || row.AttrOr("data-state", "") != "live" || strings.Contains(list.body, text) {
		t.Fatalf("list: %d rows, state %q, secret shown again: %t", row.Length(), row.AttrOr("data-state", ""), strings.Contains(list.body, text))
	}
	// Another user can neither see nor revoke it.
	other := h.loggedIn("op2")
	if other.get("tokens").doc.Find("tr[data-token-id]").Length() != 0 {
		t.Fatal("op2 sees op1's token")
	}
	if p := other.post("tokens/"+id+"/revoke", nil); p.status != http.StatusNotFound {
		t.Fatalf("op2 revoking op1's token: %d", p.status)
	}
	if p := b.post("tokens/"+id+"/revoke", nil); p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.status)
	}
	wantError(t, h.api(text).do("GET", "instances", nil), http.StatusUnauthorized, "unauthorized")
	if st := b.get("tokens").doc.Find("tr[data-token-id]").AttrOr("data-state", ""); st != "revoked" {
		t.Fatalf("after revocation the row says %q", st)
	}
	var actions []string
	for _, op := range h.ops() {
		e := op.First
		if e.Action == audit.ActionTokenCreate || e.Action == audit.ActionTokenRevoke {
			if e.User != "op1" || e.Target != "op1" || !strings.Contains(e.Detail, id) || !strings.Contains(e.Detail, "ci pipeline") || strings.Contains(e.Detail, text) {
				t.Fatalf("entry: %+v", e)
			}
			actions = append(actions, e.Action)
		}
	}
	if strings.Join(actions, " ") != "token_revoke token_create" {
		t.Fatalf("token entries: %v", actions)
	}
	if p := b.get("audit?action=all"); p.status != http.StatusOK || p.doc.Find("tr[data-audit-id]").Length() < 2 {
		t.Fatalf("the audit page with token entries: %d, %d rows", p.status, p.doc.Find("tr[data-audit-id]").Length())
	} else if !strings.Contains(p.doc.Find("main").Text(), "op1: token "+id) {
		t.Fatal("the audit page does not say whose token changed")
	}
	if p := b.post("tokens", url.Values{"expires": {"forever"}}); p.status != http.StatusBadRequest || p.doc.Find("[data-testid=token-error]").Length() != 1 {
		t.Fatalf("a bad lifetime: %d", p.status)
	}
}

// The Tokens page, empty, with a new token shown and with a revoked one,
// has no axe-core finding above minor, in light and dark.
func TestBrowserTokensPageIsAccessible(t *testing.T) {
	axe := axeSource(t)
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			h := newHarness(t, opts{})
			ctx := laptopChrome(t, scheme)
			browserLogin(t, ctx, h, "op1")
			step := func(page string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, actions...); err != nil {
					t.Fatalf("%s: %v", page, err)
				}
				checkAxe(t, ctx, axe, scheme+" "+page)
			}
			step("no tokens", chromedp.Navigate(h.url("tokens")), chromedp.WaitVisible(chromedp.CSS("[data-testid=no-tokens]")))
			step("token created",
				chromedp.SendKeys(chromedp.CSS("input[name=name]"), "chat bot"),
				chromedp.Click(chromedp.CSS(`form[action$="tokens"] button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS("[data-testid=token-text]")))
			step("token revoked",
				chromedp.Click(chromedp.CSS(`tr[data-token-id] button`)),
				chromedp.WaitVisible(chromedp.CSS(`tr[data-state=revoked]`)))
		})
	}
}
