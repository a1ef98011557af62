package starts_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/starts"
)

// refuseWrites makes the store refuse writes until the returned function
// is called: on SQLite another connection holds an exclusive lock (longer
// than the writer's busy timeout); on PostgreSQL the test's database
// refuses connections and its open ones are ended.
func refuseWrites(t *testing.T, dsn string) (restore func()) {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres") {
		return dbtest.Cut(t, dsn)
	}
	other, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			conn.ExecContext(context.Background(), "ROLLBACK")
			conn.Close()
			other.Close()
		})
	}
	t.Cleanup(restore)
	return restore
}

// ECS accepts a start while the database refuses writes: the outcome is
// kept, nothing more is sent meanwhile, and once the database takes writes
// again the outcome is written with ECS's RequestId and the instance is
// free again.
func TestAnOutcomeTheDatabaseRefusedIsKeptAndWrittenWhenItRecovers(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		r := newRigOn(t, starts.PolicyNone, dsn)
		ctx := context.Background()
		var restore func()
		r.ecs.onCall = func() { restore = refuseWrites(t, dsn) }
		res, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID})
		r.ecs.onCall = nil
		if err != nil || res.RequestID != "RID-OK" || !res.Pending {
			t.Fatalf("the start ECS accepted: %+v %v", res, err)
		}
		if n := r.svc.Pending(); n != 1 {
			t.Fatalf("%d outcomes kept, want 1", n)
		}
		// While it waits, nothing more is sent.
		if _, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID}); err == nil || r.ecs.starts() != 1 {
			t.Fatalf("a start went out while an outcome waited: %v, %d starts", err, r.ecs.starts())
		}
		restore()
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := r.svc.Flush(fctx); err != nil {
			t.Fatal(err)
		}
		last := r.op(t, res.OpID).Last
		if last.State != audit.StateSucceeded || last.RequestID != "RID-OK" {
			t.Fatalf("after the database came back the operation is %s (RequestId %q)", last.State, last.RequestID)
		}
		if o, err := r.log.Open(ctx, stoppedID); err != nil || o != nil {
			t.Fatalf("the instance is still held: %+v %v", o, err)
		}
		if _, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: localID}); err != nil || r.ecs.starts() != 2 {
			t.Fatalf("after the outcome was written a start was refused: %v", err)
		}
	})
}

// While the process runs, an intent of its own whose call has ended with
// no outcome on record is recorded as unknown; the call it has in flight
// is left alone, and records its own outcome.
func TestReconcilingWhileRunningLeavesTheCallInFlightAlone(t *testing.T) {
	t.Parallel()
	r := newRig(t, starts.PolicyNone)
	ctx := context.Background()
	orphan := r.danglingIntent(t)
	atECS, release := make(chan struct{}), make(chan struct{})
	r.ecs.onCall = func() { close(atECS); <-release }
	done := make(chan starts.Result)
	go func() {
		res, err := r.svc.Request(ctx, operator, starts.Request{Region: "cn-hangzhou", InstanceID: stoppedID})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	select {
	case <-atECS:
	case <-time.After(10 * time.Second):
		t.Fatal("the start never reached ECS")
	}
	n, err := r.svc.RecoverDangling(ctx, false)
	if err != nil || n != 1 {
		t.Fatalf("reconciled %d (%v), want 1: the orphan only", n, err)
	}
	if s := r.op(t, orphan.OpID).Last.State; s != audit.StateUnknown {
		t.Fatalf("the orphan is %s", s)
	}
	dangling, _ := r.log.Dangling(ctx)
	if len(dangling) != 1 || dangling[0].First.InstanceID != stoppedID {
		t.Fatalf("the call in flight was touched: %d dangling", len(dangling))
	}
	close(release)
	res := <-done
	if last := r.op(t, res.OpID).Last; last.State != audit.StateSucceeded || last.Action != audit.ActionStartInstance {
		t.Fatalf("the call in flight ended %s by %s", last.State, last.Action)
	}
}
