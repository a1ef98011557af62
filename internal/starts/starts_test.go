package starts_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/starts"
)

func TestApprovalPolicy(t *testing.T) {
	t.Parallel()
	for policy, want := range map[starts.Policy][2]bool{ // {plain start, InitLocalDisk}
		starts.PolicyNone:          {false, false},
		starts.PolicyInitLocalDisk: {false, true},
		starts.PolicyAll:           {true, true},
	} {
		if policy.NeedsApproval(false) != want[0] || policy.NeedsApproval(true) != want[1] {
			t.Errorf("%s: plain=%v init=%v", policy, policy.NeedsApproval(false), policy.NeedsApproval(true))
		}
		if p, err := starts.ParsePolicy(string(policy)); err != nil || p != policy {
			t.Errorf("ParsePolicy(%s) = %s, %v", policy, p, err)
		}
	}
	if _, err := starts.ParsePolicy("sometimes"); err == nil {
		t.Error("an unknown policy was accepted")
	}
}

func TestDigestChangesWithEveryParameter(t *testing.T) {
	t.Parallel()
	base := audit.Event{OpID: 7, Region: "cn-hangzhou", InstanceID: "i-abcdefgh12", InitLocalDisk: true, User: "op1"}
	d := starts.Digest(base)
	for name, mod := range map[string]func(*audit.Event){
		"op":     func(e *audit.Event) { e.OpID = 8 },
		"region": func(e *audit.Event) { e.Region = "cn-shanghai" },
		"id":     func(e *audit.Event) { e.InstanceID = "i-abcdefgh13" },
		"init":   func(e *audit.Event) { e.InitLocalDisk = false },
		"dryrun": func(e *audit.Event) { e.DryRun = true },
		"user":   func(e *audit.Event) { e.User = "op2" },
	} {
		e := base
		mod(&e)
		if starts.Digest(e) == d {
			t.Errorf("changing %s keeps the digest", name)
		}
	}
}

// fakeECS is as strict as ECS about what the service relies on: only
// configured regions, unknown ids are not found, and a start of an instance
// that is not Stopped is refused with IncorrectInstanceStatus.
type fakeECS struct {
	mu        sync.Mutex
	instances map[string]ecs.Instance // by id
	started   []string
	describes int
	down      bool // every call fails as if ECS were unreachable
	// onCall, when set, runs while a start is at ECS (after its intent,
	// before its answer).
	onCall func()
	// late: StartInstance gets no answer in time (an unknown outcome) and
	// changes nothing yet, as when ECS acts after the dashboard gave up.
	late bool
	// refused: every lookup gets no answer (the connection is refused).
	refused bool
	lookups int // DescribeMany calls
}

func (f *fakeECS) HasRegion(r string) bool { return r == "cn-hangzhou" || r == "cn-shanghai" }

func (f *fakeECS) Describe(_ context.Context, region, id string) (ecs.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describes++
	if f.down {
		return ecs.Instance{}, &ecs.Error{Kind: ecs.KindUnavailable, Code: "ServiceUnavailable", Summary: "down"}
	}
	if f.refused {
		return ecs.Instance{}, &ecs.Error{Kind: ecs.KindUnknownOutcome, Code: ecs.CodeUnknownOutcome,
			Summary: "No answer came from ECS (timeout or network failure), so whether the call took effect is unknown."}
	}
	in, ok := f.instances[id]
	if !ok || in.Region != region {
		return ecs.Instance{}, &ecs.Error{Kind: ecs.KindNotFound, Code: "InvalidInstanceId.NotFound", Summary: "not found"}
	}
	return in, nil
}

