package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/handlers"
	"ecsdash/internal/notify"
)

func TestOneOpenRequestPerInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, op1 := requestInit(t, h, "op1")
	in := h.instance("hadoop-data-01")
	// A plain start of the same instance, by anyone, is refused in words naming the request.
	p := h.loggedIn("op2").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	if p.status != http.StatusConflict || !strings.Contains(p.doc.Find("main").Text(), "Request "+strconv.FormatInt(id, 10)+" by op1") {
		t.Fatalf("a start while request %d waits: %d %q", id, p.status, p.doc.Find("main").Text())
	}
	starts := 0
	for _, op := range h.ops() {
		if op.First.Action == audit.ActionStartInstance {
			starts++
		}
	}
	if h.sim.Calls("StartInstance") != 0 || starts != 1 {
		t.Fatalf("the refused start reached ECS or the log (%d start operations)", starts)
	}
	r := row(op1.get("instances?per_page=100&region=cn-hangzhou"), in.ID)
	if r.Find("form.start-form").Length() != 0 {
		t.Fatal("a held instance offers Start")
	}
	link := r.Find("a[data-held-by]")
	if link.AttrOr("data-held-by", "") != strconv.FormatInt(id, 10) || !strings.Contains(link.Text(), "Awaiting approval (request "+strconv.FormatInt(id, 10)+")") ||
		link.AttrOr("href", "") != "/audit#request-"+strconv.FormatInt(id, 10) {
		t.Fatalf("the row says %q linking %q", link.Text(), link.AttrOr("href", ""))
	}
}

func TestWithdrawal(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, op1 := requestInit(t, h, "op1")
	path := "audit/" + strconv.FormatInt(id, 10) + "/withdraw"
	if p := h.loggedIn("op2").post(path, nil); p.status != http.StatusForbidden {
		t.Fatalf("someone else's withdrawal: %d", p.status)
	}
	if p := h.loggedIn("appr").post(path, nil); p.status != http.StatusForbidden {
		t.Fatalf("an approver's withdrawal: %d", p.status)
	}
	if p := op1.post(path, nil); p.status != http.StatusSeeOther {
		t.Fatalf("the requester's withdrawal: %d", p.status)
	}
	op, _ := h.audit.Operation(t.Context(), id)
	if op.Last.State != audit.StateWithdrawn || op.Last.Action != audit.ActionWithdraw || op.Last.Reason != "withdrawn by op1" {
		t.Fatalf("after withdrawal: %+v", op.Last)
	}
	if p := op1.post(path, nil); p.status != http.StatusConflict {
		t.Fatalf("withdrawing twice: %d", p.status)
	}
	// The instance is free again.
	in := h.instance("hadoop-data-01")
	if r := row(op1.get("instances?per_page=100&region=cn-hangzhou"), in.ID); r.Find("form.start-form").Length() != 1 {
		t.Fatal("the instance is still held after the withdrawal")
	}
	// An admin may withdraw another's request; nobody may withdraw a decided one.
	id2, _ := requestInit(t, h, "op2")
	decide(t, h.loggedIn("appr"), id2, "reject", url.Values{"reason": {"not tonight"}})
	if p := h.loggedIn("adm").post("audit/"+strconv.FormatInt(id2, 10)+"/withdraw", nil); p.status != http.StatusConflict {
		t.Fatalf("withdrawing a rejected request: %d", p.status)
	}
	id3, _ := requestInit(t, h, "op2")
	if p := h.loggedIn("adm").post("audit/"+strconv.FormatInt(id3, 10)+"/withdraw", nil); p.status != http.StatusSeeOther {
		t.Fatalf("an admin's withdrawal: %d", p.status)
	}
}

