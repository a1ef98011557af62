package handlers_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
)

func TestStrangerIsRedirectedToLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	p := h.browser().get("instances")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("got %d %q", p.status, p.resp.Header.Get("Location"))
	}
}

func TestLoginGoesWhereTheUserWasGoing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.get("login?next=/audit")
	p := b.post("login", url.Values{"username": {"view"}, "password": {password}, "next": {"/audit?state=failed"}})
	if p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != "/audit?state=failed" {
		t.Fatalf("got %d %q", p.status, p.resp.Header.Get("Location"))
	}
}

func TestLoginRefusesOffsiteNext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.get("login")
	p := b.post("login", url.Values{"username": {"view"}, "password": {password}, "next": {"//evil.example/x"}})
	if loc := p.resp.Header.Get("Location"); loc != "/instances" {
		t.Fatalf("redirected to %q", loc)
	}
}

func TestFailedLoginShowsTheFormAgainWithTheSameAnswerForUserAndPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.get("login")
	wrongPw := b.post("login", url.Values{"username": {"op1"}, "password": {"nope-nope-nope"}})
	wrongUser := b.post("login", url.Values{"username": {"nobody"}, "password": {"nope-nope-nope"}})
	for _, p := range []page{wrongPw, wrongUser} {
		if p.status != http.StatusUnauthorized || p.resp.Header.Get("Location") != "" {
			t.Fatalf("got %d, Location %q", p.status, p.resp.Header.Get("Location"))
		}
	}
	a, c := wrongPw.doc.Find("[data-testid=login-error]").Text(), wrongUser.doc.Find("[data-testid=login-error]").Text()
	if a == "" || a != c {
		t.Fatalf("answers differ: %q vs %q", a, c)
	}
	failed := 0
	for _, op := range h.ops() {
		if op.First.Action == audit.ActionLogin && op.Last.State == audit.StateFailed {
			failed++
		}
	}
	if failed != 2 {
		t.Fatalf("%d failed logins audited, want 2", failed)
	}
}

func TestLoginIsThrottledAfterRepeatedFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.get("login")
	for i := 0; i < 5; i++ {
		b.post("login", url.Values{"username": {"op1"}, "password": {"wrong-password"}})
	}
	p := b.post("login", url.Values{"username": {"op1"}, "password": {password}})
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("sixth attempt answered %d, want 429 even with the right password", p.status)
	}
	// Another user from the same address is not locked out by op1's failures.
	if p := b.post("login", url.Values{"username": {"op2"}, "password": {password}}); p.status != http.StatusSeeOther {
		t.Fatalf("op2 answered %d", p.status)
	}
}

func TestPostWithoutValidCSRFIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	for name, form := range map[string]url.Values{
		"missing": {"region": {in.Region}},
		"wrong":   {"region": {in.Region}, "_csrf": {"forged-token"}},
	} {
		if name == "missing" {
			form["_csrf"] = []string{""}
		}
		p := b.post("instances/"+in.ID+"/start", form)
		if p.status != http.StatusForbidden {
			t.Fatalf("%s token: %d", name, p.status)
		}
	}
	// Cross-site, even with the token.
	b.hdr.Set("Sec-Fetch-Site", "cross-site")
	if p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); p.status != http.StatusForbidden {
		t.Fatalf("cross-site: %d", p.status)
	}
	if n, _ := h.sim.Starts(in.ID); n != 0 || h.sim.Calls("StartInstance") != 0 {
		t.Fatalf("something reached ECS")
	}
	for _, op := range h.ops() {
		if op.First.Action == audit.ActionStartInstance {
			t.Fatalf("a start was recorded: %+v", op.Last)
		}
	}
}

func TestCSRFHeaderIsAccepted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	req, _ := http.NewRequest(http.MethodPost, h.url("instances/"+in.ID+"/start"), strings.NewReader("region="+in.Region))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", b.token)
	if p := b.do(req); p.status != http.StatusSeeOther {
		t.Fatalf("got %d", p.status)
	}
	if n, _ := h.sim.Starts(in.ID); n != 1 {
		t.Fatalf("started %d times", n)
	}
}

func TestLogoutEndsTheSessionEverywhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	copyOf := h.browser()
	u, _ := url.Parse(h.srv.URL)
	copyOf.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
	if p := copyOf.get("instances"); p.status != http.StatusOK {
		t.Fatalf("copied cookie refused before logout: %d", p.status)
	}
	if p := b.post("logout", nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if p := copyOf.get("instances"); p.status != http.StatusSeeOther {
		t.Fatalf("a copy of the logged-out cookie still works: %d", p.status)
	}
}

func TestDisablingOrChangingRoleEndsSessionsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	if err := h.users.SetRole(context.Background(), "op1", "viewer"); err != nil {
		t.Fatal(err)
	}
	if p := b.get("instances"); p.status != http.StatusSeeOther {
		t.Fatalf("role change: session still valid (%d)", p.status)
	}
	b = h.loggedIn("op2")
	if err := h.users.SetDisabled(context.Background(), "op2", true); err != nil {
		t.Fatal(err)
	}
	if p := b.get("instances"); p.status != http.StatusSeeOther {
		t.Fatalf("disable: session still valid (%d)", p.status)
	}
	b.get("login")
	if p := b.post("login", url.Values{"username": {"op2"}, "password": {password}}); p.status != http.StatusUnauthorized {
		t.Fatalf("disabled user logged in: %d", p.status)
	}
}

func TestIdleSessionExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--idle-timeout", "5m"}})
	b := h.loggedIn("view")
	h.advance(6 * time.Minute)
	if p := b.get("instances"); p.status != http.StatusSeeOther {
		t.Fatalf("idle session still valid: %d", p.status)
	}
}

func cookieNamed(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestCookieAttributesInEachMode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		args     []string
		secure   bool
		sameSite http.SameSite
		path     string
		part     bool
	}{
		{"plain http", nil, false, http.SameSiteLaxMode, "/", false},
		{"https base url", []string{"--base-url", "https://portal.example.com/ecs/"}, true, http.SameSiteLaxMode, "/ecs/", false},
		{"cross-site portal", []string{"--base-url", "https://dash.example.net/", "--cross-site-cookies"}, true, http.SameSiteNoneMode, "/", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, opts{args: tc.args})
			p := h.browser().get("login")
			c := cookieNamed(p.resp, "ecsdash_session")
			if c == nil {
				t.Fatal("no session cookie")
			}
			if !c.HttpOnly || c.Secure != tc.secure || c.SameSite != tc.sameSite || c.Path != tc.path || c.Partitioned != tc.part {
				t.Fatalf("cookie %+v", c)
			}
		})
	}
}

func TestKeyRotationKeepsOldSessionsValid(t *testing.T) {
	t.Parallel()
	oldKeys := [][]byte{[]byte(strings.Repeat("h", 64)), []byte(strings.Repeat("e", 32))}
	dbPath := t.TempDir() + "/shared.db"
	h1 := newHarness(t, opts{keys: oldKeys, dbPath: dbPath})
	b := h1.loggedIn("view")
	u, _ := url.Parse(h1.srv.URL)
	cookies := b.c.Jar.Cookies(u)

	newPair := [][]byte{[]byte(strings.Repeat("n", 64)), []byte(strings.Repeat("k", 32))}
	h2 := newHarness(t, opts{keys: append(newPair, oldKeys...), dbPath: dbPath})
	b2 := h2.browser()
	u2, _ := url.Parse(h2.srv.URL)
	b2.c.Jar.SetCookies(u2, cookies)
	p := b2.get("instances")
	if p.status != http.StatusOK {
		t.Fatalf("a session signed with the old key was refused after rotation: %d", p.status)
	}
	h3 := newHarness(t, opts{keys: newPair, dbPath: dbPath})
	b3 := h3.browser()
	u3, _ := url.Parse(h3.srv.URL)
	b3.c.Jar.SetCookies(u3, cookies)
	if p := b3.get("instances"); p.status != http.StatusSeeOther {
		t.Fatalf("a session under a retired key still works: %d", p.status)
	}
}

