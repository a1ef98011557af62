package audit

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"ecsdash/internal/db/dbtest"
)

// secretLog appends twenty starts on one instance and one on i-secret
// (named db-primary), the operation the typed filter must find.
func secretLog(t *testing.T, ctx context.Context, log *Log) int64 {
	t.Helper()
	for range 20 {
		if _, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "olivia", InstanceID: "i-other", InstanceName: "other", State: StateSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	e, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "mallory", InstanceID: "i-secret", InstanceName: "db-primary", State: StateSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	return e.Seq
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
		d := openStore(t, dsn)
		log := New(d.Write, d.Read, nil)
		id := secretLog(t, ctx, log)
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
