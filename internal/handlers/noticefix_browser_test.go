package handlers_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"ecsdash/internal/ecs/ecssim"
)

// countPolls wraps the page's fetch before its script runs: window.polls
// counts the list's polls (live) and, per URL, the batch rows' status
// polls asked after that URL was answered 401 (afterEnd).
const countPolls = `(function () {
  var real = window.fetch;
  window.polls = { live: 0, status: 0, ended: {}, afterEnd: 0 };
  window.fetch = function (u, o) {
    var s = String(u);
    if (s.indexOf("/live") >= 0) window.polls.live++;
    if (s.indexOf("/status") >= 0) { window.polls.status++; if (window.polls.ended[s]) window.polls.afterEnd++; }
    return real.call(this, u, o).then(function (r) {
      if (s.indexOf("/status") >= 0 && r.status === 401) window.polls.ended[s] = true;
      return r;
    });
  };
})();`

const noticeShown = `!document.querySelector('[data-session-ended]').hidden`

func waitFor(t *testing.T, ctx context.Context, js, what string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func evalInt(t *testing.T, ctx context.Context, js string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return n
}

// otherTab is a second tab of the same browser (the same cookies).
func otherTab(t *testing.T, ctx context.Context) context.Context {
	other, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	return other
}

func signOutIn(t *testing.T, tab context.Context, h *harness) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(h.url("instances")),
		chromedp.Click(chromedp.CSS(`form[action$="logout"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("input[name=username]"))); err != nil {
		t.Fatalf("signing out in another tab: %v", err)
	}
}

// liveListThatLostItsSession is a polling list whose session has ended
// (signed out in another tab) and says so; the other tab is returned.
func liveListThatLostItsSession(t *testing.T) (*harness, context.Context, context.Context) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: countPolls}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?region=cn-hangzhou")), chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
		t.Fatalf("the list: %v", err)
	}
	waitFor(t, ctx, `Number(document.getElementById('fleet-rows').getAttribute('data-polls') || 0) >= 1`, "the list never polled")
	other := otherTab(t, ctx)
	signOutIn(t, other, h)
	waitFor(t, ctx, noticeShown, "the list never said its session ended")
	return h, ctx, other
}

func pausePressed(t *testing.T, ctx context.Context) string {
	t.Helper()
	p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-live-pause]').getAttribute('aria-pressed')`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// After the session's end nothing updates, so the pause button says
// "paused"; pressing it (to resume) tries once, and when the session is
// still over the button stays pressed and the notice is said again.
func TestBrowserResumingAListWhoseSessionEndedTriesOnceAndStaysPaused(t *testing.T) {
	_, ctx, _ := liveListThatLostItsSession(t)
	if p := pausePressed(t, ctx); p != "true" {
		t.Fatalf("after the session's end the pause button has aria-pressed=%q, want true (nothing updates)", p)
	}
	before := evalInt(t, ctx, `window.polls.live`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('live-announce').textContent = 'x'; true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-live-pause]`))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `window.polls.live > `+strconv.Itoa(before)+` && document.getElementById('live-announce').textContent.indexOf('session has ended') >= 0`,
		"pressing Resume neither tried again nor said the session is over")
	if p := pausePressed(t, ctx); p != "true" {
		t.Fatalf("after a Resume the session refused, the pause button has aria-pressed=%q, want true", p)
	}
	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](noticeShown)); !shown {
		t.Fatal("the notice went while the session is still over")
	}
	if n := evalInt(t, ctx, `window.polls.live`); n != before+1 {
		t.Fatalf("one press asked %d times, want once", n-before)
	}
}

// Signed in again in another tab, the list's next poll (a Resume, or
// coming back to the tab) is answered: the notice goes and updates resume.
func TestBrowserAListSignedInAgainElsewhereDropsTheNoticeAndFollowsAgain(t *testing.T) {
	h, ctx, other := liveListThatLostItsSession(t)
	browserLogin(t, other, h, "op1")
	polls := evalInt(t, ctx, `Number(document.getElementById('fleet-rows').getAttribute('data-polls'))`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-live-pause]`))); err != nil {
		t.Fatal(err)
	}
	// Two more answered polls: the one asked, and one the list scheduled itself.
	waitFor(t, ctx, `Number(document.getElementById('fleet-rows').getAttribute('data-polls')) >= `+strconv.Itoa(polls+2),
		"after a Resume with a new session the list does not follow the fleet again")
	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](noticeShown)); shown {
		t.Fatal("signed in again, the list still says its session has ended")
	}
	if p := pausePressed(t, ctx); p != "false" {
		t.Fatalf("updating again, the pause button has aria-pressed=%q", p)
	}

	// Once more, and this time the user just comes back to the tab.
	signOutIn(t, other, h)
	waitFor(t, ctx, noticeShown, "the list never said its second session ended")
	browserLogin(t, other, h, "op1")
	polls = evalInt(t, ctx, `Number(document.getElementById('fleet-rows').getAttribute('data-polls'))`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.dispatchEvent(new FocusEvent('focus')); true`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector('[data-session-ended]').hidden && Number(document.getElementById('fleet-rows').getAttribute('data-polls')) >= `+strconv.Itoa(polls+2),
		"coming back to the tab with a new session, the list neither dropped the notice nor followed again")
}