func TestSessionKeyFileIsCreatedPrivate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	st, err := os.Stat(h.cfg.SessionKeyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat %v, err %v", st, err)
	}
	b, _ := os.ReadFile(h.cfg.SessionKeyFile)
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		t.Fatalf("want one key pair, got %d fields", len(fields))
	}
	if k, err := hex.DecodeString(fields[0]); err != nil || len(k) != 64 {
		t.Fatalf("hash key: %d bytes, %v", len(k), err)
	}
}

func TestUnreadMessagesDoNotGrowTheCookieWithoutBound(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	var last page
	in := h.instance("ci-runner-01")
	for i := 0; i < 30; i++ {
		// The first starts the instance; the rest are answered with a flash
		// ("already sent") or a 409 page; none are read.
		last = b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {"same-token"}})
	}
	c := cookieNamed(last.resp, "ecsdash_session")
	if c == nil {
		t.Fatal("the session could not be saved after 30 unread messages (cookie too large?)")
	}
	if len(c.Value) > 3000 {
		t.Fatalf("session cookie after 30 unread messages: %d bytes", len(c.Value))
	}
	flashes := b.get("instances").doc.Find("[data-testid=flash]")
	if flashes.Length() == 0 || flashes.Length() > 3 {
		t.Fatalf("%d messages shown", flashes.Length())
	}
}

func TestSessionEndsAfterItsAbsoluteLifetimeEvenWhenActive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--idle-timeout", "30m", "--session-lifetime", "1h"}})
	b := h.loggedIn("view")
	for i := 0; i < 5; i++ { // active every 20 minutes: never idle
		h.advance(20 * time.Minute)
		p := b.get("instances")
		if i < 2 && p.status != http.StatusOK {
			t.Fatalf("after %d min: %d", (i+1)*20, p.status)
		}
		if i >= 3 && p.status != http.StatusSeeOther {
			t.Fatalf("after %d min the session still works", (i+1)*20)
		}
	}
}

// A signed-in user's record may be cached, but a disable, a role change or
// a logout on one App takes effect at the next request on another App that
// shares the database (each App has its own user cache).
func TestAUserChangeOnOneAppEndsSessionsOnAnotherAtOnce(t *testing.T) {
	t.Parallel()
	dbPath := t.TempDir() + "/shared.db"
	keys := [][]byte{[]byte(strings.Repeat("h", 64)), []byte(strings.Repeat("e", 32))}
	a := newHarness(t, opts{keys: keys, dbPath: dbPath})
	b := newHarness(t, opts{keys: keys, dbPath: dbPath})
	ctx := context.Background()
	onB := func(name string) *browser {
		t.Helper()
		br := a.loggedIn(name)
		ua, _ := url.Parse(a.srv.URL)
		ub, _ := url.Parse(b.srv.URL)
		other := b.browser()
		other.c.Jar.SetCookies(ub, br.c.Jar.Cookies(ua))
		for i := 0; i < 3; i++ { // b has read, and may have cached, the user
			if p := other.get("instances"); p.status != http.StatusOK {
				t.Fatalf("%s on the second App: %d", name, p.status)
			}
		}
		return other
	}
	for _, tc := range []struct {
		name, user string
		change     func() error
	}{
		{"disable", "op1", func() error { return a.users.SetDisabled(ctx, "op1", true) }},
		{"role change", "op2", func() error { return a.users.SetRole(ctx, "op2", "viewer") }},
		{"logout everywhere", "view", func() error { return a.users.EndSessions(ctx, "view") }},
	} {
		other := onB(tc.user)
		if err := tc.change(); err != nil {
			t.Fatal(err)
		}
		if p := other.get("instances"); p.status != http.StatusSeeOther {
			t.Fatalf("%s on the first App: the session still works on the second (%d)", tc.name, p.status)
		}
	}
}
