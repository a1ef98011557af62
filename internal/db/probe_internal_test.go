package db

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// A store that answers reads but refuses writes (a read-only file) passes
// a ping and fails the write check.
func TestProbeFailsOnAReadOnlyStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "ro.db")
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	ro, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	p := &Pool{db: ro, Dialect: SQLite}
	rd := &DB{Write: p, Read: p, Dialect: SQLite}
	if err := rd.Ping(context.Background()); err != nil {
		t.Fatalf("the read-only store does not even answer a ping: %v", err)
	}
	if err := rd.Probe(context.Background()); err == nil {
		t.Fatal("the write check passed on a read-only store")
	}
}
