package starts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/starts"
)

var (
	viewer = starts.Actor{User: "vera", Role: "viewer"}
	admin  = starts.Actor{User: "adele", Role: "admin"}
)

func TestMayStartSaysWhyNotInTheOrderOfTheRules(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone)
	past := r.now.Add(-time.Hour)
	stopped := r.ecs.instances[stoppedID]
	locked, expired, running := stopped, stopped, r.ecs.instances[runningID]
	locked.LockReasons = []string{"security"}
	expired.ExpiredTime = past
	held := audit.OpenOp{OpID: 42, InstanceID: stoppedID, State: audit.StateAwaitingApproval}
	for name, c := range map[string]struct {
		a      starts.Actor
		inst   ecs.Instance
		held   audit.OpenOp
		ok     bool
		why    string
		byRole bool
	}{
		"stopped":               {operator, stopped, audit.OpenOp{}, true, "", false},
		"admin":                 {admin, stopped, audit.OpenOp{}, true, "", false},
		"viewer":                {viewer, stopped, audit.OpenOp{}, false, "Your role (viewer) may not start instances", true},
		"approver":              {approver, stopped, audit.OpenOp{}, false, "Your role (approver) may not start", true},
		"held before the role":  {viewer, stopped, held, false, "Awaiting approval (request 42).", false},
		"security lock":         {operator, locked, audit.OpenOp{}, false, "Locked by security control.", false},
		"expired":               {operator, expired, audit.OpenOp{}, false, "Expired on " + past.Format("2006-01-02") + " UTC — renew it first.", false},
		"running":               {operator, running, audit.OpenOp{}, false, "Running.", false},
		"lock before the state": {operator, func() ecs.Instance { i := running; i.LockReasons = []string{"security"}; return i }(), audit.OpenOp{}, false, "Locked by security control.", false},
	} {
		x := r.svc.MayStart(c.a, c.inst, c.held)
		if x.OK != c.ok || !strings.Contains(x.Why, c.why) || x.ByRole != c.byRole || (x.OK != (x.Err() == nil)) {
			t.Errorf("%s: %+v", name, x)
		}
	}
}

func TestMayDecideAndMayWithdrawFollowTheRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyAll)
	ctx := context.Background()
	res, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, Reason: "after maintenance"})
	if err != nil {
		t.Fatal(err)
	}
	op := r.op(t, res.OpID)
	for name, c := range map[string]struct {
		a              starts.Actor
		decide, withdr bool
		kind           apperr.Kind
	}{
		"the requester":    {operator, false, true, apperr.Forbidden},
		"an approver":      {approver, true, false, apperr.Forbidden},
		"an admin":         {admin, true, true, apperr.Forbidden},
		"a viewer":         {viewer, false, false, apperr.Forbidden},
		"another operator": {starts.Actor{User: "otto", Role: "operator"}, false, false, apperr.Forbidden},
	} {
		d, w := r.svc.MayDecide(c.a, op, ecs.Instance{}), r.svc.MayWithdraw(c.a, op)
		if d.OK != c.decide || w.OK != c.withdr {
			t.Errorf("%s: decide %+v, withdraw %+v", name, d, w)
		}
		if !d.OK && apperr.KindOf(d.Err()) != c.kind {
			t.Errorf("%s: decide refused as %v", name, apperr.KindOf(d.Err()))
		}
		if !starts.MayDecideOn(c.a, op.First.User, ecs.Instance{}) != !c.decide {
			t.Errorf("%s: MayDecideOn disagrees with MayDecide", name)
		}
	}
	*r.now = r.now.Add(2 * time.Hour)
	if d := r.svc.MayDecide(admin, op, ecs.Instance{}); d.OK || d.Why != "Expired: not approved in time." || r.svc.State(op) != audit.StateExpired {
		t.Fatalf("past its time: %+v, state %s", d, r.svc.State(op))
	}
	if w := r.svc.MayWithdraw(operator, op); w.OK || apperr.KindOf(w.Err()) != apperr.Conflict || !strings.Contains(w.Why, "it is expired") {
		t.Fatalf("withdrawing past its time: %+v", w)
	}
}

// The withdrawer is recorded, not only named in the reason, so "was it the
// requester's own" is asked of fields.
func TestWithdrawalRecordsWhoWithdrew(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyAll)
	ctx := context.Background()
	mine, _ := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, Reason: "mine"})
	theirs, _ := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true, Confirm: localID, Reason: "theirs"})
	if err := r.svc.Withdraw(ctx, operator, mine.OpID); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Withdraw(ctx, admin, theirs.OpID); err != nil {
		t.Fatal(err)
	}
	own, other := r.op(t, mine.OpID).Last, r.op(t, theirs.OpID).Last
	if own.Approver != operator.User || !starts.OwnWithdrawal(own) {
		t.Fatalf("the requester's withdrawal: %+v", own)
	}
	if other.Approver != admin.User || starts.OwnWithdrawal(other) {
		t.Fatalf("the admin's withdrawal: %+v", other)
	}
	// An entry of an earlier version named the withdrawer in its reason only.
	legacy := audit.Event{Action: audit.ActionWithdraw, User: "olivia", Reason: "withdrawn by olivia"}
	if !starts.OwnWithdrawal(legacy) {
		t.Fatal("an earlier version's own withdrawal is not recognised")
	}
	if legacy.Reason = "withdrawn by adele"; starts.OwnWithdrawal(legacy) {
		t.Fatal("an earlier version's admin withdrawal is taken for the requester's own")
	}
	if starts.OwnWithdrawal(audit.Event{Action: audit.ActionReject, User: "olivia", Approver: "olivia"}) {
		t.Fatal("a rejection is taken for a withdrawal")
	}
}

