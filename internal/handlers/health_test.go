package handlers_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/ecs/ecssim"
)

// While another connection holds the database's write lock, no start can be
// recorded: /readyz is 503, in words; once it is released, 200 again.
func TestReadyzIs503WhileTheDatabaseRefusesAWrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	if p := h.browser().get("readyz"); p.status != http.StatusOK {
		t.Fatalf("readyz %d %q", p.status, p.body)
	}
	other, err := sql.Open("sqlite", "file:"+h.cfg.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	if p := h.browser().get("readyz"); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "does not accept a write") {
		t.Fatalf("readyz with the write lock held elsewhere: %d %q", p.status, p.body)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// The check that timed out finishes once the lock is gone; until then
	// /readyz says so.
	if last := readyAgain(h); last.status != http.StatusOK {
		t.Fatalf("readyz after the lock was released: %d %q", last.status, last.body)
	}
}

// ECS is shared by every replica: while it fails, /readyz stays 200 (a load
// balancer would drain every replica at once), and /metrics shows it.
func TestReadyzStays200WhileECSFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{simOpts: ecssim.Options{}})
	if err := h.sim.SetOutage("ServiceUnavailable"); err != nil {
		t.Fatal(err)
	}
	// A refresh begun before the outage may be joined first, and one
	// begun as it started may list some regions before it: refreshed until
	// every region's last listing failed, bounded by count.
	regions := len(h.sim.Regions())
	for range 10 {
		if h.fleet.Refresh(context.Background()) != nil && len(h.fleet.Snapshot().RegionErr) == regions {
			break
		}
	}
	if n := len(h.fleet.Snapshot().RegionErr); n != regions {
		t.Fatalf("after ten refreshes during the outage %d of %d regions failed", n, regions)
	}
	// readyz's only 503 is the database's write check, which a loaded
	// machine can keep past its 2 s: asked until 200 (bounded), a 200 during
	// the outage shows ECS's trouble does not reach it.
	if p := readyAgain(h); p.status != http.StatusOK {
		t.Fatalf("readyz while ECS fails: %d %q", p.status, p.body)
	}
	m := h.browser().get("metrics")
	if !strings.Contains(m.body, "ecsdash_fleet_regions_failing "+strconv.Itoa(regions)) {
		t.Fatalf("/metrics does not show the failing regions:\n%.2000s", m.body)
	}
}

// With PostgreSQL out of connections for this database, pages, starts and
// /readyz answer 503 in words (never 500 "Internal error"), and nothing
// reaches ECS; once connections are allowed again, /readyz is 200.
func TestWithPostgresOutOfConnectionsPagesAnswer503InWords(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Postgres(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name := u.Path[1:]
	b := make([]byte, 6)
	rand.Read(b)
	role := "ecsdash_r_" + hex.EncodeToString(b) // connection limits bind roles that are not superusers
	admin := func(stmts ...string) {
		t.Helper()
		a, err := sql.Open("pgx", os.Getenv(dbtest.Env))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		for _, s := range stmts {
			if _, err := a.Exec(s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
	}
	admin("CREATE ROLE "+role+" LOGIN", "ALTER DATABASE "+name+" OWNER TO "+role)
	t.Cleanup(func() { admin("DROP DATABASE IF EXISTS "+name+" WITH (FORCE)", "DROP ROLE IF EXISTS "+role) })
	u.User = url.User(role)
	h := newHarness(t, opts{dbPath: u.String(), args: []string{"--audit-key-file", filepath.Join(t.TempDir(), "audit-key"), "--session-key-file", filepath.Join(t.TempDir(), "session-keys")}})
	in := h.instance("ci-runner-02")
	op := h.loggedIn("op1")
	if p := op.get("audit"); p.status != http.StatusOK {
		t.Fatalf("audit %d", p.status)
	}
	admin("ALTER DATABASE "+name+" CONNECTION LIMIT 0",
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"' AND usename = '"+role+"'")
	for _, path := range []string{"audit", "instances", "audit/export?format=csv"} {
		if p := op.get(path); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "connections") && !strings.Contains(p.body, "database") {
			t.Errorf("%s without connections: %d %.400s", path, p.status, p.body)
		}
	}
	if p := op.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); p.status != http.StatusServiceUnavailable {
		t.Errorf("a start without connections: %d %.400s", p.status, p.body)
	}
	if n, _ := h.sim.Starts(in.ID); n != 0 {
		t.Error("a start reached ECS without its intent recorded")
	}
	if p := h.browser().get("readyz"); p.status != http.StatusServiceUnavailable {
		t.Errorf("readyz without connections: %d %q", p.status, p.body)
	}
	admin("ALTER DATABASE " + name + " CONNECTION LIMIT -1")
	if last := readyAgain(h); last.status != http.StatusOK {
		t.Fatalf("readyz once connections are allowed again: %d %q", last.status, last.body)
	}
}

// A query that fails because PostgreSQL is out of connections (or not
// reachable) after the session was loaded is 503 in words, not a 500
// "Internal error", wherever a handler met it.
func TestADatabaseOutOfConnectionsIs503NotInternalError(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{beforeUp: func(e *echo.Echo) {
		e.GET("/full", func(echo.Context) error {
			return apperr.Wrap(&pgconn.PgError{Severity: "FATAL", Code: "53300", Message: "sorry, too many clients already"}, apperr.Internal, "audit")
		})
		e.GET("/unreachable", func(echo.Context) error {
			return apperr.Wrap(&pgconn.PgError{Severity: "FATAL", Code: "08006", Message: "connection failure"}, apperr.Internal, "audit")
		})
	}})
	for _, path := range []string{"full", "unreachable"} {
		p := h.browser().get(path)
		if p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "out of connections or not reachable") || strings.Contains(p.body, "too many clients") {
			t.Errorf("%s: %d %.300s", path, p.status, p.doc.Find("main").Text())
		}
	}
}

