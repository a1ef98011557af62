package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// switchOnLogin opens the login page at path, switches its language with
// the page's own control, and returns the login page it was sent back to.
func switchOnLogin(t *testing.T, b *browser, path string) page {
	t.Helper()
	p := b.get(path)
	form := p.doc.Find("form[data-testid=lang-control]")
	next, _ := form.Find("input[name=next]").Attr("value")
	sw := b.post("prefs", url.Values{"lang": {"zh-CN"}, "next": {next}})
	if sw.status != http.StatusSeeOther {
		t.Fatalf("switch on %s: %d", path, sw.status)
	}
	to, err := url.Parse(sw.resp.Header.Get("Location"))
	if err != nil || to.Host != "" || to.Scheme != "" || !strings.HasPrefix(to.Path, b.h.cfg.BasePath()) {
		t.Fatalf("the switch on %s sent the browser to %q", path, sw.resp.Header.Get("Location"))
	}
	back := b.get(strings.TrimPrefix(to.RequestURI(), b.h.cfg.BasePath()))
	if back.status != http.StatusOK || back.doc.Find("input[name=password]").Length() != 1 {
		t.Fatalf("the switch on %s did not lead back to the login page: %d at %s", path, back.status, to)
	}
	return back
}

// Switching the language on the login page keeps where the user was going:
// signing in afterwards still lands on that page. A hostile next stays
// refused through the switch.
func TestSwitchingLanguageOnTheLoginPageKeepsItsNext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--base-url", "https://portal.example/ecs/"}})
	b := h.browser()
	want := "/ecs/instances?region=cn-shanghai&q=ci"
	back := switchOnLogin(t, b, "login?next="+url.QueryEscape(want))
	if lang := back.doc.Find("html").AttrOr("lang", ""); lang != "zh-CN" {
		t.Fatalf("the login page after the switch is in %q", lang)
	}
	next := back.doc.Find("form input[name=next]").First().AttrOr("value", "")
	p := b.post("login", url.Values{"username": {"op1"}, "password": {password}, "next": {next}})
	if p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != want {
		t.Fatalf("signed in after the switch: %d to %q, want %q", p.status, p.resp.Header.Get("Location"), want)
	}

	page, _ := url.Parse("https://portal.example/ecs/login")
	for _, hostile := range []string{"//evil.com/ecs/", "https://evil.com/ecs/", "/ecs/../..//evil.com", "/ecs/login?next=//evil.com"} {
		b := h.browser()
		back := switchOnLogin(t, b, "login?next="+url.QueryEscape(hostile))
		next := back.doc.Find("form input[name=next]").First().AttrOr("value", "")
		p := b.post("login", url.Values{"username": {"op1"}, "password": {password}, "next": {next}})
		loc, err := url.Parse(p.resp.Header.Get("Location"))
		if p.status != http.StatusSeeOther || err != nil {
			t.Fatalf("next %q: %d %v", hostile, p.status, err)
		}
		if to := page.ResolveReference(loc); to.Host != "portal.example" || !strings.HasPrefix(to.Path, "/ecs/") || strings.HasSuffix(to.Path, "/login") {
			t.Errorf("next %q, through a language switch, sent the browser to %s", hostile, to)
		}
	}
	// A next of the login page's own form posted by hand is the same.
	for _, hostile := range []string{"/ecs/login?next=https://evil.com/", "//evil.com/ecs/login?next=/ecs/audit", "/ecs/login?next=/ecs/login?next=//evil.com"} {
		p := h.browser().post("prefs", url.Values{"lang": {"en"}, "next": {hostile}})
		loc, _ := url.Parse(p.resp.Header.Get("Location"))
		to := page.ResolveReference(loc)
		inner, _ := url.Parse(to.Query().Get("next"))
		if to.Host != "portal.example" || !strings.HasPrefix(to.Path, "/ecs/") || inner.Host != "" || (inner.Path != "" && !strings.HasPrefix(inner.Path, "/ecs/")) {
			t.Errorf("prefs with next %q sent the browser to %s", hostile, to)
		}
	}
}

// The login page drawn after a failed sign-in keeps its next through a
// language switch too: a mistyped password, then 中文, then the right one
// still lands where the user was going.
func TestSwitchingLanguageAfterAFailedSignInKeepsItsNext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--base-url", "https://portal.example/ecs/"}})
	b := h.browser()
	want := "/ecs/audit?instance_id=i-bp1keep0000000000000"
	b.get("login?next=" + url.QueryEscape(want))
	failed := b.post("login", url.Values{"username": {"op1"}, "password": {"not the password"}, "next": {want}})
	if failed.status == http.StatusSeeOther {
		t.Fatal("a wrong password signed in")
	}
	next, _ := failed.doc.Find("form[data-testid=lang-control] input[name=next]").Attr("value")
	sw := b.post("prefs", url.Values{"lang": {"zh-CN"}, "next": {next}})
	to, err := url.Parse(sw.resp.Header.Get("Location"))
	if sw.status != http.StatusSeeOther || err != nil {
		t.Fatalf("switch after a failed sign-in: %d %v", sw.status, err)
	}
	back := b.get(strings.TrimPrefix(to.RequestURI(), h.cfg.BasePath()))
	kept := back.doc.Find("form input[name=next]").First().AttrOr("value", "")
	p := b.post("login", url.Values{"username": {"op1"}, "password": {password}, "next": {kept}})
	if p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != want {
		t.Fatalf("signed in after a failed sign-in and a switch (the switch went to %s): %d to %q, want %q", to, p.status, p.resp.Header.Get("Location"), want)
	}
}