// The reason limit is one, in characters: a rejection in Chinese fits as
// many characters as a start's reason.
func TestReasonLimitsCountCharacters(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyAll)
	ctx := context.Background()
	long := strings.Repeat("停", starts.MaxReason) // 1500 bytes
	res, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID, Reason: long})
	if err != nil {
		t.Fatalf("a start's reason of %d characters: %v", starts.MaxReason, err)
	}
	if _, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true, Confirm: localID, Reason: long + "停"}); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a start's reason of %d characters: %v", starts.MaxReason+1, err)
	}
	if err := r.svc.Reject(ctx, approver, res.OpID, "", long+"停"); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a rejection of %d characters: %v", starts.MaxReason+1, err)
	}
	if err := r.svc.Reject(ctx, approver, res.OpID, "", "不行"); apperr.KindOf(err) != apperr.Invalid {
		t.Fatalf("a rejection of 2 characters: %v", err)
	}
	if err := r.svc.Reject(ctx, approver, res.OpID, "", long); err != nil {
		t.Fatalf("a rejection of %d characters: %v", starts.MaxReason, err)
	}
}

// A batch refuses a malformed id or an unknown region with the words a
// single start uses.
func TestBatchRefusesShapeAndRegionInTheWordsOfAStart(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone, func(_ *rig, o *starts.Options) { o.Batch = &fakeBatch{} })
	b, err := r.svc.StartBatch(context.Background(), operator, []string{"cn-hangzhou/i-../x", "mars-1/" + stoppedID, "nonsense"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"is not an ECS instance ID", "is not a region this dashboard manages", "Not REGION/INSTANCE-ID."} {
		single := r.svc.Validate(operator, starts.Request{Region: "mars-1", InstanceID: stoppedID})
		if b.Rows[i].Outcome != starts.OutcomeRefused || !strings.Contains(b.Rows[i].Words, want) {
			t.Errorf("row %d: %+v", i, b.Rows[i])
		}
		if i == 1 && apperr.MessageOf(single) != b.Rows[i].Words {
			t.Errorf("the batch says %q, a single start %q", b.Rows[i].Words, apperr.MessageOf(single))
		}
	}
}

// Batch nil means neither batch starts nor checks are offered: they are
// refused in words, not a panic.
func TestWithoutABatchECSChecksAndBatchesAreRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone)
	if _, err := r.svc.Check(context.Background(), operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID}); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("a check: %v", err)
	}
	if _, err := r.svc.StartBatch(context.Background(), operator, []string{"cn-hangzhou/" + stoppedID}, ""); apperr.KindOf(err) != apperr.Unavailable {
		t.Fatalf("a batch: %v", err)
	}
	if r.ecs.starts() != 0 {
		t.Fatal("something was started")
	}
}

// fakeBatch answers as ECS would for the instances it holds: none.
type fakeBatch struct{}

func (fakeBatch) DescribeMany(context.Context, string, []string) (map[string]ecs.Instance, error) {
	return map[string]ecs.Instance{}, nil
}

func (fakeBatch) StartInstances(context.Context, string, []string, ecs.BatchHooks) (string, []ecs.InstanceOutcome, error) {
	return "", nil, &ecs.Error{Kind: ecs.KindNotFound, Code: "InvalidInstanceId.NotFound"}
}

func (fakeBatch) DryRun(context.Context, string, string, bool) (string, error) {
	return "", &ecs.Error{Kind: ecs.KindNotFound, Code: "InvalidInstanceId.NotFound"}
}

// A wipe that waits for an approver needs a reason; a wipe without
// approval, and a plain start, do not.
func TestAWipeForApprovalNeedsAReason(t *testing.T) {
	r := newRig(t, starts.PolicyInitLocalDisk)
	ctx := context.Background()
	_, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID, InitLocalDisk: true, Confirm: localID, Reason: " "})
	if !errors.Is(err, starts.ErrWipeReason) || apperr.KindOf(err) != apperr.Unprocessable {
		t.Fatalf("a wipe for approval without a reason: %v", err)
	}
	if _, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID}); err != nil {
		t.Fatalf("a plain start without a reason: %v", err)
	}
}
