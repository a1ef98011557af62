package audit

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// oldInstanceCond is the typed instance filter as it was before
// audit_instances (a LIKE over every operation and its first entry): the
// reference the filter's results must equal.
const oldInstanceCond = `(LOWER(x.instance_id) LIKE ? ESCAPE '\' OR x.op_id IN (SELECT op_id FROM audit_events WHERE seq = op_id AND LOWER(instance_name) LIKE ? ESCAPE '\'))`

// trickyInstances are ids and names that LIKE, case and bytes could get
// wrong: its metacharacters, its escape, mixed case, Chinese, an instance
// renamed (one id, two names), sign-ins (no instance at all).
var trickyInstances = [][2]string{
	{"i-abc123", "web-01"},
	{"i-ABC124", "Web-02"},
	{"i-abc125", "100%_done"},
	{"i-abc126", `back\slash`},
	{"i-abc127", "under_score"},
	{"i-abc128", "数据库主节点"},
	{"i-abc129", "DB-数据"},
	{"i-abc130", "ÉCOLE"},
	{"i-abc123", "web-01-renamed"},
	{"i-xyz", ""},
	{"", ""},
}

// typedTexts are what an operator might type, one or two characters
// among them, each case, each metacharacter alone.
var typedTexts = []string{"a", "A", "ab", "i-", "I-ABC12", "abc124", "web", "WEB-0", "renamed", "%", "_", `\`, "%_", "0%", "_s", `\s`,
	"数据", "数", "据库主", "é", "É", "école", "x", "xyz", "nothing-like-it", "-", "1", "12"}

// trickyLog appends a start of each tricky instance, each twice, and a
// sign-in.
func trickyLog(t *testing.T, ctx context.Context, log *Log) {
	t.Helper()
	for round := range 2 {
		for _, in := range trickyInstances {
			e := Event{Action: ActionStartInstance, User: "olivia", InstanceID: in[0], InstanceName: in[1], State: StateSucceeded}
			if in[0] == "" {
				e = Event{Action: ActionLogin, User: fmt.Sprintf("u%d", round), State: StateSucceeded}
			}
			if _, err := log.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// openStore opens the store at dsn, closed when the test ends.
func openStore(t testing.TB, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// sortedIDs are the operations' ids, sorted.
func sortedIDs(ops []Op) []int64 {
	var out []int64
	for _, op := range ops {
		out = append(out, op.ID())
	}
	slices.Sort(out)
	return out
}

// opIDs runs q (selecting op_id) and returns the ids, sorted.
func opIDs(t *testing.T, d *db.DB, q string, args ...any) []int64 {
	t.Helper()
	rows, err := d.Read.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// sameAsBefore checks that every typed text finds what the old condition
// found, read both ways (through audit_instances, and walking every
// operation) and through the page itself with its total.
func sameAsBefore(t *testing.T, ctx context.Context, d *db.DB, log *Log) {
	t.Helper()
	for _, text := range typedTexts {
		like := Filter{Instance: text}.instanceLike()
		want := opIDs(t, d, "SELECT x.op_id FROM audit_ops x WHERE "+oldInstanceCond, like, like)
		for _, narrow := range []bool{true, false} {
			f := Filter{Instance: text, narrow: narrow}
			where, args := f.where()
			if got := opIDs(t, d, "SELECT x.op_id FROM "+f.source(d.Dialect)+where, args...); !slices.Equal(got, want) {
				t.Errorf("%q (narrow %v): operations %v, the old query's %v", text, narrow, got, want)
			}
		}
		for _, actions := range [][]string{nil, Shown} {
			p, err := log.OperationsPage(ctx, Filter{Instance: text, Actions: actions, PerPage: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if got := sortedIDs(p.Ops); !slices.Equal(got, want) || p.Total.N != len(want) {
				t.Errorf("%q: the page lists %v (total %d), the old query %v", text, got, p.Total.N, want)
			}
		}
	}
}

// The typed instance filter (part of an id or of a name, any case, LIKE's
// metacharacters as typed, one character or more) finds exactly the
// operations the old LIKE over every operation found, on both stores.
func TestTheTypedInstanceFilterFindsWhatTheWholeLogScanFound(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := openStore(t, dsn)
		log := New(d.Write, d.Read, nil)
		trickyLog(t, ctx, log)
		sameAsBefore(t, ctx, d, log)
		// A text that matches nothing reads nothing, and says so.
		if p, err := log.OperationsPage(ctx, Filter{Instance: "zzz"}); err != nil || len(p.Ops) != 0 || p.Total.N != 0 {
			t.Errorf("zzz: %+v, %v", p, err)
		}
		keptInstancesAreTheChains(t, d)
	})
}

// keptInstancesAreTheChains checks that audit_instances holds exactly each
// instance id and name that operations began with, and how many did.
func keptInstancesAreTheChains(t *testing.T, d *db.DB) {
	t.Helper()
	var diff int
	q := `SELECT COUNT(*) FROM (
		SELECT instance_id, instance_name, n FROM audit_instances EXCEPT
		SELECT instance_id, instance_name, COUNT(*) FROM audit_events WHERE seq = op_id GROUP BY instance_id, instance_name) a`
	if err := d.Read.QueryRowContext(context.Background(), q).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	var kept, inChain int
	d.Read.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM audit_instances").Scan(&kept)
	d.Read.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM (SELECT DISTINCT instance_id, instance_name FROM audit_events WHERE seq = op_id) a").Scan(&inChain)
	if diff != 0 || kept != inChain {
		t.Errorf("audit_instances: %d rows differ from the chain's; %d rows, the chain has %d instance names", diff, kept, inChain)
	}
}

// A log written before audit_instances is counted into it by the
// migration: the typed filter finds what it found before, the new entries
// keep the table current, and the chain still verifies.
func TestAnOlderLogIsCountedIntoItsInstancesOnUpgrade(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := openStore(t, dsn)
		trickyLog(t, ctx, New(d.Write, d.Read, nil))
		// Back to the schema of the version before (its appends do not
		// keep audit_instances, so they are made before it goes).
		undo := []string{"DROP TABLE audit_instances", "DELETE FROM schema_migrations WHERE version = 130"}
		if d.Dialect == db.SQLite {
			undo = append([]string{"DROP TRIGGER audit_instances_track"}, undo...)
		}
		for _, q := range undo {
			if _, err := d.Write.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		d.Close()
		d = openStore(t, dsn) // today's migrations apply
		keptInstancesAreTheChains(t, d)
		log := New(d.Write, d.Read, nil)
		trickyLog(t, ctx, log)
		keptInstancesAreTheChains(t, d)
		sameAsBefore(t, ctx, d, log)
		if _, n, err := Verify(ctx, d.Read, nil); err != nil || n != 4*int64(len(trickyInstances)) {
			t.Fatalf("the chain after the upgrade: %d entries, %v", n, err)
		}
	})
}

// The typed filter's page and total read the matching instances'
// operations through audit_ops_instance, never the whole log; a text
// matching too many operations for that walks them newest first, as the
// other filters do.
func TestTheTypedInstanceFilterReadsItsInstancesNotTheLog(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d := openStore(t, dsn)
		bulkOps(t, d, 30000)
		log := New(d.Write, d.Read, nil)
		for _, text := range []string{"I-77", "i-12", "I-99"} {
			f, err := log.narrowed(ctx, Filter{Actions: Shown, Instance: text})
			if err != nil {
				t.Fatal(err)
			}
			if !f.narrow {
				t.Fatalf("%q: not narrowed", text)
			}
			q, args := f.pageQuery(d.Dialect, 50)
			cq, cargs, _ := f.all().countQuery(d.Dialect)
			for name, p := range map[string]string{"page": plan(t, d, q, args), "count": plan(t, d, cq, cargs)} {
				if !strings.Contains(p, "audit_ops_instance") {
					t.Errorf("%q, %s: not read through audit_ops_instance:\n%s", text, name, p)
				}
				if readsTheLog(p) {
					t.Errorf("%q, %s: reads the whole log:\n%s", text, name, p)
				}
				if text == "I-77" && name == "page" {
					t.Logf("the typed filter's page plan:\n%s", p)
				}
			}
		}
		// Most operations matching: the page walks them in its order,
		// which finds a page in its first rows; the count still reads
		// the matches alone.
		big := 1_000_000
		if _, err := d.Write.ExecContext(ctx, "UPDATE audit_instances SET n = ? WHERE instance_id = 'i-7'", big); err != nil {
			t.Fatal(err)
		}
		f, err := log.narrowed(ctx, Filter{Actions: Shown, Instance: "i-7"})
		if err != nil || f.narrow {
			t.Fatalf("%d operations narrowed (%v)", big, err)
		}
		q, args := f.pageQuery(d.Dialect, 50)
		if p := plan(t, d, q, args); strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "Sort") {
			t.Errorf("the walk sorts its matches:\n%s", p)
		}
		p, err := log.OperationsPage(ctx, Filter{Actions: Shown, Instance: "i-7", PerPage: 1000})
		if err != nil || len(p.Ops) != 1000 || p.Total.N != 111*20 {
			t.Errorf("walked: %d operations, total %+v, %v; want 1000 of %d", len(p.Ops), p.Total, err, 111*20)
		}
	})
}

// readsTheLog says whether a plan scans audit_events or audit_ops (SQLite's
// SCAN of the page's own co-routine x, its sorted ids, is not one).
func readsTheLog(p string) bool {
	coroutine := strings.Contains(p, "CO-ROUTINE x")
	for _, line := range strings.Split(p, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "Seq Scan on audit_events"), strings.Contains(line, "Seq Scan on audit_ops"),
			strings.HasPrefix(line, "SCAN audit_events"), strings.HasPrefix(line, "SCAN audit_ops"),
			strings.HasPrefix(line, "SCAN e"), strings.HasPrefix(line, "SCAN f"), strings.HasPrefix(line, "SCAN l"),
			strings.HasPrefix(line, "SCAN x") && !coroutine:
			return true
		}
	}
	return false
}

// BenchmarkTypedInstanceFilter reads the typed filter's total and first
// page from 300,000 operations on 1,000 instances (BENCH_OPS to change
// it): before (the old condition over every operation), after (as
// OperationsPage reads them), and the page each of the two ways after
// (through audit_instances, and walking the operations newest first, each
// beside the total as OperationsPage reads it), for narrowRatio. Texts: one instance ("i-123", 0.1% of the operations),
// eleven ("i-12"), 111 ("i-1"), every one ("i-").
func BenchmarkTypedInstanceFilter(b *testing.B) {
	n := 300_000
	if v := os.Getenv("BENCH_OPS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, k := range dbtest.Kinds() {
		b.Run(k.Name, func(b *testing.B) {
			ctx := context.Background()
			d := openStore(b, k.New(b))
			bulkOps(b, d, n)
			log := New(d.Write, d.Read, nil)
			read := func(b *testing.B, cq string, cargs []any, q string, args []any) {
				for b.Loop() {
					var c int
					if err := log.queryRow(ctx, cq, cargs...).Scan(&c); err != nil {
						b.Fatal(err)
					}
					if _, err := log.queryOps(ctx, q, args...); err != nil {
						b.Fatal(err)
					}
				}
			}
			for _, text := range []string{"i-123", "i-12", "i-1", "i-"} {
				b.Run(text+"/before", func(b *testing.B) {
					where, args := Filter{Actions: Shown}.where()
					like := Filter{Instance: text}.instanceLike()
					where, args = where+" AND "+oldInstanceCond, append(args, like, like)
					q := "SELECT " + columnList("f") + ", " + columnList("l") + opJoin + where + " ORDER BY x.op_id DESC LIMIT ? OFFSET ?"
					cq := "SELECT COUNT(*) FROM (SELECT 1 FROM audit_ops x" + where + " LIMIT ?) m"
					read(b, cq, append(args, countCap+1), q, append(slices.Clone(args), 51, 0))
				})
				b.Run(text+"/after", func(b *testing.B) {
					for b.Loop() {
						if _, err := log.OperationsPage(ctx, Filter{Actions: Shown, Instance: text}); err != nil {
							b.Fatal(err)
						}
					}
				})
				for _, narrow := range []bool{true, false} {
					b.Run(fmt.Sprintf("%s/narrow=%v", text, narrow), func(b *testing.B) {
						f := Filter{Actions: Shown, Instance: text, narrow: narrow}
						q, args := f.pageQuery(d.Dialect, 50)
						nf, err := log.narrowed(ctx, f)
						if err != nil {
							b.Fatal(err)
						}
						cq, cargs, _ := nf.all().countQuery(d.Dialect)
						read(b, cq, cargs, q, args)
					})
				}
			}
		})
	}
}
