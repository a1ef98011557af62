package db

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// shmTruncatedEnv makes TestHelperProcessReadsATruncatedShm a process of
// its own (a fault in it would end the process, not fail a test).
const shmTruncatedEnv = "ECSDASH_TEST_HELPER_SHM_TRUNCATED"

// TestHelperProcessReadsATruncatedShm is not a test: run by
// TestALookupFailsRatherThanCrashesOnATruncatedShm as another process, it
// keeps a row, has the -shm cut to nothing under the lookup, and asks again.
func TestHelperProcessReadsATruncatedShm(t *testing.T) {
	dir := os.Getenv(shmTruncatedEnv)
	if dir == "" {
		t.Skip("a helper process, run by the tests that need one")
	}
	ctx := context.Background()
	file := filepath.Join(dir, "cut.db")
	_, l := oneRowLookup(t, file, 7)
	var n int64
	// Cut by another process (a tool, a person: SQLite itself never cuts a
	// -shm that a process has open, nor below its first page).
	if out, err := exec.Command("truncate", "-s", "0", file+"-shm").CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	for i := range 3 {
		err := l.Row(ctx, 1, &n)
		if err == nil && n != 7 {
			t.Fatalf("call %d: %d, not 7", i, n)
		}
		t.Logf("call %d: %d %v", i, n, err)
	}
}

// A -shm cut to nothing under a lookup (its mapping then has no page
// behind it) fails a call or answers it from the database; the process
// lives on, as it does when SQLite's own reads of the -shm fault (the
// driver turns those into SQLITE_IOERR_IN_PAGE).
func TestALookupFailsRatherThanCrashesOnATruncatedShm(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessReadsATruncatedShm$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), shmTruncatedEnv+"="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "call 2:") {
		t.Fatalf("the process reading a truncated -shm: %v\n%s", err, firstLines(out, 12))
	}
}

func firstLines(b []byte, n int) string {
	lines := strings.SplitN(string(b), "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
