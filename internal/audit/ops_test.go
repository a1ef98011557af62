package audit_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/migrations"
)

// A log written before audit_ops existed is folded into it by the
// migration: the same operations, states and pages as before, and the chain
// still verifies.
func TestAnOlderLogIsFoldedIntoOperationsOnUpgrade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"0001_users.sql", "0002_audit.sql"} { // the schema of the first version
		b, err := migrations.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Exec(string(b)); err != nil {
			t.Fatal(err)
		}
	}
	w.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	w.Exec(`INSERT INTO schema_migrations VALUES (1, 'users', 'x'), (2, 'audit', 'x')`)
	// Rows as the first version wrote them: its chain, its columns.
	prev, seq := audit.GenesisHash, int64(0)
	old := func(e audit.Event) audit.Event {
		seq++
		e.Seq, e.PrevHash, e.Time = seq, prev, time.Date(2026, 11, 1, 0, 0, int(seq), 0, time.UTC)
		if e.OpID == 0 {
			e.OpID = seq
		}
		e.Hash = audit.Hash(e)
		prev = e.Hash
		if _, err := w.Exec(`INSERT INTO audit_events (seq, op_id, time, action, user, instance_id, state, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.OpID, e.Time.Format(audit.TimeFormat), e.Action, e.User, e.InstanceID, e.State, e.PrevHash, e.Hash); err != nil {
			t.Fatal(err)
		}
		return e
	}
	waiting := old(audit.Event{Action: audit.ActionStartInstance, User: "olivia", InstanceID: "i-a", State: audit.StateAwaitingApproval})
	started := old(audit.Event{Action: audit.ActionStartInstance, User: "olivia", InstanceID: "i-b", State: audit.StateSent})
	started.State = audit.StateSucceeded
	old(started)
	for i := range 5 {
		old(audit.Event{Action: audit.ActionLogin, User: fmt.Sprintf("guess%d", i), State: audit.StateFailed})
	}
	w.Close()

	d, err := db.Open(ctx, path) // applies the migrations since
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	log := audit.New(d.Write, d.Read, nil)
	if head, n, err := audit.Verify(ctx, d.Read, nil); err != nil || n != 8 || head.Seq != 8 {
		t.Fatalf("after the upgrade the chain says %+v (%d events): %v", head, n, err)
	}
	ops, total, err := log.Operations(ctx, audit.Filter{})
	if err != nil || total != 7 || len(ops) != 7 {
		t.Fatalf("%d operations (total %d): %v", len(ops), total, err)
	}
	aw, _ := log.Awaiting(ctx)
	if len(aw) != 1 || aw[0].ID() != waiting.OpID {
		t.Fatalf("awaiting %+v", aw)
	}
	done, n, _ := log.Operations(ctx, audit.Filter{State: audit.StateSucceeded, InstanceID: "i-b"})
	if n != 1 || done[0].Last.State != audit.StateSucceeded || done[0].First.State != audit.StateSent {
		t.Fatalf("the started operation folds to %+v", done)
	}
	// New events keep the fold current.
	next := aw[0].First
	next.State, next.Approver = audit.StateRejected, "arthur"
	if _, err := log.Append(ctx, next); err != nil {
		t.Fatal(err)
	}
	if aw, _ := log.Awaiting(ctx); len(aw) != 0 {
		t.Fatalf("a rejected request still awaits: %+v", aw)
	}
	logins, n, _ := log.Operations(ctx, audit.Filter{Action: audit.ActionLogin})
	if n != 5 || len(logins) != 5 {
		t.Fatalf("%d sign-ins", n)
	}
}
