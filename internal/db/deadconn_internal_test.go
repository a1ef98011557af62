package db

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/db/dbtest"
)

// killBackends ends every connection to the database of dsn, as a
// failover does to a replica's pool (the server itself keeps running).
func killBackends(t *testing.T, dsn string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", os.Getenv(dbtest.Env))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ctx := t.Context()
	if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", u.Path[1:]); err != nil {
		t.Fatal(err)
	}
	// pg_terminate_backend only signals: wait until the backends are gone.
	for i := 0; ; i++ {
		var n int
		if err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", u.Path[1:]).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if i == 200 {
			t.Fatalf("%d backends of the test's database still run", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failedOver is a busy pool of conns connections (none pinged for being
// idle) to a test database with a table failover_t (n integer), every one
// of its connections open and idle, then killed by the server; prepare,
// if given, is called on the pool before its connections are used.
func failedOver(t *testing.T, conns int, prepare ...func(*Pool)) *Pool {
	t.Helper()
	dsn := dbtest.Postgres(t)
	d, err := OpenWith(t.Context(), dsn, Options{MaxConns: conns, pingIdle: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	p := d.Write
	if _, err := p.ExecContext(t.Context(), "CREATE TABLE failover_t (n integer)"); err != nil {
		t.Fatal(err)
	}
	for _, f := range prepare {
		f(p)
	}
	// Used twice (pgx pings a connection on its first reuse) and idle.
	for range 2 {
		holdAll(t, p, conns)
	}
	if s := p.Stats(); s.Idle != conns || s.OpenConnections != conns {
		t.Fatalf("the pool holds %d connections, %d idle, want %d", s.OpenConnections, s.Idle, conns)
	}
	killBackends(t, dsn)
	return p
}

// holdAll takes n connections of p at once, then gives them back.
func holdAll(t *testing.T, p *Pool, n int) {
	t.Helper()
	var wg sync.WaitGroup
	hold := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			tx, err := p.BeginTx(t.Context(), nil)
			if err != nil {
				errs <- err
				return
			}
			<-hold
			errs <- tx.Rollback()
		})
	}
	for p.Stats().InUse < n && len(errs) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	close(hold)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// After the database ends every backend of a busy pool (a failover), the
// reads that follow are all answered: the one that finds a dead connection
// is asked again, and the other dead connections are pinged and replaced
// before anything is sent on them, so the writes after it succeed too.
func TestAfterAFailoverReadsAreAnsweredAndDeadConnectionsReplaced(t *testing.T) {
	const conns = 4
	p := failedOver(t, conns)
	ctx := t.Context()
	for i := range conns + 1 {
		var n int
		if err := p.QueryRowContext(ctx, "SELECT count(*) FROM failover_t").Scan(&n); err != nil {
			t.Fatalf("read %d after the failover: %v", i+1, err)
		}
		rows, err := p.QueryContext(ctx, "SELECT n FROM failover_t")
		if err != nil {
			t.Fatalf("rows read %d after the failover: %v", i+1, err)
		}
		rows.Close()
	}
	for i := range conns + 1 {
		if _, err := p.ExecContext(ctx, "INSERT INTO failover_t (n) VALUES (?)", i); err != nil {
			t.Fatalf("write %d after the failover: %v", i+1, err)
		}
	}
}

// The user's stamp, the first query of every signed-in request, is a
// Lookup: after a failover it too is answered at every request, not with
// one failure for each dead connection.
func TestAfterAFailoverEveryLookupIsAnswered(t *testing.T) {
	const conns = 4
	var l *Lookup
	failedOver(t, conns, func(p *Pool) {
		var err error
		if l, err = p.PrepareLookup(t.Context(), "SELECT count(*) FROM failover_t WHERE n <> ?", 1); err != nil {
			t.Fatal(err)
		}
	})
	for i := range conns + 1 {
		var n int64
		if err := l.Row(t.Context(), -1, &n); err != nil {
			t.Fatalf("lookup %d after the failover: %v", i+1, err)
		}
	}
}

// Only what changes nothing is asked again; a write whose connection died
// has an unknown outcome, and a timeout is the caller's.
func TestOnlyAReadOnADeadConnectionIsAskedAgain(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                           true,
		"  select count(*) FROM audit_log":   true,
		"(SELECT 1) UNION (SELECT 2)":        true,
		"INSERT INTO t VALUES (1)":           false,
		"UPDATE t SET n = 1":                 false,
		"WITH x AS (DELETE FROM t) SELECT 1": false,
		"SELECT pg_advisory_lock(1)":         false,
	} {
		if got := isRead(q); got != want {
			t.Errorf("isRead(%q) = %v, want %v", q, got, want)
		}
	}
	if deadConn(context.DeadlineExceeded) {
		t.Error("a deadline is taken for a dead connection")
	}
}

// A write sent on a connection the failover killed is not asked again (its
// outcome is unknown to the pool): it fails, in words a 503 is made of,
// and the writes after it go to live connections.
func TestAfterAFailoverAWriteOnADeadConnectionIsNotAskedAgain(t *testing.T) {
	p, ctx := failedOver(t, 2), t.Context()
	_, err := p.ExecContext(ctx, "INSERT INTO failover_t (n) VALUES (1)")
	if err == nil || !Unavailable(err) {
		t.Fatalf("a write on a killed connection: %v, want the dead connection's error", err)
	}
	if _, err := p.ExecContext(ctx, "INSERT INTO failover_t (n) VALUES (2)"); err != nil {
		t.Fatalf("the write after it: %v", err)
	}
	var n int
	if err := p.QueryRowContext(ctx, "SELECT count(*) FROM failover_t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d rows (%v), want the one write after the failed one", n, err)
	}
}