// A batch's results page follows its started rows; when the session ends
// they stop asking and the page says so, with a sign-in that comes back to
// the batch (the results page itself answered a POST).
func TestBrowserABatchWhoseSessionEndedStopsAskingAndSaysSo(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{StartDelay: 10 * time.Minute}})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: countPolls}); err != nil {
		t.Fatal(err)
	}
	in := h.instance("ci-runner-01")
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")), chromedp.WaitVisible(chromedp.CSS("#batch-form")),
		chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+in.ID+`"] input[data-pick]`)),
		chromedp.Click(chromedp.CSS("[data-batch-submit]")),
		chromedp.WaitVisible(chromedp.CSS("tr[data-live]"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `window.polls.status >= 1`, "the results page never asked a row's status")
	signOutIn(t, otherTab(t, ctx), h)
	waitFor(t, ctx, noticeShown, "the batch's page never said its session ended")
	said, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('live-announce').textContent`))
	if !strings.Contains(said, "session has ended") {
		t.Fatalf("the announcement says %q", said)
	}
	href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=session-ended] a').href`))
	u, err := url.Parse(href)
	if err != nil || !strings.HasSuffix(u.Path, "/login") || !strings.HasPrefix(u.Query().Get("next"), "/audit?batch=") {
		t.Fatalf("the sign-in link is %q, want the login page with next=/audit?batch=… (%v)", href, err)
	}
	// The row asked again within 1.5 s, then 2.3 s, … at most 10 s: after
	// twice the longest of the first three it would have asked again.
	time.Sleep(8 * time.Second)
	if n := evalInt(t, ctx, `window.polls.afterEnd`); n != 0 {
		t.Fatalf("a row answered 401 was asked about %d more times", n)
	}
}

// The flashes and the session's notice share the corner without covering
// each other.
func TestBrowserTheSessionNoticeAndAFlashDoNotOverlap(t *testing.T) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "op1")
	in := h.instance("ci-runner-02")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")),
		chromedp.Click(chromedp.CSS(`tr[data-instance-id="`+in.ID+`"] form.start-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("[data-testid=flash]"))); err != nil {
		t.Fatal(err)
	}
	signOutIn(t, otherTab(t, ctx), h)
	waitFor(t, ctx, noticeShown, "the list never said its session ended")
	where, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const f = document.querySelector('[data-testid=flash]').getBoundingClientRect();
		const n = document.querySelector('[data-testid=session-ended]').getBoundingClientRect();
		if (f.height === 0 || n.height === 0) return 'one is not shown';
		if (f.top < 0 || f.bottom > innerHeight || n.top < 0 || n.bottom > innerHeight) return 'one is off screen';
		if (f.top < n.bottom && n.top < f.bottom && f.left < n.right && n.left < f.right) return 'the notice and the flash overlap';
		return '';
	})()`))
	if err != nil || where != "" {
		t.Fatalf("%s (%v)", where, err)
	}
}
