package db

import (
	"bufio"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The environment that makes TestHelperProcessRunsSQL a process of SQL
// typed by hand: the database's file, statements separated by ";", and
// whether to wait for a line on its input before them and to be killed
// after them (twoStepProcess).
const (
	helperFileEnv = "ECSDASH_TEST_HELPER_SQLITE"
	helperSQLEnv  = "ECSDASH_TEST_HELPER_SQL"
	helperDieEnv  = "ECSDASH_TEST_HELPER_SQLITE_DIE"
)

// TestHelperProcessRunsSQL is not a test: run by inProcess as another
// process (another shared-memory mapping, other POSIX locks), it runs SQL
// on the database as the sqlite3 shell would, and exits. Run by
// twoStepProcess, it first reads the database (its connection then has
// the -shm open), prints "ready" and waits for a line on its input; after
// the SQL it prints "done" and blocks until it is killed (a crash: its
// connection is never closed, so it neither checkpoints nor deletes the
// -shm).
func TestHelperProcessRunsSQL(t *testing.T) {
	file := os.Getenv(helperFileEnv)
	if file == "" {
		t.Skip("a helper process, run by the tests that need one")
	}
	dies := os.Getenv(helperDieEnv) != ""
	d, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if dies {
		d.SetMaxOpenConns(1)
		if _, err := d.Exec("SELECT count(*) FROM sqlite_schema"); err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString("ready\n")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	for q := range strings.SplitSeq(os.Getenv(helperSQLEnv), ";") {
		if _, err := d.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if dies {
		os.Stdout.WriteString("done\n")
		select {}
	}
}

// inProcess runs sql on file from another process, and waits for it.
func inProcess(t *testing.T, file, sql string) {
	t.Helper()
	if out, err := runInProcess(file, sql); err != nil {
		t.Fatalf("another process, %s: %v\n%s", sql, err, out)
	}
}

func runInProcess(file, sql string) ([]byte, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessRunsSQL$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperFileEnv+"="+file, helperSQLEnv+"="+sql)
	return cmd.CombinedOutput()
}

// What the header's rule stands on: while a lookup's connection is open,
// even with every other connection of this process closed, no other
// process can take the database out of WAL mode (after which commits would
// no longer touch the header): SQLite's WAL connections hold a shared lock
// on the database file for their life.
func TestNoOtherProcessLeavesWalModeUnderALookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "mode.db")
	d, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.Read.PrepareLookup(ctx, "SELECT ? + 1", 1)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := l.Row(ctx, 1, &n); err != nil {
		t.Fatal(err)
	}
	d.Write.db.Close() // the pools' own connections, not the lookup's
	d.Read.db.Close()
	out, err := runInProcess(file, "PRAGMA journal_mode=DELETE")
	if err == nil || !strings.Contains(string(out), "SQLITE_BUSY") {
		t.Fatalf("another process left WAL mode (or failed otherwise): %v\n%s", err, out)
	}
	l.Close()
	inProcess(t, file, "PRAGMA journal_mode=DELETE") // and can once the lookup is closed
}

