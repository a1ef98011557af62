package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// waitLeaseEnded waits, by the database's clock, for owner's lease to end.
func waitLeaseEnded(t *testing.T, l *audit.Log, owner string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		ended, err := l.LeaseEnded(context.Background(), owner)
		if err != nil {
			t.Fatal(err)
		}
		if ended {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the lease of %s never ended", owner)
}

// A paused replica (its lease ran out; the other rescued its call) writes
// nothing more for that call on resuming; and while the owner's lease runs,
// no rescue goes in, whatever the rescuer thought. One outcome per call.
func TestAnOutcomeIsFencedByTheLeaseOfItsCall(t *testing.T) {
	t.Parallel()
	_, logs := replicas(t, 2)
	a, b := logs[0], logs[1]
	a.SetReplica("replica-a")
	b.SetReplica("replica-b")
	ctx := context.Background()
	if err := a.Claim(ctx, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := b.Claim(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	intent := func() audit.Event {
		ev, err := a.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "u", Region: "cn-hangzhou",
			InstanceID: "i-fence" + time.Now().Format("150405.000000")[7:], State: audit.StateSent, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	outcome := func(ev audit.Event, state string) audit.Event {
		ev.State, ev.Action = state, audit.ActionStartInstance
		return ev
	}

	// While A's lease runs, B's rescue is refused inside the append.
	live := intent()
	if _, err := b.AppendFenced(ctx, outcome(live, audit.StateUnknown), audit.StateSent, audit.Fence{Epoch: b.Epoch(), Ended: "replica-a"}); !errors.Is(err, audit.ErrFenced) {
		t.Fatalf("a rescue while the owner's lease runs: %v", err)
	}
	if _, err := a.AppendFenced(ctx, outcome(live, audit.StateSucceeded), audit.StateSent, audit.Fence{Epoch: a.Epoch()}); err != nil {
		t.Fatalf("the owner's outcome in its lease: %v", err)
	}

	// A pauses past its lease; B rescues; A resumes and is fenced.
	paused := intent()
	epoch := a.Epoch()
	waitLeaseEnded(t, b, "replica-a")
	if _, err := b.AppendFenced(ctx, outcome(paused, audit.StateUnknown), audit.StateSent, audit.Fence{Epoch: b.Epoch(), Ended: "replica-a"}); err != nil {
		t.Fatalf("the rescue after the lease ended: %v", err)
	}
	if _, err := a.AppendFenced(ctx, outcome(paused, audit.StateSucceeded), audit.StateSent, audit.Fence{Epoch: epoch}); !errors.Is(err, audit.ErrFenced) && !errors.Is(err, audit.ErrStateChanged) {
		t.Fatalf("the paused replica's outcome after its lease ended: %v", err)
	}
	// Its heartbeat says so, and it takes a new lease; the old epoch's
	// calls stay fenced.
	if err := a.Beat(ctx, time.Minute); !errors.Is(err, audit.ErrLeaseLost) {
		t.Fatalf("a late heartbeat: %v", err)
	}
	if err := a.Claim(ctx, time.Minute); err != nil || a.Epoch() != epoch+1 {
		t.Fatalf("a new lease: epoch %d, %v", a.Epoch(), err)
	}
	late := intent()
	if _, err := a.AppendFenced(ctx, outcome(late, audit.StateSucceeded), audit.StateSent, audit.Fence{Epoch: epoch}); !errors.Is(err, audit.ErrFenced) {
		t.Fatalf("an outcome under the old epoch: %v", err)
	}
	op, err := a.Operation(ctx, paused.OpID)
	if err != nil {
		t.Fatal(err)
	}
	if len(op.Events) != 2 || op.Last.Replica != "replica-b" {
		t.Fatalf("the paused call has %d entries, the last by %s", len(op.Events), op.Last.Replica)
	}
}

// A second process with a --replica-id whose lease is live is refused, in
// words; after a clean release the id may be taken at once.
func TestASecondReplicaWithALiveIDIsRefused(t *testing.T) {
	t.Parallel()
	_, logs := replicas(t, 2)
	first, second := logs[0], logs[1]
	first.SetReplica("replica-a")
	second.SetReplica("replica-a")
	ctx := context.Background()
	if err := first.Claim(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	err := second.Claim(ctx, time.Minute)
	var held *audit.LeaseHeldError
	if !errors.As(err, &held) || !strings.Contains(err.Error(), "--replica-id") {
		t.Fatalf("a second replica-a: %v", err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.Claim(ctx, time.Minute); err != nil {
		t.Fatalf("after the first released its lease: %v", err)
	}
}

// Leases are on the database's clock: a replica whose host clock is an
// hour ahead neither ends another's live lease nor keeps its own.
func TestLeasesIgnoreTheHostsClock(t *testing.T) {
	t.Parallel()
	d, err := dbOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	ahead := audit.New(d.Write, d.Read, func() time.Time { return time.Now().Add(time.Hour) })
	behind := audit.New(d.Write, d.Read, func() time.Time { return time.Now().Add(-time.Hour) })
	ahead.SetReplica("ahead")
	behind.SetReplica("behind")
	ctx := context.Background()
	if err := behind.Claim(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ended, err := ahead.LeaseEnded(ctx, "behind"); err != nil || ended {
		t.Fatalf("an hour-ahead clock ended a live lease: %v %v", ended, err)
	}
	if err := behind.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ended, err := ahead.LeaseEnded(ctx, "behind"); err != nil || !ended {
		t.Fatalf("a released lease still runs: %v %v", ended, err)
	}
}

func dbOpen(t *testing.T) (*db.DB, error) {
	t.Helper()
	d, err := db.Open(context.Background(), dbtest.Postgres(t))
	if err == nil {
		t.Cleanup(func() { d.Close() })
	}
	return d, err
}