func TestTheApproverSeesWhatTheDecisionNeeds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("hadoop-data-01")
	op1 := h.loggedIn("op1")
	op1.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "init_local_disk": {"true"}, "confirm": {in.ID},
		"reason": {"disk 3 failed after the power cut"}})
	appr := h.loggedIn("appr")
	p := appr.get("instances")
	if n := p.doc.Find("[data-testid=waiting-count]").Text(); n != "1" {
		t.Fatalf("the approver's navigation counts %q waiting", n)
	}
	if op1.get("instances").doc.Find("[data-testid=waiting-count]").Length() != 0 {
		t.Fatal("the requester is counted their own request")
	}
	p = appr.get("audit")
	r := p.doc.Find(`tr[data-state=awaiting_approval]`)
	text := r.Text()
	for _, want := range []string{in.Name, in.ID, in.Region, in.Family, "wipes all data on the local disks", "op1",
		"disk 3 failed after the power cut", "expires in"} {
		if !strings.Contains(text, want) {
			t.Errorf("the request does not show %q: %s", want, text)
		}
	}
	if r.Find("[data-testid=current-status]").Text() != "Stopped" || r.Find("[data-testid=not-stopped]").Length() != 0 {
		t.Fatalf("status %q", r.Find("[data-testid=current-status]").Text())
	}
	// The wipe is approved after a second look (the page for no JavaScript).
	id := r.AttrOr("data-audit-id", "")
	if f := r.Find(`form[data-approve-wipe]`); f.AttrOr("method", "") != "get" || f.AttrOr("action", "") != "/audit/"+id+"/approve" {
		t.Fatal("the wipe's approve button does not lead to a confirmation")
	}
	c := appr.get("audit/" + id + "/approve")
	if c.status != http.StatusOK || !strings.Contains(c.doc.Find("[data-testid=confirm-approve]").Text(), "wipes ALL data on its local disks") ||
		c.doc.Find(`form[method=post][action="/audit/`+id+`/approve"] input[name=digest]`).Length() != 1 {
		t.Fatalf("confirmation page: %d %q", c.status, c.doc.Find("main").Text())
	}
	if p := op1.get("audit/" + id + "/approve"); p.status != http.StatusForbidden {
		t.Fatalf("the requester's confirmation page: %d", p.status)
	}
	// The instance moves: the request says so before anyone clicks.
	moved := h.instance("hadoop-data-01")
	moved.Status = ecs.StatusRunning
	h.fleet.Update(moved)
	r = appr.get("audit").doc.Find(`tr[data-state=awaiting_approval]`)
	if w := r.Find("[data-testid=not-stopped]").Text(); !strings.Contains(w, "Running, not Stopped") || !strings.Contains(w, "Approving now will fail") {
		t.Fatalf("no warning for a running instance: %q", r.Text())
	}
	// The reason is in the history's Reason column and in the export.
	exp := appr.get("audit/export?format=json")
	if !strings.Contains(exp.body, `"reason":"disk 3 failed after the power cut"`) {
		t.Fatal("the export lacks the request's reason")
	}
}

func TestTheRequesterIsToldEachOutcome(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, op1 := requestInit(t, h, "op1")
	appr := h.loggedIn("appr")
	if p := appr.post("audit/"+strconv.FormatInt(id, 10)+"/approve", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", p.status)
	}
	flashes := op1.get("instances").doc.Find("[data-testid=flash]").Text()
	if !strings.Contains(flashes, "Your request "+strconv.FormatInt(id, 10)) || !strings.Contains(flashes, "approved by appr and started") {
		t.Fatalf("the requester was told %q", flashes)
	}
	if again := op1.get("instances").doc.Find("[data-testid=flash]").Text(); strings.Contains(again, "Your request") {
		t.Fatal("the outcome was told twice")
	}
	// A rejection comes with its reason.
	in := h.instance("kafka-broker-01")
	op1.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "init_local_disk": {"true"}, "confirm": {in.ID}, "reason": {"broker disks corrupt"}})
	id2 := h.ops()[0].ID()
	decide(t, appr, id2, "reject", url.Values{"reason": {"use the replica instead"}})
	if f := op1.get("audit").doc.Find("[data-testid=flash]").Text(); !strings.Contains(f, "rejected by appr: use the replica instead") {
		t.Fatalf("the rejection was told as %q", f)
	}
}