func (f *fakeECS) StartInstance(_ context.Context, region, id string, _ bool, h ecs.Hooks) (string, error) {
	if h.Before != nil {
		if err := h.Before(1); err != nil {
			return "", &ecs.Error{Kind: ecs.KindInternal, Code: ecs.CodeAuditFailed, Err: err}
		}
	}
	if f.onCall != nil {
		f.onCall()
	}
	f.mu.Lock()
	in, ok := f.instances[id]
	var e *ecs.Error
	switch {
	case f.late:
		e = &ecs.Error{Kind: ecs.KindUnknownOutcome, Code: ecs.CodeUnknownOutcome, Summary: "No answer came from ECS (timeout or network failure), so whether the call took effect is unknown."}
	case !ok || in.Region != region:
		e = &ecs.Error{Kind: ecs.KindNotFound, Code: "InvalidInstanceId.NotFound", RequestID: "RID-404"}
	case in.Status != ecs.StatusStopped:
		e = &ecs.Error{Kind: ecs.KindPrecondition, Code: "IncorrectInstanceStatus", HTTPStatus: 403, RequestID: "RID-403"}
	default:
		in.Status = ecs.StatusStarting
		f.instances[id] = in
		f.started = append(f.started, id)
	}
	f.mu.Unlock()
	a := ecs.Attempt{N: 1, Err: e, RequestID: "RID-OK"}
	if e != nil {
		a.RequestID = e.RequestID
	}
	if h.After != nil {
		h.After(a)
	}
	if e != nil {
		return "", e
	}
	return "RID-OK", nil
}

// DescribeMany, StartInstances and DryRun make it a BatchECS; only
// DescribeMany is used by these tests.
func (f *fakeECS) DescribeMany(ctx context.Context, region string, ids []string) (map[string]ecs.Instance, error) {
	f.mu.Lock()
	f.lookups++
	f.mu.Unlock()
	out := map[string]ecs.Instance{}
	for _, id := range ids {
		if in, err := f.Describe(ctx, region, id); err == nil {
			out[id] = in
		} else if f.down {
			return nil, err
		}
	}
	return out, nil
}

// StartInstances answers nothing in time (late must be set): an unknown
// outcome for every instance.
func (f *fakeECS) StartInstances(_ context.Context, _ string, ids []string, h ecs.BatchHooks) (string, []ecs.InstanceOutcome, error) {
	if !f.late {
		return "", nil, errors.New("fakeECS: only late batch starts")
	}
	if err := h.Before(1); err != nil {
		return "", nil, &ecs.Error{Kind: ecs.KindInternal, Code: ecs.CodeAuditFailed, Err: err}
	}
	e := &ecs.Error{Kind: ecs.KindUnknownOutcome, Code: ecs.CodeUnknownOutcome, Summary: "No answer came from ECS (timeout or network failure), so whether the call took effect is unknown."}
	h.After(1, "", nil, e)
	return "", nil, e
}

func (f *fakeECS) DryRun(context.Context, string, string, bool) (string, error) {
	return "", errors.New("fakeECS: no dry runs")
}

func (f *fakeECS) set(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.instances[id]
	in.Status = status
	f.instances[id] = in
}

func (f *fakeECS) starts() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.started) }

// fakeFleet remembers what it was told.
type fakeFleet struct {
	mu   sync.Mutex
	seen map[string]ecs.Instance
}

func (f *fakeFleet) Lookup(region, id string) (ecs.Instance, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in, ok := f.seen[region+"/"+id]
	return in, ok
}

func (f *fakeFleet) Update(in ecs.Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen[in.Region+"/"+in.ID] = in
}

type rig struct {
	svc   *starts.Service
	ecs   *fakeECS
	fleet *fakeFleet
	log   *audit.Log
	now   *time.Time
}

const (
	stoppedID = "i-stopped0001"
	localID   = "i-localdisk01"
	runningID = "i-running0001"
)

func newRig(t *testing.T, policy starts.Policy, with ...func(*rig, *starts.Options)) *rig {
	t.Helper()
	return newRigOn(t, policy, filepath.Join(t.TempDir(), "starts.db"), with...)
}

// withBatch gives the service the fake ECS's batch calls.
func withBatch(r *rig, o *starts.Options) { o.Batch = r.ecs }

