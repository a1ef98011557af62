package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/audit"
)

// requestInit asks, as op1, for an InitLocalDisk start of hadoop-data-01 and
// returns the operation id shown on the audit page.
func requestInit(t *testing.T, h *harness, who string) (int64, *browser) {
	t.Helper()
	return requestInitOf(t, h, who, "hadoop-data-01")
}

// requestInitOf is requestInit for the named instance.
func requestInitOf(t *testing.T, h *harness, who, name string) (int64, *browser) {
	t.Helper()
	in := h.instance(name)
	b := h.loggedIn(who)
	before := h.sim.Calls("StartInstance")
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "init_local_disk": {"true"}, "confirm": {in.ID}, "reason": {"wipe the scratch disks"}})
	if p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != h.cfg.BasePath()+"audit" {
		t.Fatalf("request: %d %q", p.status, p.resp.Header.Get("Location"))
	}
	ops := h.ops()
	if ops[0].Last.State != audit.StateAwaitingApproval || !ops[0].First.InitLocalDisk {
		t.Fatalf("not awaiting: %+v", ops[0].Last)
	}
	if h.sim.Calls("StartInstance") != before {
		t.Fatal("an awaiting start reached ECS")
	}
	return ops[0].ID(), b
}

// decide posts approve or reject from the audit page's own form.
func decide(t *testing.T, b *browser, id int64, verb string, extra url.Values) page {
	t.Helper()
	p := b.get("audit")
	sel := p.doc.Find(`tr[data-audit-id="` + strconv.FormatInt(id, 10) + `"][data-state=awaiting_approval]`)
	digest := sel.Find("input[name=digest]").AttrOr("value", "")
	form := url.Values{"digest": {digest}}
	for k, v := range extra {
		form[k] = v
	}
	return b.post("audit/"+strconv.FormatInt(id, 10)+"/"+verb, form)
}

func TestInitLocalDiskWaitsThenApprovalStartsItOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	appr := h.loggedIn("appr")
	page := appr.get("audit")
	first := page.doc.Find("tr[data-audit-id]").First()
	if first.AttrOr("data-state", "") != "awaiting_approval" {
		t.Fatal("awaiting requests are not listed first")
	}
	p := decide(t, appr, id, "approve", nil)
	if p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", p.status, p.doc.Find("main").Text())
	}
	in := h.instance("hadoop-data-01")
	if starts, init := h.sim.Starts(in.ID); starts != 1 || init != 1 {
		t.Fatalf("starts=%d init=%d", starts, init)
	}
	op, _ := h.audit.Operation(t.Context(), id)
	if op.Last.State != audit.StateSucceeded || op.Last.Approver != "appr" || op.Last.RequestID == "" || op.First.User != "op1" {
		t.Fatalf("outcome %+v", op.Last)
	}
}

func TestRequesterCannotApproveOwnRequestEvenAsAdmin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, adm := requestInit(t, h, "adm")
	p := adm.get("audit")
	row := p.doc.Find(`tr[data-audit-id="` + strconv.FormatInt(id, 10) + `"]`)
	if row.Find(`form[action$="/approve"], form[action$="/reject"]`).Length() != 0 {
		t.Fatal("the requester is offered a decision")
	}
	if row.Find(`form[action$="/withdraw"]`).Length() != 1 {
		t.Fatal("the requester is not offered to withdraw")
	}
	// A hand-made POST with the right digest.
	digestFromOther := h.loggedIn("appr").get("audit").doc.Find("input[name=digest]").First().AttrOr("value", "")
	r := adm.post("audit/"+strconv.FormatInt(id, 10)+"/approve", url.Values{"digest": {digestFromOther}})
	if r.status != http.StatusForbidden {
		t.Fatalf("self-approval answered %d", r.status)
	}
	if h.sim.Calls("StartInstance") != 0 {
		t.Fatal("a self-approved start reached ECS")
	}
}

func TestOperatorAndViewerCannotDecide(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	digest := h.loggedIn("appr").get("audit").doc.Find("input[name=digest]").First().AttrOr("value", "")
	for _, who := range []string{"op2", "view"} {
		r := h.loggedIn(who).post("audit/"+strconv.FormatInt(id, 10)+"/approve", url.Values{"digest": {digest}})
		if r.status != http.StatusForbidden {
			t.Fatalf("%s approve: %d", who, r.status)
		}
	}
}

