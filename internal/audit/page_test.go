package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// bulkOps fills a store with n operations of one event each, two of three
// starts and one a sign-in, in one statement: the rows a large log holds,
// for its planner (the chain is not what these tests read).
func bulkOps(t testing.TB, d *db.DB, n int) {
	t.Helper()
	ctx := context.Background()
	series := fmt.Sprintf("WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM g WHERE i < %d) ", n)
	if d.Dialect == db.Postgres {
		series = fmt.Sprintf("WITH g(i) AS (SELECT generate_series(1, %d)) ", n)
	}
	ev := series + `INSERT INTO audit_events (seq, op_id, time, action, "user", instance_id, state, prev_hash, hash)
		SELECT i, i, '2026-11-27T00:00:00.000000Z', CASE WHEN i % 3 = 0 THEN 'login' ELSE 'StartInstance' END,
		'u' || (i % 17), 'i-' || (i % 1000), 'succeeded', 'x', 'x' FROM g`
	if _, err := d.Write.ExecContext(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if d.Dialect == db.Postgres { // the append's own statement folds; this insert did not
		for _, q := range []string{foldInto("", "FROM audit_events"), // one entry an operation
			`INSERT INTO audit_op_counts (action, n) SELECT action, COUNT(*) FROM audit_ops GROUP BY action
			ON CONFLICT (action) DO UPDATE SET n = excluded.n`,
			`INSERT INTO audit_instances (instance_id, instance_name, n) SELECT instance_id, instance_name, COUNT(*) FROM audit_events
			WHERE seq = op_id GROUP BY instance_id, instance_name`} {
			if _, err := d.Write.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d.Dialect == db.Postgres { // as autovacuum would; SQLite's product never runs ANALYZE
		if _, err := d.Write.ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
	}
}

// plan is the store's plan for q, one line a node.
func plan(t *testing.T, d *db.DB, q string, args []any) string {
	t.Helper()
	rows, err := d.Read.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, args...)
	if d.Dialect == db.Postgres {
		rows, err = d.Read.QueryContext(context.Background(), "EXPLAIN "+q, args...)
	}
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals[len(vals)-1]) // SQLite's detail, PostgreSQL's line
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The audit page's default view, its keyset pages and its filters read
// audit_ops through an index in the page's own order: no sort of the
// matches (SQLite's temp B-tree, PostgreSQL's Sort node), so a page costs
// its rows at any size of the log. (An instance's filter reads its own
// operations through audit_ops_instance, and may sort those.)
func TestTheAuditPageReadsThroughAnIndexInItsOrder(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		bulkOps(t, d, 30000)
		for name, f := range map[string]Filter{
			"default":          {Actions: Shown},
			"older than":       {Actions: Shown, Before: 15000},
			"newer than":       {Actions: Shown, After: 15000},
			"an action":        {Action: ActionLogin},
			"a follow-up":      {Action: ActionApprove},
			"a user":           {Actions: Shown, User: "u3", Before: 20000},
			"every operation":  {},
			"a page by number": {Actions: Shown, Page: 3},
			"an instance":      {Actions: Shown, InstanceID: "i-7"},
		} {
			q, args := f.pageQuery(d.Dialect, 50)
			p := plan(t, d, q, args)
			if name == "an instance" {
				// One instance's history (the list's History link): its
				// own operations through audit_ops_instance, sorted.
				if !strings.Contains(p, "audit_ops_instance") {
					t.Errorf("%s: not read through audit_ops_instance:\n%s", name, p)
				}
				continue
			}
			if name == "a follow-up" {
				// The operations holding an approval: found through an
				// index of follow-up entries (and sorted, as many as
				// there are), never by reading the whole log.
				t.Logf("a follow-up's plan:\n%s", p)
				if strings.Contains(p, "Seq Scan on audit_events") || strings.Contains(p, "SCAN audit_events\n") {
					t.Errorf("%s: the page reads the whole log:\n%s", name, p)
				}
				continue
			}
			if strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "Sort") {
				t.Errorf("%s: the page sorts its matches:\n%s", name, p)
			}
			if name == "default" {
				t.Logf("the default page's plan:\n%s", p)
			}
			if name == "default" && d.Dialect == db.SQLite && !strings.Contains(p, "audit_ops_shown") {
				t.Errorf("default: not read through audit_ops_shown:\n%s", p)
			}
		}
	})
}