// newRigOn is a rig on the store dsn names; with changes the service's
// options.
func newRigOn(t *testing.T, policy starts.Policy, dsn string, with ...func(*rig, *starts.Options)) *rig {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	r := &rig{now: &now, fleet: &fakeFleet{seen: map[string]ecs.Instance{}}, ecs: &fakeECS{instances: map[string]ecs.Instance{
		stoppedID: {ID: stoppedID, Name: "web", Region: "cn-hangzhou", Family: "ecs.g7", Status: ecs.StatusStopped},
		localID:   {ID: localID, Name: "hadoop", Region: "cn-hangzhou", Family: "ecs.i2", Status: ecs.StatusStopped},
		runningID: {ID: runningID, Name: "api", Region: "cn-hangzhou", Family: "ecs.g7", Status: ecs.StatusRunning},
	}}}
	clock := func() time.Time { return *r.now }
	r.log = audit.New(d.Write, d.Read, clock)
	o := starts.Options{ECS: r.ecs, Fleet: r.fleet, Log: r.log, Families: ecs.Families{"ecs.d1", "ecs.i1", "ecs.i2"},
		Approval: policy, TTL: time.Hour, Now: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, w := range with {
		w(r, &o)
	}
	r.svc = starts.New(o)
	return r
}

var (
	operator = starts.Actor{User: "olivia", Role: "operator"}
	approver = starts.Actor{User: "arthur", Role: "approver"}
)

func (r *rig) op(t *testing.T, id int64) audit.Op {
	t.Helper()
	op, err := r.log.Operation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// danglingIntent records an intent with no outcome after it, as when the
// process stopped during the call: olivia's start of the running instance.
func (r *rig) danglingIntent(t *testing.T) audit.Event {
	t.Helper()
	intent, err := r.log.Append(context.Background(), audit.Event{Action: audit.ActionStartInstance, User: "olivia", Region: "cn-hangzhou",
		InstanceID: runningID, State: audit.StateSent, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	return intent
}

func TestValidateRefusesBeforeAskingECS(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone)
	r.fleet.Update(r.ecs.instances[stoppedID])
	for name, c := range map[string]struct {
		a    starts.Actor
		req  starts.Request
		kind apperr.Kind
	}{
		"malformed id":     {operator, starts.Request{Region: "cn-hangzhou", InstanceID: "i-../x"}, apperr.Invalid},
		"unknown region":   {operator, starts.Request{Region: "mars-1", InstanceID: stoppedID}, apperr.Invalid},
		"not a local disk": {operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, InitLocalDisk: true, Confirm: stoppedID}, apperr.Unprocessable},
		"viewer":           {starts.Actor{User: "vera", Role: "viewer"}, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID}, apperr.Forbidden},
		"no confirmation":  {operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true}, apperr.Unprocessable},
		"wrong confirm":    {operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true, Confirm: "i-other00001"}, apperr.Unprocessable},
	} {
		_, err := r.svc.Request(context.Background(), c.a, c.req)
		if apperr.KindOf(err) != c.kind {
			t.Errorf("%s: %v (kind %s), want %s", name, err, apperr.KindOf(err), c.kind)
		}
		if (name == "no confirmation" || name == "wrong confirm") != errors.Is(err, starts.ErrConfirm) {
			t.Errorf("%s: ErrConfirm is %v", name, errors.Is(err, starts.ErrConfirm))
		}
	}
	if r.ecs.starts() != 0 || r.ecs.describes != 0 {
		t.Fatalf("a refused request reached ECS: %d starts, %d lookups", r.ecs.starts(), r.ecs.describes)
	}
}

func TestRequestRefusesAnInstanceThatIsNotStoppedWithoutSending(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone)
	_, err := r.svc.Request(context.Background(), operator, starts.Request{Region: "cn-hangzhou", InstanceID: runningID})
	if apperr.KindOf(err) != apperr.Conflict || r.ecs.starts() != 0 {
		t.Fatalf("err %v, %d starts", err, r.ecs.starts())
	}
}

