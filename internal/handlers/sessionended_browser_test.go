package handlers_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chineseOperator is a browser signed in as op1, who chose Chinese on the
// sign-in page.
func chineseOperator(t *testing.T) (*harness, context.Context) {
	h := newHarness(t, opts{})
	ctx := newChrome(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("login")),
		chromedp.Click(chromedp.CSS(`[data-testid=lang-control] button[data-lang="zh-CN"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="zh-CN"] input[name=username]`))); err != nil {
		t.Fatalf("choosing Chinese: %v", err)
	}
	browserLogin(t, ctx, h, "op1")
	return h, ctx
}

// An open list whose session ends (here: signed out in another tab) stops
// following the fleet and says so, politely and in the page's language,
// with a sign-in that comes back to the same list.
func TestBrowserAListWhoseSessionEndedSaysSoAndSignsInBackToIt(t *testing.T) {
	h, ctx := chineseOperator(t)
	list := "instances?region=cn-hangzhou&status=Stopped"
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url(list)), chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
		t.Fatalf("the list: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Number(document.getElementById('fleet-rows').getAttribute('data-polls') || 0) >= 1`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the list never polled: %v", err)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid=session-ended]') && !document.querySelector('[data-session-ended]').hidden`)); err != nil || shown {
		t.Fatalf("a live session's list says it ended (%v)", err)
	}

	other, cancel := chromedp.NewContext(ctx) // another tab of the same browser
	defer cancel()
	if err := chromedp.Do(other, chromedp.Navigate(h.url("instances")),
		chromedp.Click(chromedp.CSS(`form[action$="logout"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("input[name=username]"))); err != nil {
		t.Fatalf("signing out in another tab: %v", err)
	}

	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector('[data-session-ended]').hidden`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the list never said its session ended: %v", err)
	}
	said, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('live-announce').textContent`))
	if err != nil || !strings.Contains(said, "会话已结束") || !strings.Contains(said, "不再自动更新") {
		t.Fatalf("the announcement (aria-live) says %q, want the session's end in Chinese (%v)", said, err)
	}
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid=session-ended] a').href`))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(href)
	if err != nil || !strings.HasSuffix(u.Path, "/login") || u.Query().Get("next") != "/"+list {
		t.Fatalf("the sign-in link is %q, want the login page with next=/%s (%v)", href, list, err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid=session-ended] a`)),
		chromedp.WaitVisible(chromedp.CSS("input[name=username]")),
		chromedp.SendKeys(chromedp.CSS("input[name=username]"), "op1"),
		chromedp.SendKeys(chromedp.CSS("input[name=password]"), password),
		chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
		t.Fatalf("signing in again from the notice: %v", err)
	}
	at, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname + location.search`))
	if err != nil || at != "/"+list {
		t.Fatalf("signed in again at %q, want back at /%s (%v)", at, list, err)
	}
}

// The list's ticking age says a duration as the server does: an hour is
// "1 小时", never "1 小时 0 分 5 秒". The poll's answer is made an hour
// old in the page (its fetch wrapped before the page script runs), so the
// words are known whatever the seconds.
func TestBrowserTheListsTickingAgeLeavesOutAZeroPart(t *testing.T) {
	h, ctx := chineseOperator(t)
	hourOld := `(function () {
	  var real = window.fetch;
	  window.fetch = function (u, o) {
	    return real.call(this, u, o).then(function (r) {
	      if (String(u).indexOf("/live") < 0 || !r.ok) return r;
	      return r.json().then(function (ans) { ans.age = 3600; return new Response(JSON.stringify(ans), { status: 200, headers: { "Content-Type": "application/json" } }); });
	    });
	  };
	})();`
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: hourOld}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?region=cn-hangzhou")), chromedp.WaitVisible(chromedp.CSS("tr[data-instance-id]"))); err != nil {
		t.Fatalf("the list: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Number(document.getElementById('fleet-rows').getAttribute('data-polls') || 0) >= 1`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the list never polled: %v", err)
	}
	age, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-live-age]').textContent`))
	if err != nil || !strings.HasSuffix(age, "1 小时前") {
		t.Fatalf("an hour-old list says %q, want it to end \"1 小时前\" (%v)", age, err)
	}
}