func TestTheAuditPageHidesSignInsUnlessAsked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	requestInit(t, h, "op1")
	b := h.loggedIn("appr")
	// (The rows say the action in words; data-action carries its name.)
	logins := func(p page) bool { return p.doc.Find(`#history-h ~ * tr[data-action="login"]`).Length() > 0 }
	if p := b.get("audit"); logins(p) {
		t.Fatal("sign-ins are listed by default")
	}
	if p := b.get("audit?action=login"); !logins(p) {
		t.Fatal("sign-ins are not listed when asked for")
	}
	if p := b.get("audit?action=all"); !logins(p) ||
		!strings.Contains(p.doc.Find("#history-h").Parent().Text(), "Awaiting approval") {
		t.Fatal("action=all does not list everything")
	}
}

// hookReceiver collects the webhook's deliveries.
type hookReceiver struct {
	mu   sync.Mutex
	msgs []notify.Message
	sigs []string
	raw  [][]byte
}

func (r *hookReceiver) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Event)
	}
	return out
}

func (r *hookReceiver) waitFor(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(r.events()) >= n {
			return
		}
	}
	t.Fatalf("only %v arrived, want %d events", r.events(), n)
}

func TestEveryApprovalEventIsNotified(t *testing.T) {
	t.Parallel()
	rec := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m notify.Message
		json.Unmarshal(b, &m)
		rec.mu.Lock()
		sig := r.Header.Get("X-ECS-Dashboard-Signature") + "|" + r.Header.Get("X-ECS-Dashboard-Timestamp")
		rec.msgs, rec.sigs, rec.raw = append(rec.msgs, m), append(rec.sigs, sig), append(rec.raw, b)
		rec.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	secretFile := filepath.Join(t.TempDir(), "notify-secret")
	os.WriteFile(secretFile, []byte("hook-secret\n"), 0o600)
	h := newHarness(t, opts{args: []string{"--notify-url", srv.URL + "/hook", "--notify-secret-file", secretFile,
		"--base-url", "http://dash.example/ecs/"}})
	id, op1 := requestInit(t, h, "op1")
	rec.waitFor(t, 1)
	appr := h.loggedIn("appr")
	appr.post("audit/"+strconv.FormatInt(id, 10)+"/approve", url.Values{})
	rec.waitFor(t, 3)
	id2, _ := requestInitOf(t, h, "op1", "hadoop-data-02")
	decide(t, appr, id2, "reject", url.Values{"reason": {"not now"}})
	rec.waitFor(t, 5)
	id3, _ := requestInitOf(t, h, "op1", "kafka-broker-01")
	op1.post("audit/"+strconv.FormatInt(id3, 10)+"/withdraw", nil)
	rec.waitFor(t, 7)
	requestInitOf(t, h, "op1", "redis-cache-01")
	h.advance(25 * time.Hour)
	if err := handlers.ExpireDue(h.srvr, t.Context()); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 9)
	got := strings.Join(rec.events(), " ")
	want := "awaiting_approval approved succeeded awaiting_approval rejected awaiting_approval withdrawn awaiting_approval expired"
	if got != want {
		t.Fatalf("events\n got %s\nwant %s", got, want)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, m := range rec.msgs {
		sig, ts, _ := strings.Cut(rec.sigs[i], "|")
		if want := "t=" + ts + ",sha256=" + notify.SignEvent([]byte("hook-secret"), ts, m.EventID, rec.raw[i]); sig != want {
			t.Fatalf("%s: signature %q, want %q", m.Event, rec.sigs[i], want)
		}
		if m.InstanceName == "" || !m.InitLocalDisk || m.Requester != "op1" ||
			m.URL != "http://dash.example/ecs/audit#request-"+strconv.FormatInt(m.OperationID, 10) {
			t.Fatalf("%s: %+v", m.Event, m)
		}
	}
	if s := rec.msgs[2]; s.Approver != "appr" || s.RequestID == "" {
		t.Fatalf("succeeded: %+v", s)
	}
	if r := rec.msgs[4]; r.Reason != "not now" || r.Approver != "appr" {
		t.Fatalf("rejected: %+v", r)
	}
}
