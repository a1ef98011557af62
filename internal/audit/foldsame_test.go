package audit

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

var updateFold = flag.Bool("update-fold", false, "rewrite migrations/"+foldMigration+" from the fold's one definition")

// foldRows is audit_ops and audit_op_counts as text, in order.
func foldRows(t *testing.T, d *db.DB) []string {
	t.Helper()
	var out []string
	for _, q := range []string{opsSQL + " ORDER BY op_id", "SELECT action, '', '', '', '', '', n FROM audit_op_counts ORDER BY action"} {
		rows, err := d.Read.QueryContext(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c, e, f, g, h string
			if err := rows.Scan(&a, &b, &c, &e, &f, &g, &h); err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join([]string{a, b, c, e, f, g, h}, "|"))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The same entries, appended one by one, in a batch, and as decisions,
// fold into the same audit_ops rows and kept counts on SQLite (its
// trigger) and PostgreSQL (the append's own statement), and each is the
// chain's fold (VerifyFold).
func TestBothStoresFoldTheLogIdentically(t *testing.T) {
	t.Parallel()
	got := map[string][]string{}
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		ctx := context.Background()
		clock := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		log := New(d.Write, d.Read, func() time.Time { clock = clock.Add(time.Second); return clock })
		app := func(e Event) Event {
			t.Helper()
			e, err := log.Append(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		req := app(Event{Action: ActionStartInstance, User: "olivia", Region: "cn-hangzhou", InstanceID: "i-a", State: StateAwaitingApproval})
		dec := req
		dec.Action, dec.Approver, dec.State = ActionApprove, "arthur", StateSent
		if _, err := log.AppendIf(ctx, dec, StateAwaitingApproval); err != nil {
			t.Fatal(err)
		}
		dec.Action, dec.State = ActionStartInstance, StateSucceeded
		app(dec)
		app(Event{Action: ActionLogin, User: "guess", State: StateFailed})
		if _, err := log.AppendBatch(ctx, []Event{
			{Action: ActionStartInstance, User: "olivia", Region: "cn-hangzhou", InstanceID: "i-b", State: StateSent, BatchID: "b-1"},
			{Action: ActionStartInstance, User: "olivia", Region: "cn-hangzhou", InstanceID: "i-c", State: StateSent, BatchID: "b-1"},
			{Action: ActionCheck, User: "olivia", Region: "cn-hangzhou", InstanceID: "i-a", State: StateSucceeded, DryRun: true},
		}); err != nil {
			t.Fatal(err)
		}
		rej := app(Event{Action: ActionStartInstance, User: "olivia", InstanceID: "i-d", State: StateAwaitingApproval})
		rej.Action, rej.Approver, rej.State, rej.Reason = ActionReject, "arthur", StateRejected, "not now"
		app(rej)
		app(Event{Action: ActionTokenCreate, User: "admin", State: StateSucceeded})
		if err := VerifyFold(ctx, d.Read); err != nil {
			t.Fatalf("audit_ops is not the chain's fold: %v", err)
		}
		got[d.Dialect.String()] = foldRows(t, d)
	})
	sq, pg := got[db.SQLite.String()], got[db.Postgres.String()]
	if sq == nil || pg == nil {
		return // a store skipped: nothing to compare
	}
	if !reflect.DeepEqual(sq, pg) {
		t.Fatalf("the stores fold differently:\n sqlite   %q\n postgres %q", sq, pg)
	}
	if len(sq) != 7+4 {
		t.Fatalf("%d rows folded, want 7 operations and 4 counts: %q", len(sq), sq)
	}
}

// SQLite's triggers are the fold's one definition (fold.go) as generated,
// the same that PostgreSQL's append statement is made of: the schema of a
// migrated store holds exactly that text. -update-fold writes the
// migration that creates them.
func TestSQLitesFoldIsGeneratedFromTheOneDefinition(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "migrations", foldMigration)
	if *updateFold {
		if err := os.WriteFile(path, []byte(sqliteFoldMigration()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "fold.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	triggers := sqliteFoldTriggers()
	triggers["audit_instances_track"] = sqliteInstancesTrigger() // migrations/0130, written the same way
	for name, want := range triggers {
		var got string
		if err := d.Read.QueryRowContext(context.Background(), "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", name).Scan(&got); err != nil {
			t.Fatalf("trigger %s: %v", name, err)
		}
		if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(want), " ") {
			t.Errorf("trigger %s is not the fold's definition (run go test ./internal/audit -run %s -update-fold, as a new migration):\n got %s\nwant %s",
				name, "TestSQLitesFoldIsGeneratedFromTheOneDefinition", got, want)
		}
	}
}
