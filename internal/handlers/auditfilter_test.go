package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/audit"
)

// Every state and action the log can hold is a filter the audit page and
// its export accept, and a filter finds the operations it names.
func TestAuditFiltersAcceptEveryStateAndAction(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, op1 := requestInit(t, h, "op1")
	if p := op1.post("audit/"+strconv.FormatInt(id, 10)+"/withdraw", nil); p.status != http.StatusSeeOther {
		t.Fatalf("withdrawal: %d", p.status)
	}
	in := h.instance("ci-runner-01")
	if p := op1.post("instances/"+in.ID+"/check", url.Values{"region": {in.Region}}); p.status != http.StatusOK {
		t.Fatalf("check: %d", p.status)
	}
	appr := h.loggedIn("appr")
	for _, s := range audit.States {
		if p := appr.get("audit?state=" + s); p.status != http.StatusOK {
			t.Errorf("audit?state=%s: %d", s, p.status)
		}
		if p := appr.get("audit/export?format=json&state=" + s); p.status != http.StatusOK {
			t.Errorf("export state=%s: %d", s, p.status)
		}
	}
	for _, a := range audit.Actions {
		if p := appr.get("audit?action=" + a); p.status != http.StatusOK {
			t.Errorf("audit?action=%s: %d", a, p.status)
		}
	}
	if r := appr.get("audit?state=withdrawn").doc.Find(`tr[data-audit-id="` + strconv.FormatInt(id, 10) + `"]`); r.AttrOr("data-state", "") != audit.StateWithdrawn {
		t.Fatalf("the withdrawn request is not found by state=withdrawn (%q)", r.AttrOr("data-state", ""))
	}
	// An action that follows the request's first entry finds it too.
	if r := appr.get("audit?action=withdraw").doc.Find(`tr[data-audit-id]`); r.Length() != 1 || r.AttrOr("data-audit-id", "") != strconv.FormatInt(id, 10) {
		t.Fatalf("action=withdraw finds %d rows, not the withdrawn request", r.Length())
	}
	if p := appr.get("audit?action=check"); p.doc.Find(`tr[data-audit-id]`).Length() != 1 || !strings.Contains(p.doc.Find("main").Text(), in.ID) {
		t.Fatalf("action=check finds %d rows", p.doc.Find(`tr[data-audit-id]`).Length())
	}
	if p := appr.get("audit/export?format=json&state=withdrawn"); !strings.Contains(p.body, `"state":"withdrawn"`) {
		t.Fatalf("the export of withdrawn requests: %s", p.body)
	}
	// A follow-up the dashboard writes is a filter too, and the drop-down
	// offers every action in words.
	if p := appr.get("audit?action=" + audit.ActionReconcile); p.status != http.StatusOK {
		t.Fatalf("audit?action=reconcile: %d", p.status)
	}
	opts := appr.get("audit").doc.Find(`select[name=action] option[value]`)
	for _, a := range audit.Actions {
		o := opts.FilterFunction(func(_ int, s *goquery.Selection) bool { return s.AttrOr("value", "") == a })
		if w, _ := audit.Action(a); o.Length() != 1 || strings.TrimSpace(o.Text()) != w.Words {
			t.Errorf("the action filter offers %s %d times, as %q", a, o.Length(), strings.TrimSpace(o.Text()))
		}
	}
	if p := appr.get("audit?state=nonsense"); p.status != http.StatusBadRequest {
		t.Fatalf("an unknown state: %d", p.status)
	}
}
