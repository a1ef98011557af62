package handlers_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// overflowJS finds text that does not fit its box: an element of text
// (a button, a label, a heading, a link, a cell) whose content is wider
// than itself, or a page wider than the window.
const overflowJS = `(() => {
	const bad = [];
	if (document.documentElement.scrollWidth > innerWidth + 1) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide in a ' + innerWidth + ' px window');
	for (const e of document.querySelectorAll('button, label, h1, h2, th, td, nav a, .flash, p, dt, dd, summary, legend, option')) {
		const s = getComputedStyle(e);
		if (s.display === 'none' || s.visibility === 'hidden' || e.closest('[hidden], dialog:not([open]), .visually-hidden')) continue;
		if (e.closest('.table-wrap') && e.closest('.table-wrap').scrollWidth > e.closest('.table-wrap').clientWidth) {
			// a wide table scrolls in its own region; its cells must still hold their text
		}
		if (e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) bad.push(e.tagName + ' "' + e.textContent.trim().slice(0, 40) + '" ' + e.scrollWidth + '>' + e.clientWidth);
	}
	return bad.slice(0, 8).join('; ');
})()`

// chinese is the journeys in Simplified Chinese, with the README's Chinese
// screenshot; its approver is the admin, who also sees users and grants.
var chinese = journey{
	lang:          "zh-CN",
	choose:        true,
	refusal:       func(id string) string { return "这不是该实例的 ID。请准确输入 " + id + "，或取消。" },
	shots:         map[string]string{"list after a start": "desktop-list-zh"},
	approver:      "adm",
	operatorPages: []journeyPage{{"tokens", "tokens", "h1"}},
	approverPages: []journeyPage{{"users and grants", "admin/users", "[data-testid=users]"}},
}

// Issue 31: the journeys in Chinese, chosen with the page's own control
// (a form, no JavaScript needed): <html lang> names it, axe finds nothing
// above minor, and at 200% zoom no text overflows its box.
func TestBrowserChineseJourneysAreAccessibleAndFitAtDoubleZoom(t *testing.T) {
	axe := axeSource(t)
	if out, err := exec.Command("fc-list", ":lang=zh").Output(); err != nil || len(out) == 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("no Chinese font: CI must install fonts-noto-cjk (.ci/run does)")
		}
		t.Skip("!!! SKIPPING CHINESE BROWSER TEST: no Chinese font (apt-get install fonts-noto-cjk); its widths would be a fallback's !!!")
	}
	w := walkJourneys(t, axe, chinese, "light")
	ctx, h := w.ctx, w.h

	// 200% zoom of a 1440x900 window: every page's text fits its box.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(720, 450, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"instances?region=cn-hangzhou", "audit", "tokens", "admin/users", "instances?q=hadoop-data-01&region=cn-hangzhou"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(h.url(p)), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatal(err)
		}
		w.lang(p)
		if bad, err := chromedp.Run(ctx, chromedp.Evaluate[string](overflowJS)); err != nil || bad != "" {
			t.Errorf("%s at 200%% zoom in Chinese: %s (%v)", p, bad, err)
		}
	}
}
