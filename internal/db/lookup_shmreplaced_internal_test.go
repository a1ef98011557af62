package db

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// A -shm put back under its name by a tool while the database is open (a
// copy moved over it: another file) is not the one this process's SQLite
// reads through, which keeps the file it opened; a lookup's connection
// dialled since answers this process's own commits all the same.
func TestALookupSeesThisProcesssCommitsAfterTheShmIsReplacedUnderItsName(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "replaced.db")
	d, l := oneRowLookup(t, file, 0)
	var n int64
	shm := file + "-shm"
	if out, err := exec.Command("sh", "-c", `cp "$1" "$1.copy" && mv "$1.copy" "$1"`, "sh", shm).CombinedOutput(); err != nil {
		t.Fatalf("replace the -shm: %v %s", err, out)
	}
	for len(l.free) > 0 { // its connections fail: the next call dials
		l.put(<-l.free, os.ErrInvalid)
	}
	for i := range 2 {
		if err := l.Row(ctx, 1, &n); err != nil || n != 0 {
			t.Fatalf("call %d after the new dial: %d %v", i, n, err)
		}
	}
	if _, err := d.Write.ExecContext(ctx, "UPDATE one_t SET n = 1 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Row(ctx, 1, &n); err != nil || n != 1 {
		t.Fatalf("after this process's commit: %d %v, not 1", n, err)
	}
}

// oneRowLookup opens file with Open, puts row (1, n) in a table one_t, and
// has a lookup of one_t's n read it once.
func oneRowLookup(t *testing.T, file string, n int64) (*DB, *Lookup) {
	t.Helper()
	ctx := context.Background()
	d, err := Open(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Write.ExecContext(ctx, "CREATE TABLE one_t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL); INSERT INTO one_t VALUES (1, ?)", n); err != nil {
		t.Fatal(err)
	}
	l, err := d.Read.PrepareLookup(ctx, "SELECT n FROM one_t WHERE id = ?", 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var got int64
	if err := l.Row(ctx, 1, &got); err != nil || got != n {
		t.Fatalf("first: %d %v, not %d", got, err, n)
	}
	return d, l
}
