package audit_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"ecsdash/internal/audit"
	"ecsdash/internal/db/dbtest"
)

// BenchmarkAuditPageUnderLoginNoise reads what the audit page reads (the
// approval queue, the first page of history and its count) from a log of
// 2,000 start operations, with and without 50,000 failed sign-ins sprayed
// into it: the cost must follow what is shown, not the log's size.
func BenchmarkAuditPageUnderLoginNoise(b *testing.B) {
	for _, noise := range []int{0, 50000} {
		b.Run(fmt.Sprintf("logins=%d", noise), func(b *testing.B) {
			d, log := openLog(b, "")
			ctx := context.Background()
			tx, _ := d.Write.Begin()
			tx.Exec("DROP TRIGGER IF EXISTS audit_events_no_update")
			tx.Commit()
			for i := range 2000 {
				e, _ := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "olivia", InstanceID: fmt.Sprintf("i-%d", i), State: audit.StateSent})
				if i%10 != 0 {
					e.State = audit.StateSucceeded
					log.Append(ctx, e)
				} else {
					e.State = audit.StateAwaitingApproval
				}
			}
			if noise > 0 { // one transaction: the spray's rows, chained as the log would chain them
				stmt := fmt.Sprintf(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d)
					INSERT INTO audit_events (seq, op_id, time, action, user, state, prev_hash, hash)
					SELECT m.s + i, m.s + i, '2026-11-27T00:00:00.000000Z', 'login', 'guess' || i, 'failed', 'x', 'x' FROM n, (SELECT MAX(seq) AS s FROM audit_events) m`, noise)
				if _, err := d.Write.Exec(stmt); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := log.Awaiting(ctx); err != nil {
					b.Fatal(err)
				}
				if _, _, err := log.Operations(ctx, audit.Filter{PerPage: 50}); err != nil {
					b.Fatal(err)
				}
				if _, _, err := log.Operations(ctx, audit.Filter{Action: audit.ActionStartInstance, PerPage: 50}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppend is one durable append, on each store (PostgreSQL with
// $ECSDASH_TEST_POSTGRES), from one writer.
func BenchmarkAppend(b *testing.B) {
	for _, k := range dbtest.Kinds() {
		b.Run(k.Name, func(b *testing.B) {
			_, log := openLog(b, k.New(b))
			ctx := context.Background()
			for b.Loop() {
				if _, err := log.Append(ctx, audit.Event{Action: audit.ActionStartInstance, User: "bench", Region: "cn-hangzhou",
					InstanceID: "i-bp1g6zv0ce8oghu7k4m2", State: audit.StateSucceeded, RequestID: "C0003E8B-B930-4F59-ADC0-0E20ABCDEF12", HTTPStatus: 200}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExport is a JSON export of 20,000 entries as the export reads
// them (chunks of 500, no connection held while writing) beside the
// reference from the same run: one query streamed while encoding the same
// events (Each), which holds a connection for the whole export.
func BenchmarkExport(b *testing.B) {
	d, log := openLog(b, "")
	stmt := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20000)
		INSERT INTO audit_events (seq, op_id, time, action, user, state, reason, prev_hash, hash)
		SELECT i, i, '2026-11-27T00:00:00.000000Z', 'StartInstance', 'olivia', 'succeeded', 'nightly', 'x', 'x' FROM n`
	if _, err := d.Write.Exec(stmt); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("chunked", func(b *testing.B) {
		for b.Loop() {
			if err := log.Export(ctx, io.Discard, "json", audit.Filter{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("one query (reference)", func(b *testing.B) {
		for b.Loop() {
			bw := bufio.NewWriter(io.Discard)
			enc := json.NewEncoder(bw)
			if err := log.Each(ctx, audit.Filter{}, func(e audit.Event) error { return enc.Encode(e) }); err != nil {
				b.Fatal(err)
			}
			bw.Flush()
		}
	})
}
