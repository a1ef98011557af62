package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// An instance stopped in economical mode says so in words on its row, next
// to its Start (folded, so the list stays dense); one stopped normally says
// nothing of the kind.
func TestEconomicalModeIsShownOnTheRowAndTheStartForm(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	p := h.loggedIn("op1").get("instances?per_page=100&region=cn-hangzhou")
	eco, kept, local := h.instance("batch-worker-02"), h.instance("batch-worker-01"), h.instance("hadoop-data-01")
	r := row(p, eco.ID)
	if got := r.Find("[data-testid=stopped-mode]").Text(); !strings.Contains(got, "economical") {
		t.Fatalf("economical row says %q", got)
	}
	if r.Find("form").Length() != 1 {
		t.Fatal("the economical instance offers no Start")
	}
	if got := r.Find("details[data-testid=stopped-mode] [data-testid=economical-note]").Text(); !strings.Contains(got, "vCPUs and memory were released") || !strings.Contains(got, "new public IP") {
		t.Fatalf("the row explains %q", got)
	}
	for _, id := range []string{kept.ID, local.ID} {
		if n := row(p, id).Find("[data-testid=stopped-mode], [data-testid=economical-note]").Length(); n != 0 {
			t.Fatalf("%s is not economical but shows %d notes", id, n)
		}
	}
}

// OperationDenied.NoStock after economical mode is explained with what to do.
func TestNoStockOfAnEconomicalInstanceSaysWhatToDo(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("batch-worker-03") // the simulator has no stock for it
	p := h.loggedIn("op1").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	if p.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d", p.status)
	}
	if code := p.doc.Find("[data-testid=ecs-code]").Text(); code != "OperationDenied.NoStock" {
		t.Fatalf("code %q", code)
	}
	text := p.doc.Find("main").Text()
	for _, w := range []string{"economical mode", "another zone", "another instance type", "later"} {
		if !strings.Contains(text, w) {
			t.Fatalf("the page lacks %q: %s", w, text)
		}
	}
}
