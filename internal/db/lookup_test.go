package db_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
)

// A lookup answers from the database as it is at each call, on every one
// of its connections at once: a commit by another process's connections is
// seen by every call that begins after it; it cannot write (SQLite's
// connections are the read pool's kind); a key with no row is
// sql.ErrNoRows; a column of another type is an error that leaves the
// lookup working; a closed lookup answers db.ErrClosed.
func TestALookupAnswersFromTheDatabaseAsItIsAtEachCall(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		d, other := opened(t, dsn), opened(t, dsn) // other: as the CLI's connections
		if _, err := d.Write.ExecContext(ctx, "CREATE TABLE lookup_t (id INTEGER PRIMARY KEY, n BIGINT NOT NULL, s TEXT NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.ExecContext(ctx, "INSERT INTO lookup_t (id, n, s) VALUES (1, 0, 'zero')"); err != nil {
			t.Fatal(err)
		}
		l, err := d.Read.PrepareLookup(ctx, "SELECT n, s FROM lookup_t WHERE id = ?", 2)
		if err != nil {
			t.Fatal(err)
		}
		for step := range int64(5) {
			if step > 0 {
				if _, err := other.Write.ExecContext(ctx, "UPDATE lookup_t SET n = ?, s = ? WHERE id = 1", step, strconv.FormatInt(step, 10)); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			for range 16 { // more than the lookup's connections
				wg.Go(func() {
					var n int64
					var s string
					if err := l.Row(ctx, 1, &n, &s); err != nil || n != step || (step > 0 && s != strconv.FormatInt(step, 10)) {
						t.Errorf("step %d: %d %q %v", step, n, s, err)
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
		}
		var n int64
		var s string
		if err := l.Row(ctx, 2, &n, &s); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("no row: %v", err)
		}
		if err := l.Row(ctx, 1, &s, &n); err == nil {
			t.Fatal("an integer read into a string, and text into an integer")
		}
		if err := l.Row(ctx, 1, &n); err == nil {
			t.Fatal("one destination for two columns")
		}
		if err := l.Row(ctx, 1, &n, &s); err != nil || n != 4 {
			t.Fatalf("after the errors: %d %v", n, err)
		}
		if d.Dialect == db.SQLite { // opened as the read pool is: query_only
			w, err := d.Read.PrepareLookup(ctx, "UPDATE lookup_t SET n = n + 1 WHERE id = ? RETURNING n", 1)
			if err == nil {
				err = w.Row(ctx, 1, &n)
			}
			if err == nil {
				t.Fatal("a lookup on the read pool wrote")
			} else if !strings.Contains(err.Error(), "readonly") {
				t.Fatalf("a write refused for another reason: %v", err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Row(ctx, 1, &n, &s); d.Dialect == db.SQLite && !errors.Is(err, db.ErrClosed) {
			t.Fatalf("closed: %v", err)
		}
	})
}
