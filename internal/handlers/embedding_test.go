package handlers_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/audit"
)

func TestSecurityHeadersAndFrameAncestorsFromTheFlag(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--frame-ancestors", "https://portal.example.com"}})
	p := h.browser().get("login")
	csp := p.resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors https://portal.example.com") || !strings.Contains(csp, "script-src 'self'") ||
		strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("CSP %q", csp)
	}
	if p.resp.Header.Get("X-Frame-Options") != "" {
		t.Fatal("X-Frame-Options contradicts frame-ancestors")
	}
	if p.resp.Header.Get("X-Content-Type-Options") != "nosniff" || p.resp.Header.Get("Referrer-Policy") == "" {
		t.Fatalf("headers %v", p.resp.Header)
	}
	if p.doc.Find("script:not([src])").Length() != 0 {
		t.Fatal("inline script on the page")
	}
}

func TestBaseURLPrefixesLinksRedirectsAssetsAndCookies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--base-url", "https://portal.example.com/ecs/"}})
	b := h.browser()
	first := b.get("instances")
	if !strings.HasPrefix(first.resp.Header.Get("Location"), "/ecs/login") {
		t.Fatalf("redirect %q", first.resp.Header.Get("Location"))
	}
	if c := cookieNamed(first.resp, "ecsdash_session"); c == nil || c.Path != "/ecs/" {
		t.Fatalf("cookie %#v", c)
	}
	login := b.get("login")
	if login.doc.Find(`form[action="/ecs/login"]`).Length() != 1 {
		t.Fatal("login form action lacks the prefix")
	}
	href := login.doc.Find(`link[rel=stylesheet]`).AttrOr("href", "")
	if !strings.HasPrefix(href, "/ecs/static/style.") {
		t.Fatalf("stylesheet %q", href)
	}
	asset, err := http.Get(h.srv.URL + href)
	if err != nil || asset.StatusCode != 200 || !strings.Contains(asset.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("asset: %v %v", err, asset)
	}
	b.login("op1")
	list := b.get("instances")
	list.doc.Find("form[method=post]").Each(func(_ int, s *echoSel) {
		if a := s.AttrOr("action", ""); !strings.HasPrefix(a, "/ecs/") {
			t.Errorf("form action %q lacks the prefix", a)
		}
	})
	list.doc.Find("a[href]").Each(func(_ int, s *echoSel) {
		// A fragment (the skip links) stays on the page, whatever its path.
		if a := s.AttrOr("href", ""); !strings.HasPrefix(a, "/ecs/") && !strings.HasPrefix(a, "#") {
			t.Errorf("link %q lacks the prefix", a)
		}
	})
	if p := b.get("healthz"); p.status != 200 {
		t.Fatalf("prefixed healthz %d", p.status)
	}
}

func ssoGet(t *testing.T, h *harness, hdr map[string]string) page {
	t.Helper()
	b := h.browser()
	for k, v := range hdr {
		b.hdr.Set(k, v)
	}
	return b.get("instances")
}

func TestSSOHeaderFromAnUntrustedPeerIsIgnored(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--auth-header", "X-Forwarded-User", "--trusted-proxies", "10.9.0.0/16"}})
	p := ssoGet(t, h, map[string]string{"X-Forwarded-User": "mallory", "X-Forwarded-For": "10.9.0.1"})
	if p.status != http.StatusSeeOther {
		t.Fatalf("untrusted header was honoured: %d", p.status)
	}
}

func TestSSOHeaderFromATrustedProxyIsHonouredWithGroupRoles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32",
		"--groups-header", "X-Forwarded-Groups", "--group-roles", "ops=operator,leads=approver"}})
	p := ssoGet(t, h, map[string]string{"X-Forwarded-User": "sam", "X-Forwarded-Groups": "staff,ops"})
	if p.status != http.StatusOK || !strings.Contains(p.doc.Find("[data-testid=whoami]").Text(), "sam (operator)") {
		t.Fatalf("%d %q", p.status, p.doc.Find("[data-testid=whoami]").Text())
	}
	if p.doc.Find("form.start-form").Length() == 0 {
		t.Fatal("an SSO operator sees no start forms")
	}
	none := ssoGet(t, h, map[string]string{"X-Forwarded-User": "guest", "X-Forwarded-Groups": "staff"})
	if none.status != http.StatusForbidden {
		t.Fatalf("a user whose groups map to no role: %d", none.status)
	}
	logins := 0
	for _, op := range h.ops() {
		if op.First.Action == audit.ActionLogin && op.First.AuthMethod == "sso" {
			logins++
		}
	}
	if logins == 0 {
		t.Fatal("SSO login not audited")
	}
}

func TestSSOUserChangeMidSessionEndsTheSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32"}})
	b := h.browser()
	b.hdr.Set("X-Forwarded-User", "alice")
	first := b.get("instances")
	tokenAlice := b.token
	b.hdr.Set("X-Forwarded-User", "bob")
	second := b.get("instances")
	if first.status != 200 || second.status != 200 || !strings.Contains(second.doc.Find("[data-testid=whoami]").Text(), "bob") {
		t.Fatalf("%d %d", first.status, second.status)
	}
	if b.token == tokenAlice {
		t.Fatal("bob inherited alice's session (same CSRF token)")
	}
}

type echoSel = goquery.Selection

func TestErrorHandlerShowsWordsNotInternals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{beforeUp: func(e *echo.Echo) {
		e.GET("/boom", func(echo.Context) error { return errors.New("SELECT secret FROM internals") })
		e.GET("/panic", func(echo.Context) error { panic("stack secret") })
	}})
	for _, p := range []string{"boom", "panic"} {
		r := h.browser().get(p)
		if r.status != 500 || strings.Contains(r.body, "secret") || !strings.Contains(r.body, "Internal error") {
			t.Fatalf("%s: %d %q", p, r.status, r.doc.Find("main").Text())
		}
		if !strings.Contains(r.body, r.resp.Header.Get("X-Request-Id")) {
			t.Fatalf("%s: the page does not give the request id", p)
		}
	}
	if r := h.loggedIn("view").get("no/such/page"); r.status != 404 || !strings.Contains(r.body, "no such page") {
		t.Fatalf("404: %d", r.status)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	if r := h.browser().get("healthz"); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	if r := h.browser().get("readyz"); r.status != 200 {
		t.Fatalf("readyz %d", r.status)
	}
	h.store.Read.Close()
	if r := h.browser().get("readyz"); r.status != 503 {
		t.Fatalf("readyz with the database closed: %d", r.status)
	}
}

func TestMetricsAreServedInPrometheusFormat(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	in := h.instance("reports-db-01")
	b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	r := h.browser().get("metrics")
	for _, want := range []string{"ecsdash_http_request_duration_seconds_bucket", "ecsdash_fleet_cache_age_seconds", "ecsdash_approvals_waiting 0",
		`ecsdash_ecs_calls_total{action="StartInstance",code="DiskError"} 1`, `ecsdash_audit_events_total{action="login",state="succeeded"} 1`,
		`ecsdash_starts_total{outcome="failed"} 1`, `ecsdash_ecs_calls_total{action="DescribeInstances",code="OK"}`} {
		if !strings.Contains(r.body, want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}