func TestRejectionNeedsAReasonAndNeverReachesECS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	appr := h.loggedIn("appr")
	// Refused, back at the request with the words (issue 30).
	if p := decide(t, appr, id, "reject", url.Values{"reason": {""}}); p.status != http.StatusSeeOther || !strings.HasSuffix(p.resp.Header.Get("Location"), "#request-"+strconv.FormatInt(id, 10)) {
		t.Fatalf("reject without reason: %d %q", p.status, p.resp.Header.Get("Location"))
	}
	if op, _ := h.audit.Operation(t.Context(), id); op.Last.State != audit.StateAwaitingApproval {
		t.Fatalf("a rejection without a reason left the request %s", op.Last.State)
	}
	if p := decide(t, appr, id, "reject", url.Values{"reason": {"data still needed"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reject: %d", p.status)
	}
	op, _ := h.audit.Operation(t.Context(), id)
	if op.Last.State != audit.StateRejected || op.Last.Reason != "data still needed" || op.Last.Approver != "appr" {
		t.Fatalf("%+v", op.Last)
	}
	if h.sim.Calls("StartInstance") != 0 {
		t.Fatal("a rejected start reached ECS")
	}
}

func TestTwoApproversAtOnceStartItExactlyOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	a1, a2 := h.loggedIn("appr"), h.loggedIn("appr2")
	d := h.loggedIn("adm").get("audit").doc.Find("input[name=digest]").First().AttrOr("value", "")
	a1.get("audit")
	a2.get("audit")
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, b := range []*browser{a1, a2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = b.post("audit/"+strconv.FormatInt(id, 10)+"/approve", url.Values{"digest": {d}}).status
		}()
	}
	wg.Wait()
	ok, conflict := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusSeeOther:
			ok++
		case http.StatusConflict:
			conflict++
		}
	}
	if ok != 1 || conflict != 1 {
		t.Fatalf("statuses %v, want one 303 and one 409", statuses)
	}
	if h.sim.Calls("StartInstance") != 1 {
		t.Fatalf("%d StartInstance calls", h.sim.Calls("StartInstance"))
	}
}

func TestApprovalIsBoundToTheParameters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	r := h.loggedIn("appr").post("audit/"+strconv.FormatInt(id, 10)+"/approve", url.Values{"digest": {"0000"}})
	if r.status != http.StatusConflict || h.sim.Calls("StartInstance") != 0 {
		t.Fatalf("approval with another digest: %d", r.status)
	}
}

func TestApprovalRechecksTheInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	h.sim.SetStatus(h.instance("hadoop-data-01").ID, "Running")
	p := decide(t, h.loggedIn("appr"), id, "approve", nil)
	if p.status != http.StatusConflict {
		t.Fatalf("approve of a running instance: %d", p.status)
	}
	op, _ := h.audit.Operation(t.Context(), id)
	if op.Last.State != audit.StateFailed || h.sim.Calls("StartInstance") != 0 {
		t.Fatalf("%+v", op.Last)
	}
}

func TestRequestsExpire(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval-ttl", "1h"}})
	id, _ := requestInit(t, h, "op1")
	h.advance(2 * time.Hour)
	b := h.loggedIn("appr")
	p := b.get("audit")
	if p.doc.Find(`tr[data-state=awaiting_approval]`).Length() != 0 || p.doc.Find(`tr[data-state=expired]`).Length() != 1 {
		t.Fatal("an expired request is still shown awaiting")
	}
	// A page view writes nothing; the decision records the expiry.
	if op, _ := h.audit.Operation(t.Context(), id); op.Last.State != audit.StateAwaitingApproval {
		t.Fatalf("a page view wrote %+v", op.Last)
	}
	if r := decide(t, b, id, "approve", nil); r.status != http.StatusConflict || h.sim.Calls("StartInstance") != 0 {
		t.Fatalf("approving an expired request: %d", r.status)
	}
	op, _ := h.audit.Operation(t.Context(), id)
	if op.Last.State != audit.StateExpired || op.Last.Action != audit.ActionExpire {
		t.Fatalf("%+v", op.Last)
	}
}

func TestApprovalAllMakesEveryStartWait(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "all"}})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	if !strings.Contains(row(b.get("instances?per_page=100"), in.ID).Text(), "Request start") {
		t.Fatal("the button does not say the start needs approval")
	}
	if p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); p.status != http.StatusUnprocessableEntity ||
		!strings.Contains(p.doc.Find("main").Text(), "Give a reason") {
		t.Fatalf("a request without a reason under --approval all: %d", p.status)
	}
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "reason": {"nightly batch after the patch window"}})
	if p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != "/audit" || h.sim.Calls("StartInstance") != 0 {
		t.Fatalf("%d %q", p.status, p.resp.Header.Get("Location"))
	}
	if op := h.ops()[0]; op.First.Reason != "nightly batch after the patch window" {
		t.Fatalf("the reason was not recorded: %+v", op.First)
	}
}

func TestAuditExportHoldsEveryRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	for _, name := range []string{"ci-runner-01", "ci-runner-02", "reports-db-01"} {
		in := h.instance(name)
		b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	}
	var ids []string
	for _, op := range h.ops() {
		if op.Last.RequestID != "" {
			ids = append(ids, op.Last.RequestID)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("%d request ids in the log", len(ids))
	}
	if p := b.get("audit/export?format=csv"); p.status != http.StatusForbidden {
		t.Fatalf("an operator's export: %d (it holds everyone's address and browser)", p.status)
	}
	if p := h.loggedIn("view").get("audit"); p.doc.Find(`a[href*="audit/export"]`).Length() != 0 {
		t.Fatal("a viewer is offered the export")
	}
	b = h.loggedIn("appr")
	if p := b.get("audit"); p.doc.Find(`a[href*="audit/export"]`).Length() != 2 {
		t.Fatal("an approver is not offered the export")
	}
	for _, f := range []string{"csv", "json"} {
		p := b.get("audit/export?format=" + f)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", f, p.status)
		}
		for _, id := range ids {
			if !strings.Contains(p.body, id) {
				t.Fatalf("%s export lacks %s", f, id)
			}
		}
		if f == "csv" && !strings.HasPrefix(p.body, "id,time,user,action,region,instance_id,init_local_disk,state,approver,reason,request_id,error_code,error_message,http_status,duration_ms,source_ip,prev_hash,hash") {
			t.Fatalf("csv header: %q", p.body[:120])
		}
	}
	if p := b.get("audit/export?format=xml"); p.status != http.StatusBadRequest {
		t.Fatalf("bad format: %d", p.status)
	}
}

func TestAuditPageFiltersByInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	a, c := h.instance("ci-runner-01"), h.instance("ci-runner-02")
	b.post("instances/"+a.ID+"/start", url.Values{"region": {a.Region}})
	b.post("instances/"+c.ID+"/start", url.Values{"region": {c.Region}})
	p := b.get("audit?instance=" + a.ID)
	rows := p.doc.Find("section tr[data-audit-id]")
	if rows.Length() != 1 || !strings.Contains(rows.Text(), a.ID) {
		t.Fatalf("%d rows", rows.Length())
	}
}

func TestApprovalByTheContractsFieldsAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	appr := h.loggedIn("appr")
	appr.get("audit")
	if p := appr.post("audit/"+strconv.FormatInt(id, 10)+"/approve", nil); p.status != http.StatusSeeOther {
		t.Fatalf("approve with only _csrf: %d", p.status)
	}
	if n, init := h.sim.Starts(h.instance("hadoop-data-01").ID); n != 1 || init != 1 {
		t.Fatalf("starts=%d init=%d", n, init)
	}
}

func TestApprovalWhileECSIsDownDecidesNothing(t *testing.T) {
	t.Parallel()
	// ECS down is not the instance failing its preconditions: the request
	// must keep waiting, not be closed as failed.
	h := newHarness(t, opts{})
	id, _ := requestInit(t, h, "op1")
	in := h.instance("hadoop-data-01")
	appr := h.loggedIn("appr")
	appr.get("audit")
	h.sim.SetOutage("ServiceUnavailable")
	p := appr.post("audit/"+strconv.FormatInt(id, 10)+"/approve", nil)
	if p.status != http.StatusServiceUnavailable {
		t.Fatalf("approve while ECS throttles: %d %s", p.status, p.doc.Find("main").Text())
	}
	op, _ := h.audit.Operation(t.Context(), id)
	if op.Last.State != audit.StateAwaitingApproval {
		t.Fatalf("the request was decided while ECS could not be asked: %+v", op.Last)
	}
	if n, _ := h.sim.Starts(in.ID); n != 0 {
		t.Fatal("started")
	}
}

// The list's History link asks for one instance's operations by its exact
// id (instance_id, read through the log's instance index), not by the
// typed-text filter that must read every operation; a malformed id is
// refused in words.
func TestTheHistoryLinkFiltersByTheExactInstanceID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	a, c := h.instance("ci-runner-01"), h.instance("ci-runner-02")
	b.post("instances/"+a.ID+"/start", url.Values{"region": {a.Region}})
	b.post("instances/"+c.ID+"/start", url.Values{"region": {c.Region}})
	link := b.get("instances?q=ci-runner-01").doc.Find(`tr[data-instance-id="` + a.ID + `"] a`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.AttrOr("href", ""), "audit?")
	})
	want := h.cfg.BasePath() + "audit?instance_id=" + a.ID
	if link.Length() != 1 || link.AttrOr("href", "") != want {
		t.Fatalf("the History link is %q (%d), want %q", link.AttrOr("href", ""), link.Length(), want)
	}
	p := b.get("audit?instance_id=" + a.ID)
	rows := p.doc.Find("section tr[data-audit-id]")
	if p.status != http.StatusOK || rows.Length() != 1 || !strings.Contains(rows.Text(), a.ID) {
		t.Fatalf("audit?instance_id: %d, %d rows", p.status, rows.Length())
	}
	if v := p.doc.Find(`input[name=instance]`).AttrOr("value", ""); v != a.ID {
		t.Fatalf("the instance box shows %q, not the id asked for", v)
	}
	if p := b.get("audit/export?format=json&instance_id=" + c.ID); p.status != http.StatusForbidden && (!strings.Contains(p.body, c.ID) || strings.Contains(p.body, a.ID)) {
		t.Fatalf("the export of instance_id: %d %.300s", p.status, p.body)
	}
	if p := b.get("audit?instance_id=" + url.QueryEscape(a.ID[2:]+"%")); p.status != http.StatusBadRequest || !strings.Contains(p.body, "instance id") {
		t.Fatalf("a malformed instance_id: %d %.300s", p.status, p.body)
	}
}