// A SQLite lookup answers a key again without a query while nothing has
// committed since it last asked, and asks again after any commit by
// another process: of its row, of another table, a checkpoint that
// restarts the WAL (twice, so that the WAL holds as many frames as before,
// under new salts). Every call, on each of its connections at once,
// answers the row as it is.
func TestALookupAsksAgainAfterEveryCommitByAnotherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "wal.db")
	d, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Write.ExecContext(ctx, "CREATE TABLE wal_t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL, s TEXT NOT NULL); CREATE TABLE wal_other (n BIGINT); INSERT INTO wal_t VALUES (1, 0, 'v0')"); err != nil {
		t.Fatal(err)
	}
	l, err := d.Read.PrepareLookup(ctx, "SELECT n, s FROM wal_t WHERE id = ?", 2)
	if err != nil {
		t.Fatal(err)
	}
	everyCall := func(step string, n int64, s string) {
		t.Helper()
		var wg sync.WaitGroup
		for range 16 { // more than the lookup's connections
			wg.Go(func() {
				var gotN int64
				var gotS string
				if err := l.Row(ctx, 1, &gotN, &gotS); err != nil || gotN != n || gotS != s {
					t.Errorf("%s: %d %q %v, not %d %q", step, gotN, gotS, err, n, s)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	// asksAgain: the calls after a commit query again, and then not.
	asksAgain := func(step string, n int64, s string) {
		t.Helper()
		before := l.asked.Load()
		everyCall(step, n, s)
		if l.asked.Load() == before {
			t.Fatalf("%s: answered without asking", step)
		}
		asked := l.asked.Load()
		everyCall(step+", again", n, s)
		if got := l.asked.Load(); got != asked {
			t.Fatalf("%s, again: %d queries with nothing committed", step, got-asked)
		}
	}
	asksAgain("first", 0, "v0")
	inProcess(t, file, "UPDATE wal_t SET n = 1, s = 'v1' WHERE id = 1")
	asksAgain("its row changed", 1, "v1")
	inProcess(t, file, "INSERT INTO wal_other VALUES (1)")
	asksAgain("another table changed", 1, "v1")
	for i, s := range []string{"v2", "v3"} {
		inProcess(t, file, "PRAGMA wal_checkpoint(TRUNCATE); UPDATE wal_t SET n = "+strconv.Itoa(2+i)+", s = '"+s+"' WHERE id = 1")
		asksAgain("after a checkpoint, "+s, int64(2+i), s)
	}
	if _, err := d.Write.ExecContext(ctx, "UPDATE wal_t SET s = 'mine' WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	asksAgain("changed by this process", 3, "mine")
	var n, s2 int64
	if err := l.Row(ctx, 1, &n, &s2); err == nil {
		t.Fatal("text answered into an integer from the kept row")
	}
}

// Without a WAL-index to read, a lookup asks at every call: a database in
// memory, and one in rollback-journal mode beside a -shm file left from
// when it was in WAL mode (whose header no commit changes now).
func TestALookupWithoutAWalIndexAsksAtEveryCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("in memory", func(t *testing.T) {
		d, err := Open(ctx, ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		asksEveryTime(t, d.Read)
	})
	t.Run("a stale -shm", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "rollback.db")
		d, err := Open(ctx, file) // WAL, and its -shm
		if err != nil {
			t.Fatal(err)
		}
		shm, err := os.ReadFile(file + "-shm")
		if err != nil {
			t.Fatal(err)
		}
		d.Close()
		rb, err := sql.Open("sqlite", dsn(file, []string{"journal_mode(DELETE)"}, ""))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rb.Close() })
		var mode string
		if err := rb.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "delete" {
			t.Fatalf("journal mode %q %v", mode, err)
		}
		if err := os.WriteFile(file+"-shm", shm, 0o600); err != nil {
			t.Fatal(err)
		}
		rdsn := dsn(file, []string{"journal_mode(DELETE)", "query_only(1)"}, "")
		r, err := sql.Open("sqlite", rdsn)
		if err != nil {
			t.Fatal(err)
		}
		p := &Pool{db: r, Dialect: SQLite, dsn: rdsn}
		t.Cleanup(func() { p.Close() })
		asksEveryTime(t, p)
	})
}

func asksEveryTime(t *testing.T, p *Pool) {
	t.Helper()
	ctx := context.Background()
	l, err := p.PrepareLookup(ctx, "SELECT ? + 1", 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(3) {
		var n int64
		if err := l.Row(ctx, i, &n); err != nil || n != i+1 {
			t.Fatalf("%d: %d %v", i, n, err)
		}
		if err := l.Row(ctx, i, &n); err != nil || n != i+1 {
			t.Fatalf("%d again: %d %v", i, n, err)
		}
	}
	if got := l.asked.Load(); got != 6 {
		t.Fatalf("%d queries for 6 calls", got)
	}
}