func TestApproveStartsOnceAndRecordsTheApprover(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyInitLocalDisk)
	ctx := context.Background()
	res, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true, Confirm: localID, Reason: "scratch disks"})
	if err != nil || !res.Awaiting || r.ecs.starts() != 0 {
		t.Fatalf("request: %+v %v, %d starts", res, err, r.ecs.starts())
	}
	if _, err := r.svc.Approve(ctx, operator, res.OpID, ""); apperr.KindOf(err) != apperr.Forbidden {
		t.Fatalf("the requester approved their own request: %v", err)
	}
	got, err := r.svc.Approve(ctx, approver, res.OpID, "")
	if err != nil || got.RequestID != "RID-OK" || r.ecs.starts() != 1 {
		t.Fatalf("approve: %+v %v, %d starts", got, err, r.ecs.starts())
	}
	if _, err := r.svc.Approve(ctx, starts.Actor{User: "adele", Role: "admin"}, res.OpID, ""); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("a second approval: %v", err)
	}
	op := r.op(t, res.OpID)
	if op.Last.State != audit.StateSucceeded || op.Last.Approver != "arthur" || r.ecs.starts() != 1 {
		t.Fatalf("last event %+v, %d starts", op.Last, r.ecs.starts())
	}
	if seen, _ := r.fleet.Lookup("cn-hangzhou", localID); seen.Status != ecs.StatusStarting {
		t.Fatalf("the fleet was not told: %+v", seen)
	}
}

func TestRejectRecordsTheReasonAndSendsNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyAll)
	ctx := context.Background()
	res, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, Reason: "after maintenance"})
	if err != nil || !res.Awaiting {
		t.Fatal(res, err)
	}
	if err := r.svc.Reject(ctx, approver, res.OpID, "", "no"); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a reason of 2 characters: %v", err)
	}
	if err := r.svc.Reject(ctx, approver, res.OpID, "", "not during the freeze"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Approve(ctx, approver, res.OpID, ""); apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("approved after a rejection: %v", err)
	}
	op := r.op(t, res.OpID)
	if op.Last.State != audit.StateRejected || op.Last.Reason != "not during the freeze" || r.ecs.starts() != 0 {
		t.Fatalf("%+v, %d starts", op.Last, r.ecs.starts())
	}
}

func TestExpireDueClosesOnlyRequestsPastTheirTime(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyAll)
	ctx := context.Background()
	old, _ := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, Reason: "old"})
	*r.now = r.now.Add(50 * time.Minute)
	young, _ := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true, Confirm: localID, Reason: "young"})
	*r.now = r.now.Add(20 * time.Minute) // old is 70 minutes, young 20, the TTL an hour
	if err := r.svc.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if s := r.op(t, old.OpID).Last.State; s != audit.StateExpired {
		t.Fatalf("old request is %s", s)
	}
	if s := r.op(t, young.OpID).Last.State; s != audit.StateAwaitingApproval {
		t.Fatalf("young request is %s", s)
	}
	if _, err := r.svc.Approve(ctx, approver, old.OpID, ""); apperr.KindOf(err) != apperr.Conflict || r.ecs.starts() != 0 {
		t.Fatalf("approving an expired request: %v", err)
	}
}

func TestApprovalWhileECSIsDownDecidesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyAll)
	ctx := context.Background()
	res, _ := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, Reason: "r"})
	r.ecs.down = true
	if _, err := r.svc.Approve(ctx, approver, res.OpID, ""); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("approve with ECS down: %v", err)
	}
	if s := r.op(t, res.OpID).Last.State; s != audit.StateAwaitingApproval {
		t.Fatalf("the request is %s, want still awaiting", s)
	}
}

