package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Issue 30's minors: the small things a person at 3 a.m. trips over.

// A wipe that waits for an approver needs a reason (the approver reads
// it): without one, the confirmation page asks for it and nothing is
// recorded or sent.
func TestAWipeForApprovalNeedsAReason(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("hadoop-data-01")
	b := h.loggedIn("op1")
	before := len(h.ops())
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "init_local_disk": {"true"}, "confirm": {in.ID}, "reason": {"  "}})
	msg := p.doc.Find("[data-testid=confirm-error]").Text()
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(msg, "reason") || p.doc.Find("[data-testid=confirm-init] input[name=reason][required]").Length() != 1 {
		t.Fatalf("a wipe without a reason: %d %q", p.status, msg)
	}
	if len(h.ops()) != before || h.sim.Calls("StartInstance") != 0 {
		t.Fatal("a wipe without a reason was recorded or sent")
	}
	if p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "init_local_disk": {"true"}, "confirm": {in.ID}, "reason": {"disk full of junk"}}); p.status != http.StatusSeeOther {
		t.Fatalf("with a reason: %d", p.status)
	}
}

// A rejection's reason too short is answered in words, back at the request,
// with nothing decided.
func TestAShortRejectReasonIsAnsweredInWords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	b := h.loggedIn("appr")
	card := b.get("audit").doc.Find(`tr[data-audit-id="` + strconv.FormatInt(id, 10) + `"] form[action$="/reject"]`)
	form := hiddenValues(card)
	form.Set("reason", "no")
	p := b.post("audit/"+strconv.FormatInt(id, 10)+"/reject", form)
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.resp.Header.Get("Location"), "audit#request-"+strconv.FormatInt(id, 10)) {
		t.Fatalf("a short reason: %d %q %q", p.status, p.resp.Header.Get("Location"), p.doc.Find("main").Text())
	}
	flash := b.get("audit").doc.Find("[data-testid=flash]").Text()
	if !strings.Contains(flash, "2 characters") || !strings.Contains(flash, "not rejected") {
		t.Fatalf("the page says %q", flash)
	}
	for _, op := range h.ops() {
		if op.ID() == id && op.Last.State != "awaiting_approval" {
			t.Fatalf("the request is %s", op.Last.State)
		}
	}
}

// Try again on an error page comes back to the list as it was.
func TestTryAgainKeepsTheListsFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	in := h.instance("etl-nightly-01") // not ready the first time
	b.hdr.Set("Referer", h.url("instances?q=etl&region=cn-hangzhou"))
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	retry := p.doc.Find("form[data-testid=retry]")
	if retry.Length() != 1 {
		t.Fatalf("no Try again: %d", p.status)
	}
	b.hdr.Set("Referer", h.url("instances/"+in.ID+"/start")) // the error page is where Try again is pressed
	again := b.post(strings.TrimPrefix(retry.AttrOr("action", ""), "/"), hiddenValues(retry))
	if want := "/instances?q=etl&region=cn-hangzhou#row-" + in.ID; again.status != http.StatusSeeOther || again.resp.Header.Get("Location") != want {
		t.Fatalf("Try again: %d %q, want %q", again.status, again.resp.Header.Get("Location"), want)
	}
	// A back of another site is not followed.
	b.hdr.Del("Referer")
	other := h.instance("ci-runner-01")
	if p := b.post("instances/"+other.ID+"/start", url.Values{"region": {other.Region}, "back": {"https://evil.example/instances?q=x"}}); p.resp.Header.Get("Location") != "/instances#row-"+other.ID {
		t.Fatalf("a foreign back: %q", p.resp.Header.Get("Location"))
	}
}

// After a wrong password the focus is on the cleared password, not the
// user name already typed.
func TestBrowserAWrongPasswordFocusesThePassword(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("login")),
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), "op1"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), "wrong-password"),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=login-error]")),
	); err != nil {
		t.Fatal(err)
	}
	got, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.name + '=' + document.activeElement.value`))
	if got != "password=" {
		t.Fatalf("after a wrong password the focus is on %q", got)
	}
}
