package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"ecsdash/internal/audit"
	"ecsdash/internal/db/dbtest"
)

// Round three, finding 4: deleting one audit_ops row hid a pending wipe
// request from the approvers, the history and the export, while verify
// said "intact". The table refuses it; and when someone with the database
// drops the guard first, verify names the operation.
func TestAuditOpsIsGuardedAndVerifiedAsTheChainsFold(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, log := openLog(t, dsn)
		ctx := context.Background()
		log.Append(ctx, audit.Event{Action: audit.ActionLogin, User: "olivia", State: audit.StateSucceeded})
		wipe, err := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "olivia", InstanceID: "i-db", InitLocalDisk: true, State: audit.StateAwaitingApproval})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := audit.Verify(ctx, d.Read, nil); err != nil {
			t.Fatalf("an untouched log: %v", err)
		}
		for _, q := range []string{
			"DELETE FROM audit_ops WHERE op_id = ?",
			"UPDATE audit_ops SET state = 'rejected' WHERE op_id = ?",
			"UPDATE audit_ops SET instance_id = 'i-other' WHERE op_id = ?",
		} {
			if _, err := d.Write.Exec(q, wipe.OpID); err == nil || !strings.Contains(err.Error(), "fold") {
				t.Fatalf("%s: %v, want refused", q, err)
			}
		}
		if ops, _ := log.Awaiting(ctx); len(ops) != 1 {
			t.Fatalf("the pending wipe is not in the queue: %d pending", len(ops))
		}

		drop := "DROP TRIGGER audit_ops_no_delete"
		if strings.HasPrefix(dsn, "postgres") {
			drop += " ON audit_ops"
		}
		if _, err := d.Write.Exec(drop); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.Exec("DELETE FROM audit_ops WHERE op_id = ?", wipe.OpID); err != nil {
			t.Fatal(err)
		}
		var bad *audit.BadFold
		if _, _, err := audit.Verify(ctx, d.Read, nil); !errors.As(err, &bad) || bad.OpID != wipe.OpID || !strings.Contains(bad.Reason, "no row") {
			t.Fatalf("verify after a row was deleted: %v", err)
		}
		if _, err := d.Write.Exec(`INSERT INTO audit_ops (op_id, last_seq, action, "user", instance_id, state, time) VALUES (?, ?, 'StartInstance', 'olivia', 'i-db', 'rejected', 'x')`, wipe.OpID, wipe.Seq); err != nil {
			t.Fatal(err)
		}
		if _, _, err := audit.Verify(ctx, d.Read, nil); !errors.As(err, &bad) || bad.OpID != wipe.OpID || !strings.Contains(bad.Reason, "differs") {
			t.Fatalf("verify after a row was altered: %v", err)
		}
		if _, err := d.Write.Exec(`INSERT INTO audit_ops (op_id, last_seq, action, "user", instance_id, state, time) VALUES (99, 99, 'login', 'x', '', 'succeeded', 'x')`); err != nil {
			t.Fatal(err)
		}
		if _, _, err := audit.Verify(ctx, d.Read, nil); !errors.As(err, &bad) || bad.OpID != wipe.OpID {
			t.Fatalf("verify names the first operation that differs: %v", err)
		}
	})
}