// The pager's total of the default view (and of an action) comes from the
// kept counts, not from a walk of audit_ops, and is the true count.
func TestTheAuditPagesTotalIsKeptNotCounted(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		bulkOps(t, d, 3000)
		ctx := context.Background()
		log := New(d.Write, d.Read, nil)
		for _, e := range []Event{ // through the append: the counts follow new operations only
			{Action: ActionStartInstance, User: "olivia", InstanceID: "i-new", State: StateSent},
			{Action: ActionLogin, User: "guess", State: StateFailed},
		} {
			e, err := log.Append(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			if e.Action == ActionStartInstance {
				e.State = StateSucceeded
				if _, err := log.Append(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, f := range map[string]Filter{"default": {Actions: Shown}, "sign-ins": {Action: ActionLogin}, "every operation": {}} {
			q, args, capped := f.countQuery(d.Dialect)
			if capped {
				t.Fatalf("%s: counted, not kept", name)
			}
			if p := plan(t, d, q, args); !strings.Contains(p, "audit_op_counts") || strings.Contains(p, "audit_ops ") || strings.Contains(p, "audit_ops\n") {
				t.Errorf("%s: the total reads more than the kept counts:\n%s", name, p)
			}
			where, wargs := f.where()
			var want int
			if err := d.Read.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_ops x"+where, wargs...).Scan(&want); err != nil {
				t.Fatal(err)
			}
			got, err := log.count(ctx, f)
			if err != nil || got != (Count{N: want}) {
				t.Errorf("%s: total %+v, %d operations match (%v)", name, got, want, err)
			}
		}
	})
}

// Paging by keyset walks every matching operation once, newest first, and
// back again; a filter no kept count answers is counted up to a bound.
func TestKeysetPagesWalkEveryOperationOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		ctx := context.Background()
		clock := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		log := New(d.Write, d.Read, func() time.Time { clock = clock.Add(time.Second); return clock })
		var starts []int64
		for i := range 130 {
			e := Event{Action: ActionStartInstance, User: "olivia", InstanceID: fmt.Sprintf("i-%d", i), State: StateSent}
			if i%4 == 0 {
				e = Event{Action: ActionLogin, User: "guess", State: StateFailed}
			}
			e, err := log.Append(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			if e.Action == ActionStartInstance {
				starts = append([]int64{e.OpID}, starts...) // newest first
			}
		}
		var seen []int64
		f := Filter{Actions: Shown, PerPage: 40}
		var pages []OpsPage
		for range 10 {
			p, err := log.OperationsPage(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != (Count{N: len(starts)}) {
				t.Fatalf("total %+v, want %d", p.Total, len(starts))
			}
			pages = append(pages, p)
			for _, op := range p.Ops {
				seen = append(seen, op.ID())
			}
			if !p.Older {
				break
			}
			f.Before = p.Ops[len(p.Ops)-1].ID()
		}
		if fmt.Sprint(seen) != fmt.Sprint(starts) {
			t.Fatalf("the pages hold %v, want %v", seen, starts)
		}
		if len(pages) != 3 || pages[0].Newer || !pages[1].Newer {
			t.Fatalf("%d pages; newer before the first %t, the second %t", len(pages), pages[0].Newer, pages[1].Newer)
		}
		back, err := log.OperationsPage(ctx, Filter{Actions: Shown, PerPage: 40, After: pages[2].Ops[0].ID()})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(ids(back.Ops)) != fmt.Sprint(ids(pages[1].Ops)) || !back.Newer || !back.Older {
			t.Fatalf("back from the third page: %v (newer %t, older %t), want %v", ids(back.Ops), back.Newer, back.Older, ids(pages[1].Ops))
		}
		n, err := log.count(ctx, Filter{User: "olivia"})
		if err != nil || n != (Count{N: len(starts)}) {
			t.Fatalf("olivia's count %+v: %v", n, err)
		}
	})
}

func ids(ops []Op) []int64 {
	out := make([]int64, len(ops))
	for i, o := range ops {
		out[i] = o.ID()
	}
	return out
}

// A batch is chained as single appends are: the log verifies, the
// operations fold, and an open operation's instance is still checked.
func TestABatchIsChainedAndCheckedAsSingleAppends(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		ctx := context.Background()
		log := New(d.Write, d.Read, nil)
		if _, err := log.Append(ctx, Event{Action: ActionLogin, User: "olivia", State: StateSucceeded}); err != nil {
			t.Fatal(err)
		}
		var intents []Event
		for i := range 20 {
			intents = append(intents, Event{Action: ActionStartInstance, User: "olivia", InstanceID: fmt.Sprintf("i-%d", i), State: StateSent})
		}
		sent, err := log.AppendBatch(ctx, intents)
		if err != nil || len(sent) != 20 {
			t.Fatalf("%d appended: %v", len(sent), err)
		}
		for i := range sent {
			sent[i].State = StateSucceeded
		}
		if _, err := log.AppendBatch(ctx, sent); err != nil {
			t.Fatal(err)
		}
		if head, n, err := Verify(ctx, d.Read, nil); err != nil || n != 41 || head.Seq != 41 {
			t.Fatalf("verify: %+v %d %v", head, n, err)
		}
		p, err := log.OperationsPage(ctx, Filter{Actions: Shown})
		if err != nil || p.Total.N != 20 || len(p.Ops) != 20 || p.Ops[0].Last.State != StateSucceeded {
			t.Fatalf("%+v: %v", p.Total, err)
		}
		if _, err := log.Append(ctx, Event{Action: ActionStartInstance, User: "olivia", InstanceID: "i-3", State: StateAwaitingApproval}); err != nil {
			t.Fatal(err)
		}
		_, err = log.AppendBatch(ctx, []Event{{Action: ActionStartInstance, User: "bob", InstanceID: "i-3", State: StateSent}})
		var open *OpenError
		if !errors.As(err, &open) {
			t.Fatalf("a batch began a second open operation on i-3: %v", err)
		}
	})
}
