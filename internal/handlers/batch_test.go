package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/audit"
)

func TestBatchStartsWhatMayStartAndRefusesTheRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	a, c, d := h.instance("ci-runner-01"), h.instance("ci-runner-02"), h.instance("batch-worker-01")
	running, locked := h.instance("web-prod-01"), h.instance("legacy-billing-01")
	form := url.Values{"reason": {"after the patch window"}, "instance": {
		a.Region + "/" + a.ID, c.Region + "/" + c.ID, d.Region + "/" + d.ID, a.Region + "/" + a.ID, // a twice: collapses
		running.Region + "/" + running.ID, locked.Region + "/" + locked.ID,
		"garbage", "mars-1/i-bp1doesnotexist0", "cn-hangzhou/i-bp1doesnotexist0",
	}}
	p := b.post("instances/start", form)
	if p.status != http.StatusOK {
		t.Fatalf("batch: %d %s", p.status, p.doc.Find("main").Text())
	}
	want := map[string]string{a.ID: "started", c.ID: "started", d.ID: "started", running.ID: "refused", locked.ID: "refused",
		"garbage": "refused", "i-bp1doesnotexist0": "refused"}
	rows := p.doc.Find("tr[data-outcome]")
	if rows.Length() != 8 {
		t.Fatalf("%d result rows, want 8 (a duplicate collapses)", rows.Length())
	}
	for id, outcome := range want {
		if got := p.doc.Find(`tr[data-instance-id="`+id+`"]`).First().AttrOr("data-outcome", ""); got != outcome {
			t.Errorf("%s: %q, want %q", id, got, outcome)
		}
	}
	if !strings.Contains(p.doc.Find(`tr[data-instance-id="`+running.ID+`"]`).Text(), "not Stopped") {
		t.Fatal("the refusal is not in words")
	}
	if n := h.sim.Calls("StartInstances"); n != 1 || h.sim.Calls("StartInstance") != 0 {
		t.Fatalf("%d StartInstances calls, want one for the region", n)
	}
	for _, in := range []string{a.ID, c.ID, d.ID} {
		if n, _ := h.sim.Starts(in); n != 1 {
			t.Fatalf("%s started %d times", in, n)
		}
	}
	if n, _ := h.sim.Starts(running.ID); n != 0 {
		t.Fatal("a refused instance was sent")
	}
	// Each instance is its own operation: intent then outcome, the batch's id, the reason, the RequestId.
	var batch string
	ops := 0
	for _, op := range h.ops() {
		if op.First.Action != audit.ActionStartInstance {
			continue
		}
		ops++
		if op.First.State != audit.StateSent || op.Last.State != audit.StateSucceeded || op.Last.RequestID == "" ||
			op.First.BatchID == "" || op.First.Reason != "after the patch window" {
			t.Fatalf("operation %d: %+v → %+v", op.ID(), op.First, op.Last)
		}
		if batch != "" && op.First.BatchID != batch {
			t.Fatal("the operations carry different batch ids")
		}
		batch = op.First.BatchID
	}
	if ops != 3 {
		t.Fatalf("%d start operations, want 3", ops)
	}
	if !strings.Contains(p.doc.Find("h1").Text(), batch) {
		t.Fatal("the page does not name the batch")
	}
}

func TestBatchBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	a := h.instance("ci-runner-01")
	many := url.Values{}
	for i := range 101 {
		many.Add("instance", "cn-hangzhou/i-bp1aaaaaaaaaaaa"+strings.Repeat("b", i%5)+string(rune('a'+i%26)))
	}
	for name, tc := range map[string]struct {
		who    string
		form   url.Values
		status int
	}{
		"none":        {"op1", url.Values{}, 400},
		"101":         {"op1", many, 400},
		"viewer":      {"view", url.Values{"instance": {a.Region + "/" + a.ID}}, 403},
		"approver":    {"appr", url.Values{"instance": {a.Region + "/" + a.ID}}, 403},
		"long reason": {"op1", url.Values{"instance": {a.Region + "/" + a.ID}, "reason": {strings.Repeat("r", 501)}}, 400},
	} {
		if p := h.loggedIn(tc.who).post("instances/start", tc.form); p.status != tc.status {
			t.Errorf("%s: %d, want %d", name, p.status, tc.status)
		}
	}
	if h.sim.Calls("StartInstances") != 0 {
		t.Fatal("a refused batch reached ECS")
	}
}

