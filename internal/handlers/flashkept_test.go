package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// flashes are the texts of a page's flash messages.
func flashes(p page) string { return p.doc.Find("[data-testid=flash]").Text() }

// A confirmation page that refuses (403: not theirs to decide; 409: no
// longer awaiting) says why in words and does not eat a message the user
// has not seen yet: it is shown there, or on the next page.
func TestARefusedApprovalConfirmationKeepsTheUnseenFlash(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("hadoop-data-01")
	op1 := h.loggedIn("op1")
	// The request's answer is a redirect with a flash; the user does not
	// follow it but opens the confirmation page.
	p := op1.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "init_local_disk": {"true"}, "confirm": {in.ID}, "reason": {"disk 3"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("request: %d", p.status)
	}
	opID := h.ops()[0].ID()
	id := strconv.FormatInt(opID, 10)
	awaiting := "is recorded as request " + id
	refused := op1.get("audit/" + id + "/approve")
	if refused.status != http.StatusForbidden || !strings.Contains(refused.doc.Find("main").Text(), "may not approve or reject starts") {
		t.Fatalf("the requester's confirmation page: %d %q", refused.status, refused.doc.Find("main").Text())
	}
	if !strings.Contains(flashes(refused), awaiting) && !strings.Contains(flashes(op1.get("audit")), awaiting) {
		t.Fatalf("the flash of the request was lost by the 403: refusal %q", flashes(refused))
	}

	// 409: rejected meanwhile; the approver's flash of the rejection
	// survives the confirmation page of the request it ended.
	appr := h.loggedIn("appr")
	if p := decide(t, appr, opID, "reject", url.Values{"reason": {"not tonight"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", p.status, p.body)
	}
	rejected := "Request " + id + " is rejected"
	gone := appr.get("audit/" + id + "/approve")
	if gone.status != http.StatusConflict || !strings.Contains(gone.doc.Find("main").Text(), "no longer awaiting approval") {
		t.Fatalf("the confirmation page of a rejected request: %d %q", gone.status, gone.doc.Find("main").Text())
	}
	if !strings.Contains(flashes(gone), rejected) && !strings.Contains(flashes(appr.get("audit")), rejected) {
		t.Fatalf("the flash of the rejection was lost by the 409: refusal %q", flashes(gone))
	}
}
