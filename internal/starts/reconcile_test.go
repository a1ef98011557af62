package starts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/starts"
)

// newLateRig is a rig (with batches) whose ECS gets each start but answers
// none in time: every start's outcome is unknown.
func newLateRig(t *testing.T) *rig {
	t.Helper()
	r := newRig(t, starts.PolicyNone, withBatch)
	r.ecs.late = true
	return r
}

// lateStart is a start of the stopped instance on a newLateRig: ECS has it,
// the dashboard has no answer.
func lateStart(t *testing.T) (*rig, starts.Result) {
	t.Helper()
	r := newLateRig(t)
	res, err := r.svc.Request(context.Background(), operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID})
	if err != nil || res.ECSError == nil {
		t.Fatalf("%+v %v", res, err)
	}
	return r, res
}

// A start ECS acts on after the dashboard gave up: the unknown outcome does
// not state the Stopped status read right after the call as fact, and a
// follow-up entry says what was seen later, and when: Running once it is,
// or still Stopped long after the call.
func TestAnUnknownOutcomeIsReconciledWhenTheTruthIsVisible(t *testing.T) {
	t.Parallel()
	r, res := lateStart(t)
	ctx := context.Background()
	unknown := r.op(t, res.OpID).Last
	if unknown.State != audit.StateUnknown || strings.Contains(unknown.ErrorMessage, "the instance was Stopped.") ||
		!strings.Contains(unknown.ErrorMessage, "ECS may not have acted") {
		t.Fatalf("the unknown outcome: %s: %q", unknown.State, unknown.ErrorMessage)
	}
	// Still Stopped soon after: no answer yet, no entry.
	*r.now = r.now.Add(30 * time.Second)
	if n, err := r.svc.Reconcile(ctx); err != nil || n != 0 {
		t.Fatalf("reconciled %d while the status says nothing yet (%v)", n, err)
	}
	// ECS acted late: Running.
	r.ecs.set(stoppedID, ecs.StatusRunning)
	if n, err := r.svc.Reconcile(ctx); err != nil || n != 1 {
		t.Fatalf("reconciled %d once Running (%v)", n, err)
	}
	last := r.op(t, res.OpID).Last
	if last.Action != audit.ActionReconcile || last.State != audit.StateUnknown ||
		!strings.Contains(last.ErrorMessage, "Seen Running at 2026-11-27 09:00:30 UTC, 30s after the call") {
		t.Fatalf("the follow-up: %s %s %q", last.Action, last.State, last.ErrorMessage)
	}
	if n, _ := r.svc.Reconcile(ctx); n != 0 {
		t.Fatalf("reconciled again: %d", n)
	}

	// A start that never took effect: still Stopped long after the call.
	res2, _ := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID})
	*r.now = r.now.Add(starts.Settle)
	if n, err := r.svc.Reconcile(ctx); err != nil || n != 1 {
		t.Fatalf("reconciled %d long after (%v)", n, err)
	}
	if last := r.op(t, res2.OpID).Last; !strings.Contains(last.ErrorMessage, "Still Stopped at") {
		t.Fatalf("the follow-up: %q", last.ErrorMessage)
	}
}

// A batch whose every start got no answer: the results page looks the
// instances up in one call, not one lookup per row in series.
func TestABatchOfUnknownOutcomesLooksUpOnceNotPerRow(t *testing.T) {
	t.Parallel()
	r := newLateRig(t)
	var refs []string
	for i := range 10 {
		id := "i-batchrow" + string(rune('a'+i)) + "01"
		r.ecs.instances[id] = ecs.Instance{ID: id, Name: id, Region: "cn-hangzhou", Family: "ecs.g7", Status: ecs.StatusStopped}
		refs = append(refs, "cn-hangzhou/"+id)
	}
	b, err := r.svc.StartBatch(context.Background(), operator, refs, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range b.Rows {
		if row.Outcome != starts.OutcomeUnknown || !strings.Contains(row.Words, "ECS may not have acted") {
			t.Fatalf("row %s: %s %q", row.Ref.ID, row.Outcome, row.Words)
		}
	}
	r.ecs.mu.Lock()
	defer r.ecs.mu.Unlock()
	// One lookup before sending, one for the ten unknown rows (the fake's
	// DescribeMany counts one Describe per instance): no lookup per row.
	if r.ecs.lookups != 2 || r.ecs.describes != 20 {
		t.Fatalf("%d DescribeMany calls and %d instances described for a batch of 10", r.ecs.lookups, r.ecs.describes)
	}
}