func TestBatchUnderApprovalAllBecomesRequests(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "all"}})
	a, c := h.instance("ci-runner-01"), h.instance("ci-runner-02")
	p := h.loggedIn("op1").post("instances/start", url.Values{"reason": {"nightly"}, "instance": {a.Region + "/" + a.ID, c.Region + "/" + c.ID}})
	if p.status != http.StatusOK || p.doc.Find(`tr[data-outcome=awaiting_approval]`).Length() != 2 {
		t.Fatalf("%d %s", p.status, p.doc.Find("main").Text())
	}
	if h.sim.Calls("StartInstances") != 0 {
		t.Fatal("a batch awaiting approval reached ECS")
	}
	if p := h.loggedIn("op1").post("instances/start", url.Values{"instance": {a.Region + "/" + a.ID}}); p.status != http.StatusUnprocessableEntity {
		t.Fatalf("a batch without a reason under --approval all: %d", p.status)
	}
}

func TestCheckAsksECSAndStartsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	stopped, running := h.instance("ci-runner-01"), h.instance("web-prod-01")
	p := b.post("instances/"+stopped.ID+"/check", url.Values{"region": {stopped.Region}})
	if p.status != http.StatusOK || p.doc.Find("[data-testid=check]").AttrOr("data-would", "") != "true" ||
		p.doc.Find("[data-testid=ecs-request-id]").Text() == "" {
		t.Fatalf("check of a stopped instance: %d %q", p.status, p.doc.Find("main").Text())
	}
	p = b.post("instances/"+running.ID+"/check", url.Values{"region": {running.Region}})
	if p.doc.Find("[data-testid=check]").AttrOr("data-would", "") != "false" || p.doc.Find("[data-testid=ecs-code]").Text() != "IncorrectInstanceStatus" ||
		!strings.Contains(p.doc.Find("main").Text(), "must be Stopped") {
		t.Fatalf("check of a running instance: %q", p.doc.Find("main").Text())
	}
	if n, _ := h.sim.Starts(stopped.ID); n != 0 || h.sim.Status(stopped.ID) != "Stopped" {
		t.Fatal("a check started the instance")
	}
	checks := 0
	for _, op := range h.ops() {
		if op.First.Action == audit.ActionCheck {
			checks++
			if !op.First.DryRun || op.First.RequestID == "" {
				t.Fatalf("check entry %+v", op.First)
			}
		}
	}
	if checks != 2 {
		t.Fatalf("%d checks audited", checks)
	}
	if p := h.loggedIn("view").post("instances/"+stopped.ID+"/check", url.Values{"region": {stopped.Region}}); p.status != http.StatusForbidden {
		t.Fatalf("a viewer's check: %d", p.status)
	}
	// The list offers Check next to Start.
	r := row(b.get("instances?per_page=100&region=cn-hangzhou"), stopped.ID)
	if r.Find(`button[formaction$="/instances/`+stopped.ID+`/check"]`).Length() != 1 || r.Find(`input[data-pick]`).Length() != 1 {
		t.Fatal("the row offers no Check or no batch checkbox")
	}
}

func TestAnApproverApprovesAWholeBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "all"}})
	a, c, d := h.instance("ci-runner-01"), h.instance("ci-runner-02"), h.instance("batch-worker-01")
	p := h.loggedIn("op1").post("instances/start", url.Values{"reason": {"nightly"}, "instance": {
		a.Region + "/" + a.ID, c.Region + "/" + c.ID, d.Region + "/" + d.ID}})
	batch := strings.TrimPrefix(p.doc.Find("h1").Text(), "Batch start ")
	if p.doc.Find(`tr[data-outcome=awaiting_approval]`).Length() != 3 {
		t.Fatalf("%s", p.doc.Find("main").Text())
	}
	appr := h.loggedIn("appr")
	page := appr.get("audit?batch=" + batch)
	f := page.doc.Find(`form[data-batch="` + batch + `"]`)
	if f.Length() != 1 || !strings.Contains(f.Text(), "Approve all 3") || page.doc.Find(`table.requests tr[data-state=awaiting_approval]`).Length() != 3 {
		t.Fatalf("the batch is not offered whole: %q", page.doc.Find("main").Text())
	}
	if p := h.loggedIn("op1").post("audit/batches/"+batch+"/approve", hiddenValues(f)); p.status != http.StatusForbidden {
		t.Fatalf("the requester approving their own batch: %d", p.status)
	}
	if p := appr.post("audit/batches/"+batch+"/approve", hiddenValues(f)); p.status != http.StatusSeeOther {
		t.Fatalf("batch approval: %d", p.status)
	}
	for _, in := range []string{a.ID, c.ID, d.ID} {
		if n, _ := h.sim.Starts(in); n != 1 {
			t.Fatalf("%s started %d times", in, n)
		}
	}
	if f := appr.get("audit?batch=" + batch).doc.Find("[data-testid=flash]").Text(); !strings.Contains(f, "3 of 3 started") {
		t.Fatalf("after the batch approval: %q", f)
	}
	if p := appr.post("audit/batches/"+batch+"/approve", hiddenValues(f)); p.status != http.StatusConflict {
		t.Fatalf("approving the batch again: %d", p.status)
	}
	if p := appr.get("audit?batch=nope"); p.status != http.StatusBadRequest {
		t.Fatalf("a malformed batch filter: %d", p.status)
	}
}

// A check needs no approval, so under --approval all it needs no reason
// either (the reason is for the approver of a start).
func TestCheckNeedsNoReasonUnderApprovalAll(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "all"}})
	in := h.instance("ci-runner-01")
	p := h.loggedIn("op1").post("instances/"+in.ID+"/check", url.Values{"region": {in.Region}})
	if p.status != http.StatusOK || p.doc.Find("[data-testid=check]").AttrOr("data-would", "") != "true" {
		t.Fatalf("a check under --approval all: %d %q", p.status, p.doc.Find("main").Text())
	}
}

// hiddenValues are a form's hidden fields but its CSRF token (post adds it).
func hiddenValues(f *goquery.Selection) url.Values {
	v := url.Values{}
	f.Find(`input[type=hidden]`).Each(func(_ int, in *goquery.Selection) {
		if n := in.AttrOr("name", ""); n != "_csrf" {
			v.Add(n, in.AttrOr("value", ""))
		}
	})
	return v
}

