package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/ecs/ecssim"
)

// Issue 15, part 1: after Start the operator comes back to the list as it
// was (filters, page), at the started row; the message names the region.
func TestAfterStartTheListComesBackAsItWas(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	in, other := h.instance("ci-runner-01"), h.instance("ci-runner-02")
	b.hdr.Set("Referer", h.url("instances?region=cn-hangzhou&q=ci-runner&page=1&per_page=100&junk=<x>"))
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	want := "/instances?page=1&per_page=100&q=ci-runner&region=cn-hangzhou#row-" + in.ID
	if p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != want {
		t.Fatalf("after start: %d %q, want %q", p.status, p.resp.Header.Get("Location"), want)
	}
	list := b.get(strings.TrimPrefix(strings.Split(want, "#")[0], "/"))
	if r := list.doc.Find("tr#row-" + in.ID); r.AttrOr("data-instance-id", "") != in.ID {
		t.Fatal("the started row has no anchor")
	}
	if f := list.doc.Find("[data-testid=flash]").Text(); !strings.Contains(f, in.ID+", cn-hangzhou") {
		t.Fatalf("the message does not name the region: %q", f)
	}
	// Another site's page, or another page of ours: the plain list.
	b.hdr.Set("Referer", "https://evil.example/instances?region=x")
	if p := b.post("instances/"+other.ID+"/start", url.Values{"region": {other.Region}}); p.resp.Header.Get("Location") != "/instances#row-"+other.ID {
		t.Fatalf("a foreign referer: %q", p.resp.Header.Get("Location"))
	}
}

// Issue 15, part 5: an error page says its summary once, puts ECS's
// RequestId first, goes back to the list as it was, and offers Try again
// for what may pass in a moment (etl-nightly-01 is not ready the first time).
func TestAnErrorPageOffersTryAgainForWhatMayPass(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	in := h.instance("etl-nightly-01")
	b.hdr.Set("Referer", h.url("instances?q=etl&region=cn-hangzhou"))
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	main := p.doc.Find("main").Text()
	if p.status != http.StatusConflict || p.doc.Find("[data-testid=ecs-code]").Text() != "InstanceNotReady" {
		t.Fatalf("first start: %d %q", p.status, main)
	}
	summary := p.doc.Find("[data-testid=ecs-error] dd").Eq(2).Text()
	if summary == "" || strings.Count(main, summary) != 1 {
		t.Fatalf("the summary %q is printed %d times", summary, strings.Count(main, summary))
	}
	if first := p.doc.Find("[data-testid=ecs-error] dd").First().Find("code").AttrOr("data-testid", ""); first != "ecs-request-id" {
		t.Fatal("ECS's RequestId is not the first thing the page gives")
	}
	if back := p.doc.Find(`a:contains("Back")`).AttrOr("href", ""); back != "/instances?q=etl&region=cn-hangzhou" {
		t.Fatalf("Back leads to %q", back)
	}
	retry := p.doc.Find("form[data-testid=retry]")
	if retry.AttrOr("action", "") != "/instances/"+in.ID+"/start" || retry.Find("input[name=region]").AttrOr("value", "") != in.Region {
		t.Fatal("no Try again for an instance that is not ready yet")
	}
	if again := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); again.status != http.StatusSeeOther {
		t.Fatalf("trying again: %d", again.status)
	}
	// A disk error will not pass by itself: no Try again.
	disk := h.instance("reports-db-01")
	if p := b.post("instances/"+disk.ID+"/start", url.Values{"region": {disk.Region}}); p.doc.Find("form[data-testid=retry]").Length() != 0 {
		t.Fatal("Try again is offered for a DiskError")
	}
}

// Issue 15, part 3: columns sort (a second click reverses), a page jump for
// long lists, and the rows per page remembered for the session.
func TestTheListSortsJumpsAndRemembersRowsPerPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{simOpts: ecssim.Options{Instances: 900}})
	b := h.loggedIn("op1")
	p := b.get("instances?region=cn-hangzhou&sort=name")
	if p.status != http.StatusOK {
		t.Fatalf("%d", p.status)
	}
	var names []string
	p.doc.Find("tr[data-instance-id] strong").Each(func(_ int, s *goquery.Selection) { names = append(names, s.Text()) })
	if len(names) < 2 || names[0] > names[1] {
		t.Fatalf("not sorted by name: %v", names[:min(3, len(names))])
	}
	if th := p.doc.Find(`a[data-sort=name]`); th.Parent().AttrOr("aria-sort", "") != "ascending" || !strings.Contains(th.AttrOr("href", ""), "sort=-name") {
		t.Fatalf("the name header: aria-sort %q, next %q", th.Parent().AttrOr("aria-sort", ""), th.AttrOr("href", ""))
	}
	desc := b.get("instances?region=cn-hangzhou&sort=-name")
	if first := desc.doc.Find("tr[data-instance-id] strong").First().Text(); first < names[len(names)-1] {
		t.Fatalf("descending starts with %q", first)
	}
	if b.get("instances?sort=colour").status != http.StatusBadRequest {
		t.Fatal("an unknown sort column was accepted")
	}
	// 300 instances in the region, 50 a page: a jump to page 5 keeps the filters and the order.
	jump := p.doc.Find("form[data-testid=page-jump]")
	if jump.Find(`input[name=region]`).AttrOr("value", "") != "cn-hangzhou" || jump.Find(`input[name=sort]`).AttrOr("value", "") != "name" ||
		jump.Find(`input[name=page]`).AttrOr("max", "") != "6" {
		t.Fatal("the page jump does not keep the filters and the order")
	}
	// Rows per page, remembered.
	b.get("instances?per_page=100")
	if n := b.get("instances?region=cn-hangzhou").doc.Find("tr[data-instance-id]").Length(); n != 100 {
		t.Fatalf("%d rows after choosing 100 a page", n)
	}
	b.get("instances?per_page=50")
	if n := b.get("instances?region=cn-hangzhou").doc.Find("tr[data-instance-id]").Length(); n != 50 {
		t.Fatalf("%d rows after choosing 50 a page", n)
	}
}

// Issue 15, part 7: a sign-in inside another site's frame, where the
// browser keeps our cookie back, says so instead of "reload the page".
func TestASignInWithoutItsCookieInAFrameSaysWhy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.get("login") // the page and its token, but the browser will not send the cookie back
	b.c.Jar = nil
	b.hdr.Set("Sec-Fetch-Dest", "iframe")
	p := b.post("login", url.Values{"username": {"op1"}, "password": {password}})
	text := p.doc.Find("main").Text()
	if p.status != http.StatusForbidden || !strings.Contains(text, "did not send the dashboard's cookie inside the portal's frame") ||
		!strings.Contains(text, "--cross-site-cookies") || strings.Contains(text, "Reload the page and try again") {
		t.Fatalf("%d %q", p.status, text)
	}
	// Not in a frame: the ordinary words.
	b.hdr.Del("Sec-Fetch-Dest")
	if p := b.post("login", url.Values{"username": {"op1"}, "password": {password}}); !strings.Contains(p.doc.Find("main").Text(), "Reload the page") {
		t.Fatalf("outside a frame: %q", p.doc.Find("main").Text())
	}
}