func TestRecoverDanglingMarksLostOutcomesUnknownWithTheStatus(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone)
	ctx := context.Background()
	intent := r.danglingIntent(t)
	n, err := r.svc.RecoverDangling(ctx, true)
	if err != nil || n != 1 {
		t.Fatalf("recovered %d: %v", n, err)
	}
	last := r.op(t, intent.OpID).Last
	if last.State != audit.StateUnknown || last.Action != audit.ActionRecover || last.ErrorMessage == "" ||
		!strings.Contains(last.ErrorMessage, "Running") {
		t.Fatalf("%+v", last)
	}
	if n, _ := r.svc.RecoverDangling(ctx, true); n != 0 {
		t.Fatalf("recovered again: %d", n)
	}
}

// ECS refuses the connection during the pre-start check: the refusal says
// that nothing was sent, not that a call's effect is unknown.
func TestAPreStartCheckWithoutAnAnswerSaysNothingWasSent(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone)
	r.ecs.refused = true
	_, err := r.svc.Request(context.Background(), operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID})
	msg := apperr.MessageOf(err)
	if apperr.KindOf(err) != apperr.Unavailable || strings.Contains(msg, "took effect is unknown") || !strings.Contains(msg, "Nothing was sent") {
		t.Fatalf("%s: %q", apperr.KindOf(err), msg)
	}
	if r.ecs.starts() != 0 {
		t.Fatal("a start was sent")
	}
}

// A Service is what its options were when it was made: changing the
// caller's copy of them afterwards (the local-disk families here) changes
// nothing it answers.
func TestAServiceDoesNotChangeAfterItIsMade(t *testing.T) {
	t.Parallel()
	var fams ecs.Families
	r := newRig(t, starts.PolicyNone, func(_ *rig, o *starts.Options) { fams = o.Families })
	r.fleet.Update(r.ecs.instances[localID])
	wipe := starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true, Confirm: localID}
	if err := r.svc.Validate(operator, wipe); err != nil {
		t.Fatalf("a local-disk start refused: %v", err)
	}
	for i := range fams {
		fams[i] = "ecs.none"
	}
	if err := r.svc.Validate(operator, wipe); err != nil {
		t.Fatalf("changing the options after New changed the service: %v", err)
	}
	if got := r.svc.Families(); !got.Contains("ecs.i2") || r.svc.TTL() != time.Hour || r.svc.Approval() != starts.PolicyNone {
		t.Fatalf("the service's own options: %v %v %v", got, r.svc.TTL(), r.svc.Approval())
	}
}

// An entry the dashboard writes itself (an expiry here; a reconcile and a
// lost outcome recorded as unknown go through the same place) names the
// operation's requester as its user, but no session: no sign-in method, API
// token, address or browser, for nobody acted when it was written.
func TestTheDashboardsOwnEntriesCarryNoSessionOfTheRequester(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyAll)
	ctx := context.Background()
	bot := starts.Actor{User: "olivia", Role: "operator", AuthMethod: "token", Token: "tok-1", SourceIP: "192.0.2.7", UserAgent: "ci/1"}
	res, err := r.svc.Request(ctx, bot, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, Reason: "nightly"})
	if err != nil || !res.Awaiting {
		t.Fatal(res, err)
	}
	if first := r.op(t, res.OpID).Last; first.Token != "tok-1" || first.AuthMethod != "token" {
		t.Fatalf("the request itself: %+v", first)
	}
	*r.now = r.now.Add(2 * time.Hour)
	if err := r.svc.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	ev := r.op(t, res.OpID).Last
	if ev.State != audit.StateExpired || ev.User != "olivia" || ev.AuthMethod != "" || ev.Token != "" || ev.SourceIP != "" || ev.UserAgent != "" || ev.Approver != "" {
		t.Fatalf("the expiry entry: user %q auth %q token %q ip %q ua %q approver %q", ev.User, ev.AuthMethod, ev.Token, ev.SourceIP, ev.UserAgent, ev.Approver)
	}
}