// Code read, round three: a batch approval approved each request with an
// empty digest (unbound to the parameters shown), and ran them one after
// another inside one request. Each approval is bound to what the page
// showed, and they run several at once.
func TestABatchApprovalIsBoundToTheRequestsShownAndRunsThemAtOnce(t *testing.T) {
	t.Parallel()
	// Each StartInstance call is held until five are in flight together,
	// or for 1.2 s (the harness's ECS timeout is 2 s; the first approval
	// runs alone): run one after another, the approvals never have more
	// than one in flight, however fast or slow the machine; run several at
	// once, they reach five while the first is held.
	const together = 5
	var inFlight, most atomic.Int32
	var reached sync.Once
	met := make(chan struct{})
	watch := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			action := r.Header.Get("x-acs-action")
			if action == "" {
				action = r.URL.Query().Get("Action")
			}
			if action != "StartInstance" {
				next.ServeHTTP(w, r)
				return
			}
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			if n >= together {
				reached.Do(func() { close(met) })
			}
			select {
			case <-met:
			case <-time.After(1200 * time.Millisecond):
			}
			next.ServeHTTP(w, r)
		})
	}
	h := newHarness(t, opts{args: []string{"--approval", "all"}, simWrap: watch})
	var picks []string
	for _, in := range h.fleet.Snapshot().Instances {
		// Not one of the demo's instances that fail on purpose.
		if in.Status == "Stopped" && h.healthy(in) && len(picks) < 16 {
			picks = append(picks, in.Region+"/"+in.ID)
		}
	}
	p := h.loggedIn("op1").post("instances/start", url.Values{"reason": {"nightly"}, "instance": picks})
	batch := strings.TrimPrefix(p.doc.Find("h1").Text(), "Batch start ")
	waiting := p.doc.Find(`tr[data-outcome=awaiting_approval]`).Length()
	if waiting < 10 {
		t.Fatalf("only %d of the batch await approval: %s", waiting, p.doc.Find("main").Text())
	}
	appr := h.loggedIn("appr")
	form := hiddenValues(appr.get("audit?batch=" + batch).doc.Find(`form[data-batch="` + batch + `"]`))
	if len(form["request"]) != waiting {
		t.Fatalf("the batch form names %d requests, %d await", len(form["request"]), waiting)
	}
	if p := appr.post("audit/batches/"+batch+"/approve", nil); p.status != http.StatusBadRequest || h.sim.Calls("StartInstance") != 0 {
		t.Fatalf("a batch approval naming no request: %d, %d starts", p.status, h.sim.Calls("StartInstance"))
	}
	// One request's digest is not the one shown: it is not approved.
	id, _, _ := strings.Cut(form["request"][0], ":")
	form["request"][0] = id + ":000000000000000000000000"
	before := inFlight.Load()
	most.Store(0)
	if p := appr.post("audit/batches/"+batch+"/approve", form); p.status != http.StatusSeeOther {
		t.Fatalf("batch approval: %d", p.status)
	}
	if n := h.sim.Calls("StartInstance"); n != int64(waiting-1) {
		t.Fatalf("%d starts, want %d (all but the one whose parameters differ)", n, waiting-1)
	}
	flash := appr.get("audit?batch=" + batch).doc.Find("[data-testid=flash]").Text()
	if !strings.Contains(flash, fmt.Sprintf("%d of %d started", waiting-1, waiting)) || !strings.Contains(flash, "request "+id+": The request's parameters do not match") {
		t.Fatalf("after the batch approval: %q", flash)
	}
	t.Logf("at most %d StartInstance calls at once during the batch approval (%d before it)", most.Load(), before)
	if most.Load() < together {
		t.Fatalf("at most %d simulator calls at once: the approvals ran one after another", most.Load())
	}
}

// Round three, finding 7: Check (a DryRun StartInstance) ignored
// --start-rate: 300 dry runs in 0.9 s with --start-rate 5. A dry run spends
// StartInstance's API budget, so it is counted against the rate.
func TestChecksCountAgainstTheStartRate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--start-rate", "5"}})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	const checks = 110 // the limiter's burst (a full batch, 100) and more
	refused := 0
	for range checks {
		p := b.post("instances/"+in.ID+"/check", url.Values{"region": {in.Region}})
		if p.status == http.StatusServiceUnavailable && strings.Contains(p.body, "start rate limit") {
			refused++
		}
	}
	sent := h.sim.Calls("StartInstance")
	t.Logf("%d checks with --start-rate 5: %d dry runs reached ECS, %d refused", checks, sent, refused)
	if sent > 101 || int(sent)+refused != checks {
		t.Fatalf("%d checks with --start-rate 5: %d dry runs reached ECS, %d refused", checks, sent, refused)
	}
}
