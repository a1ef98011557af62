package audit_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// replicas opens n pools on one PostgreSQL database, as n dashboard
// processes would, each with its own Log.
func replicas(t *testing.T, n int) ([]*db.DB, []*audit.Log) {
	t.Helper()
	dsn := dbtest.Postgres(t)
	var ds []*db.DB
	var logs []*audit.Log
	for range n {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		ds = append(ds, d)
		logs = append(logs, audit.New(d.Write, d.Read, time.Now))
	}
	return ds, logs
}

// Appends from two replicas at once: seq stays gapless and every hash
// follows its predecessor, whoever wrote it.
func TestTwoReplicasAppendToOneGaplessChain(t *testing.T) {
	t.Parallel()
	ds, logs := replicas(t, 2)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				if _, err := logs[w%2].Append(context.Background(), audit.Event{Action: audit.ActionLogin, User: "u", State: audit.StateSucceeded}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	head, n, err := audit.Verify(context.Background(), ds[0].Read, nil)
	if err != nil || n != 120 || head.Seq != 120 {
		t.Fatalf("after 120 appends from two replicas: n=%d head=%d err=%v", n, head.Seq, err)
	}
}

// Two approvers on two replicas: the decision passes once.
func TestADecisionPassesOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	_, logs := replicas(t, 2)
	ctx := context.Background()
	req, err := logs[0].Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "op", InstanceID: "i-x", State: audit.StateAwaitingApproval})
	if err != nil {
		t.Fatal(err)
	}
	wins := make(chan bool, 12)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := req
			e.Action, e.State, e.Approver = audit.ActionApprove, audit.StateSent, "appr"
			_, err := logs[i%2].AppendIf(ctx, e, audit.StateAwaitingApproval)
			if err != nil && !errors.Is(err, audit.ErrStateChanged) {
				t.Error(err)
			}
			wins <- err == nil
		}()
	}
	wg.Wait()
	if n := passed(wins); n != 1 {
		t.Fatalf("%d approvals passed on two replicas", n)
	}
}

// One open operation per instance holds across replicas: of two starts of
// one instance begun at once on two replicas, one is refused.
func TestOneOpenOperationPerInstanceAcrossReplicas(t *testing.T) {
	t.Parallel()
	_, logs := replicas(t, 2)
	for round := range 10 {
		id := "i-race" + string(rune('a'+round))
		errs := make(chan error, 2)
		var wg sync.WaitGroup
		for r := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := logs[r].Append(context.Background(), audit.Event{Action: audit.ActionStartInstance, User: "op", InstanceID: id, State: audit.StateSent})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		var ok, refused int
		for err := range errs {
			var open *audit.OpenError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &open):
				refused++
			default:
				t.Fatal(err)
			}
		}
		if ok != 1 || refused != 1 {
			t.Fatalf("round %d: %d starts began, %d refused", round, ok, refused)
		}
	}
}

// The database refuses a second decision on one request, even from a caller
// that skips the state check (a plain Append).
func TestTheDatabaseRefusesASecondDecision(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, log := openLog(t, dsn)
		ctx := context.Background()
		req, err := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "op", InstanceID: "i-x", State: audit.StateAwaitingApproval})
		if err != nil {
			t.Fatal(err)
		}
		e := req
		e.Action, e.State, e.Approver = audit.ActionApprove, audit.StateSent, "appr"
		if _, err := log.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		e.Action, e.State = audit.ActionReject, audit.StateRejected
		if _, err := log.Append(ctx, e); err == nil || !db.IsUnique(err) {
			t.Fatalf("a second decision was recorded: %v", err)
		}
		// The connection that took the refusal is whole again: the next
		// appends go through, and the chain verifies.
		for range 20 {
			if _, err := log.Append(ctx, audit.Event{Action: audit.ActionLogin, User: "u", State: audit.StateSucceeded}); err != nil {
				t.Fatalf("an append after the refusal: %v", err)
			}
		}
		if _, n, err := audit.Verify(ctx, d.Read, nil); err != nil || n != 22 {
			t.Fatalf("the refused decision broke the chain: %d entries, %v", n, err)
		}
	})
}

// Code read, round three: the one-round-trip append checked the head by its
// seq only, and took the hash from the replica's cached head. After a
// failover to a standby that lost the last entries, another replica's
// entry takes the lost seq with another hash, and this replica linked its
// next entry to the lost one. The append checks the head's hash too.
func TestAnAppendAfterAFailoverThatLostTheTailLinksToTheNewHead(t *testing.T) {
	t.Parallel()
	ds, logs := replicas(t, 2)
	ctx := context.Background()
	login := audit.Event{Action: audit.ActionLogin, User: "u", State: audit.StateSucceeded}
	for range 3 {
		if _, err := logs[0].Append(ctx, login); err != nil {
			t.Fatal(err)
		}
	}
	// The standby that takes over never got entry 3 (nor its fold).
	if _, err := ds[0].Write.ExecContext(ctx, `SET session_replication_role = replica;
		DELETE FROM audit_ops WHERE op_id = 3; DELETE FROM audit_events WHERE seq = 3;
		SET session_replication_role = origin`); err != nil {
		t.Fatal(err)
	}
	other := login
	other.User = "v"
	if e, err := logs[1].Append(ctx, other); err != nil || e.Seq != 3 {
		t.Fatalf("the other replica's append: seq %d, %v", e.Seq, err)
	}
	if e, err := logs[0].Append(ctx, login); err != nil || e.Seq != 4 {
		t.Fatalf("this replica's append: seq %d, %v", e.Seq, err)
	}
	if head, n, err := audit.Verify(ctx, ds[0].Read, nil); err != nil || n != 4 || head.Seq != 4 {
		t.Fatalf("after the failover: n=%d head=%d err=%v", n, head.Seq, err)
	}
}
