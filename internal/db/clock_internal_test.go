package db

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// A failed sync of the database's clock is logged, not dropped, and a run
// of failures is logged once (rate-limited), then its end once, with how
// many there were.
func TestAFailedClockSyncIsLoggedOnceARun(t *testing.T) {
	t.Parallel()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "clock.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	c := NewClock(d.Read)
	ctx := context.Background()
	c.sync(ctx, log)
	if out.Len() != 0 {
		t.Fatalf("a sync that worked was logged: %s", out.String())
	}
	gone := &Pool{db: d.Read.db, Dialect: SQLite}
	d.Read.db.Close() // every query fails from now on
	c.p = gone
	for range 10 {
		c.sync(ctx, log)
	}
	if n := strings.Count(out.String(), "the database's clock could not be read"); n != 1 {
		t.Fatalf("10 failed syncs were logged %d times (want 1):\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "level=WARN") || !strings.Contains(out.String(), "database is closed") {
		t.Fatalf("the failure is not a warning with its error:\n%s", out.String())
	}
	fresh, err := Open(context.Background(), filepath.Join(t.TempDir(), "clock2.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fresh.Close() })
	c.p = fresh.Read
	c.sync(ctx, log)
	c.sync(ctx, log)
	if n := strings.Count(out.String(), "the database's clock is read again"); n != 1 || !strings.Contains(out.String(), "failures=10") {
		t.Fatalf("the recovery is not logged once with the failures' count:\n%s", out.String())
	}
}
