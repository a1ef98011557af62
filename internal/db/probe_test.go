package db_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"ecsdash/internal/db/dbtest"
)

// The write check passes on a healthy store of either kind.
func TestProbeWritesOnAHealthyStore(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		if err := opened(t, dsn).Probe(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// While another connection holds SQLite's write lock, the write check
// fails by its deadline instead of waiting it out.
func TestProbeFailsWhileAnotherConnectionHoldsTheWriteLock(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "locked.db")
	d := opened(t, path)
	other, err := sql.Open("sqlite", "file:"+path)
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
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := d.Probe(ctx); err == nil {
		t.Fatal("the write check passed while another connection held the write lock")
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := d.Probe(context.Background()); err != nil {
		t.Fatalf("after the lock was released: %v", err)
	}
}