// askUntil asks again while again says the answer may be a leftover of
// what the test did before, for at most 10 s and n asks, and returns the
// last answer.
func askUntil(n int, ask func() page, again func(page) bool) page {
	last := ask()
	for deadline := time.Now().Add(10 * time.Second); again(last) && n > 1 && time.Now().Before(deadline); n-- {
		time.Sleep(20 * time.Millisecond)
		last = ask()
	}
	return last
}

// readyAgain asks /readyz until it is 200, for at most 10 s and 500 asks:
// a check that timed out may still be finishing (then it says so). Any 503
// may be a leftover: a check begun while the store was cut, or a pooled
// connection the cut ended, found dead by the next write.
func readyAgain(h *harness) page {
	return askUntil(500, func() page { return h.browser().get("readyz") }, func(p page) bool { return p.status != http.StatusOK })
}

// The audit page's Older and Newer links page by keyset through every
// operation once, and the heading gives the kept total.
func TestTheAuditPagesLinksWalkEveryOperationOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	ctx := context.Background()
	for i := range 120 {
		if _, err := h.audit.Append(ctx, audit.Event{Action: audit.ActionCheck, User: "op1", InstanceID: "i-walk" + strconv.Itoa(i), State: audit.StateSucceeded}); err != nil {
			t.Fatal(err)
		}
	}
	b := h.loggedIn("adm")
	p := b.get("audit")
	want := h.audit
	_, total, err := want.Operations(ctx, audit.Filter{Actions: audit.Shown})
	if err != nil {
		t.Fatal(err)
	}
	if head := p.doc.Find("#history-h").Text(); !strings.Contains(head, "("+strconv.Itoa(total)+")") {
		t.Fatalf("heading %q, %d operations", head, total)
	}
	seen := map[string]bool{}
	var pages []string
	for range 10 {
		p.doc.Find("#history-h").Parent().Find("tr[data-audit-id]").Each(func(_ int, s *goquery.Selection) {
			id := s.AttrOr("data-audit-id", "")
			if seen[id] {
				t.Fatalf("operation %s shown twice", id)
			}
			seen[id] = true
		})
		next, ok := p.doc.Find(`a[rel=next]`).Attr("href")
		if !ok {
			break
		}
		pages = append(pages, next)
		p = b.get(strings.TrimPrefix(next, h.cfg.BasePath()))
	}
	if len(seen) != total || len(pages) != (total-1)/50 {
		t.Fatalf("%d operations over %d links, %d in the log", len(seen), len(pages), total)
	}
	prev, ok := p.doc.Find(`a[rel=prev]`).Attr("href")
	if !ok || !strings.Contains(prev, "after=") {
		t.Fatalf("the last page links back by %q", prev)
	}
	if back := b.get(strings.TrimPrefix(prev, h.cfg.BasePath())); back.doc.Find("#history-h").Parent().Find("tr[data-audit-id]").Length() != 50 {
		t.Fatal("the page before the last does not hold 50 operations")
	}
}
