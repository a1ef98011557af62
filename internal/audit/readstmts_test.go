package audit

import (
	"context"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// The audit page's reads are prepared once, by their text, and then only
// run: a second view of the same pages prepares nothing, and answers the
// same as the first.
func TestTheAuditPagesReadsArePreparedOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		bulkOps(t, d, 3000)
		ctx := context.Background()
		l := New(d.Write, d.Read, nil)
		view := func() (ids []int64, total int) {
			t.Helper()
			for _, f := range []Filter{{Actions: Shown}, {Actions: Shown, Before: 2000}, {User: "u3"}} {
				pg, err := l.OperationsPage(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if err := l.Timelines(ctx, pg.Ops); err != nil {
					t.Fatal(err)
				}
				for _, o := range pg.Ops {
					if len(o.Events) == 0 {
						t.Fatalf("operation %d without its timeline", o.ID())
					}
					ids = append(ids, o.ID())
				}
				total += pg.Total.N
			}
			if _, err := l.Awaiting(ctx); err != nil {
				t.Fatal(err)
			}
			return ids, total
		}
		first, total := view()
		prepared := len(l.reads.m)
		if prepared == 0 || len(first) == 0 {
			t.Fatalf("%d statements prepared for %d operations", prepared, len(first))
		}
		again, total2 := view()
		if len(l.reads.m) != prepared {
			t.Fatalf("the second view prepared %d more statements", len(l.reads.m)-prepared)
		}
		if len(again) != len(first) || total2 != total {
			t.Fatalf("the second view differs: %d operations (total %d), first %d (total %d)", len(again), total2, len(first), total)
		}
		for i := range first {
			if again[i] != first[i] {
				t.Fatalf("operation %d: %d, first %d", i, again[i], first[i])
			}
		}
	})
}
