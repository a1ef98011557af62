package handlers_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Browser tests of issue 30: the pages as a person at 3 a.m. uses them.

// The approver's wipe dialog opens on the safe choice, so one Enter does
// not wipe, and names the instance as the requester's dialog does.
func TestBrowserApproveWipeDialogFocusesCancelAndNamesTheInstance(t *testing.T) {
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	in := h.instance("hadoop-data-01")
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "appr")
	card := fmt.Sprintf(`tr[data-audit-id="%d"]`, id)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(h.url("audit")),
		chromedp.Click(chromedp.CSS(card+" form[data-approve-wipe] button")),
		chromedp.WaitVisible(chromedp.CSS("#approve-dialog")),
	); err != nil {
		t.Fatal(err)
	}
	focused, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.value || document.activeElement.textContent`))
	if focused != "no" {
		t.Fatalf("the dialog opens with focus on %q, not on Cancel", focused)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#approve-dialog")))
	for _, want := range []string{in.ID, in.Name, in.Region} {
		if !strings.Contains(text, want) {
			t.Fatalf("the dialog does not name %q: %q", want, text)
		}
	}
	// Enter on the focused choice closes without a start.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.getElementById('approve-dialog').open`)); err != nil {
		t.Fatalf("Enter did not close the dialog: %v", err)
	}
	if n, _ := h.sim.Starts(in.ID); n != 0 {
		t.Fatal("Enter in the approver's dialog wiped and started the instance")
	}
}
