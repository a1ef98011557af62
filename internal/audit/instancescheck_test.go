package audit

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// secretStore opens the store at dsn and appends twenty starts on one
// instance and one on i-secret (named db-primary): the operation the typed
// filter must find, whose id it returns.
func secretStore(t *testing.T, dsn string) (*db.DB, *Log, int64) {
	t.Helper()
	ctx := context.Background()
	d := openStore(t, dsn)
	log := New(d.Write, d.Read, nil)
	for range 20 {
		if _, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "olivia", InstanceID: "i-other", InstanceName: "other", State: StateSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "mallory", InstanceID: "i-secret", InstanceName: "db-primary", State: StateSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	return d, log, e.Seq
}

// An operation appended without its audit_instances row (a replica still
// on the binary before migration 0130 appends so, as does a row deleted)
// is still found by the typed filter, its total and the filtered export:
// when the table does not count every operation, the filter reads the
// whole log, as before it, and says nothing wrong.
func TestTheTypedFilterFindsAnOperationItsInstancesDoNotCount(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, log, id := secretStore(t, dsn)
		// The old binary's append: the entry and audit_ops, no row here.
		if _, err := d.Write.ExecContext(ctx, "DELETE FROM audit_instances WHERE instance_id = 'i-secret'"); err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"secret", "I-SECRET", "primary", "db-p"} {
			f, err := log.narrowed(ctx, Filter{Instance: text})
			if err != nil {
				t.Fatal(err)
			}
			if f.narrow || f.narrowAll {
				t.Errorf("%q: read through an incomplete audit_instances (narrow %v, all %v)", text, f.narrow, f.narrowAll)
			}
			for _, actions := range [][]string{nil, Shown} {
				p, err := log.OperationsPage(ctx, Filter{Instance: text, Actions: actions})
				if err != nil {
					t.Fatalf("%q: %v", text, err)
				}
				if len(p.Ops) != 1 || p.Ops[0].ID() != id || p.Total.N != 1 {
					t.Errorf("%q: %d operations (total %+v), want operation %d alone", text, len(p.Ops), p.Total, id)
				}
			}
			var b bytes.Buffer
			if err := log.Export(ctx, &b, "csv", Filter{Instance: text}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "i-secret") || strings.Contains(b.String(), "i-other") {
				t.Errorf("%q: the export holds\n%s", text, b.String())
			}
		}
		// A new append on that instance adds a row again with n = 1 while
		// two operations began there: still short, still the whole log.
		if _, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "mallory", InstanceID: "i-secret", InstanceName: "db-primary", State: StateSucceeded}); err != nil {
			t.Fatal(err)
		}
		if p, err := log.OperationsPage(ctx, Filter{Instance: "secret"}); err != nil || len(p.Ops) != 2 || p.Total.N != 2 {
			t.Errorf("after a new append: %d operations (total %+v), %v; want 2", len(p.Ops), p.Total, err)
		}
		// Whole again, the table narrows as before.
		if _, err := d.Write.ExecContext(ctx, "UPDATE audit_instances SET n = 2 WHERE instance_id = 'i-secret'"); err != nil {
			t.Fatal(err)
		}
		if f, err := log.narrowed(ctx, Filter{Instance: "secret"}); err != nil || !f.narrow {
			t.Errorf("a whole audit_instances is not read (narrow %v, %v)", f.narrow, err)
		}
		sameAsBefore(t, ctx, d, log)
	})
}

// audit verify notices audit_instances not accounting for the log's
// operations (a row deleted, a count lowered), as it does audit_ops, and an
// intact log passes. A row counting more, or one no operation began on,
// hides nothing and is what a log cut without its derived tables leaves
// (a noted head shows the cut): it passes, and the filter still finds
// every match.
func TestVerifyNoticesAuditInstancesMissingOperationsOfTheLog(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, log, id := secretStore(t, dsn)
		if _, _, err := Verify(ctx, d.Read, nil); err != nil {
			t.Fatalf("an intact log: %v", err)
		}
		for _, c := range []struct {
			name, tamper, mend, words string
			op                        int64
		}{
			{"deleted", "DELETE FROM audit_instances WHERE instance_id = 'i-secret'",
				"INSERT INTO audit_instances (instance_id, instance_name, n) VALUES ('i-secret', 'db-primary', 1)", "no row for it, though 1 of", id},
			{"count lowered", "UPDATE audit_instances SET n = 19 WHERE instance_id = 'i-other'",
				"UPDATE audit_instances SET n = 20 WHERE instance_id = 'i-other'", "its count is 19, the chain's 20", 1},
			{"zeroed", "UPDATE audit_instances SET n = 0 WHERE instance_id = 'i-secret'",
				"UPDATE audit_instances SET n = 1 WHERE instance_id = 'i-secret'", "its count is 0, the chain's 1", id},
		} {
			if _, err := d.Write.ExecContext(ctx, c.tamper); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			_, _, err := Verify(ctx, d.Read, nil)
			var bad *BadFold
			if !errors.As(err, &bad) || bad.Table != "audit_instances" || bad.OpID != c.op || !strings.Contains(bad.Reason, c.words) {
				t.Errorf("%s: verify says %v (%+v), want audit_instances, request %d, %q", c.name, err, bad, c.op, c.words)
			} else {
				t.Logf("%s: %v", c.name, err)
			}
			if err := VerifyFold(ctx, d.Read); !errors.As(err, &bad) {
				t.Errorf("%s: VerifyFold says %v", c.name, err)
			}
			if _, err := d.Write.ExecContext(ctx, c.mend); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if _, _, err := Verify(ctx, d.Read, nil); err != nil {
				t.Fatalf("%s mended: %v", c.name, err)
			}
		}
		for _, q := range []string{
			"UPDATE audit_instances SET n = 5 WHERE instance_id = 'i-secret'",
			"INSERT INTO audit_instances (instance_id, instance_name, n) VALUES ('i-ghost', 'ghost', 3)",
		} {
			if _, err := d.Write.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := Verify(ctx, d.Read, nil); err != nil {
			t.Errorf("rows counting more than the chain: %v", err)
		}
		for _, text := range []string{"secret", "ghost"} {
			if p, err := log.OperationsPage(ctx, Filter{Instance: text}); err != nil || p.Total.N != len(p.Ops) || (text == "secret") != (len(p.Ops) == 1) {
				t.Errorf("%q with rows counting more: %d operations (total %+v), %v", text, len(p.Ops), p.Total, err)
			}
		}
	})
}
