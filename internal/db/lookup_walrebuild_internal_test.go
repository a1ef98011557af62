package db

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// twoStepProcess starts another process that opens file and reads it; run
// (once) has it run sql, and kills it (SIGKILL) once the statements have
// returned.
func twoStepProcess(t *testing.T, file, sql string) (run func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessRunsSQL$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperFileEnv+"="+file, helperSQLEnv+"="+sql, helperDieEnv+"=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(pipe)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	wait := func(what string) {
		t.Helper()
		if line, err := out.ReadString('\n'); err != nil || !strings.Contains(line, what) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("another process, %s: %q %v\n%s", sql, line, err, stderr.String())
		}
	}
	wait("ready")
	return func() {
		t.Helper()
		in.Write([]byte("go\n"))
		wait("done")
		cmd.Process.Kill()
		cmd.Wait()
	}
}

// A SQLite lookup's kept row is never answered under a WAL-index header
// that SQLite rebuilt from the WAL file (recovery): a rebuilt header
// starts its change counter again, so the header rebuilt from an empty WAL
// is the same bytes every time, whatever committed in between. Here the
// process lets go of the database (its lookup's connections failed, its
// pool closed: no connection holds the -shm), another process commits,
// checkpoints the WAL to nothing and is killed (leaving the -shm in place),
// and the lookup's next connection rebuilds the index from the empty WAL.
func TestALookupAsksAgainAfterTheWalIndexIsRebuiltFromAnEmptyWal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "rebuilt.db")
	setup, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Write.ExecContext(ctx, "CREATE TABLE re_t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO re_t VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	setup.Close() // the last connection: checkpointed, -wal and -shm deleted

	// A process that starts on it: its first connection builds the index
	// from the empty WAL, and it reads before anything commits.
	rdsn := dsn(file, []string{"journal_mode(WAL)", "busy_timeout(5000)", "query_only(1)"}, "")
	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		t.Fatal(err)
	}
	p := &Pool{db: r, Dialect: SQLite, dsn: rdsn}
	t.Cleanup(func() { p.Close() })
	l, err := p.PrepareLookup(ctx, "SELECT n FROM re_t WHERE id = ?", 1)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := l.Row(ctx, 1, &n); err != nil || n != 0 {
		t.Fatalf("first: %d %v", n, err)
	}

	// Another process opens it: its connection holds the -shm while this
	// one has none open.
	commitAndDie := twoStepProcess(t, file, "UPDATE re_t SET n = 1 WHERE id = 1; PRAGMA wal_checkpoint(TRUNCATE)")

	// It lets go of the database: every connection of the lookup fails
	// (put with an error, as Row does after a failed query), the pool's
	// are closed.
	for len(l.free) > 0 {
		l.put(<-l.free, errors.New("a failed query"))
	}
	r.Close()

	commitAndDie()
	if err := l.Row(ctx, 1, &n); err != nil || n != 1 {
		t.Fatalf("after another process committed: %d %v, not 1", n, err)
	}
}

// The same with this process holding its connections throughout. A
// database opened again after a clean stop starts at the header rebuilt
// from its empty WAL; a row kept then, another process commits and
// checkpoints with TRUNCATE, and a second TRUNCATE (the WAL already empty:
// SQLite rewrites the header all the same) is killed between the header's
// two copies, so the next reader rebuilds the index from the empty WAL: the
// header the row was kept under. Here one byte of the second copy is
// changed from outside, which is the state such a kill leaves: copies that
// differ.
func TestALookupAsksAgainAfterAWriterKilledBetweenTheHeaderCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "torn.db")
	first, l := oneRowLookup(t, file, 0)
	l.Close()
	first.Close() // a clean stop: -wal and -shm deleted
	d, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if l, err = d.Read.PrepareLookup(ctx, "SELECT n FROM one_t WHERE id = ?", 1); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n int64
	if err := l.Row(ctx, 1, &n); err != nil || n != 0 {
		t.Fatalf("first: %d %v", n, err)
	}
	inProcess(t, file, "UPDATE one_t SET n = 1 WHERE id = 1; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_checkpoint(TRUNCATE)")
	// Byte 48+8, the second copy's iChange.
	if out, err := exec.Command("dd", "if=/dev/zero", "of="+file+"-shm", "bs=1", "count=1", "seek=56", "conv=notrunc").CombinedOutput(); err != nil {
		t.Fatalf("dd: %v\n%s", err, out)
	}
	for i := range 3 {
		if err := l.Row(ctx, 1, &n); err != nil || n != 1 {
			t.Fatalf("call %d after the index was rebuilt: %d %v, not 1", i, n, err)
		}
	}
}
