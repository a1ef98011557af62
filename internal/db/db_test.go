package db_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"ecsdash/internal/db"
	migrationsFS "ecsdash/migrations"
)

func tables(t *testing.T, d *db.DB) map[string]bool {
	t.Helper()
	rows, err := d.Read.Query("SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out[n] = true
	}
	return out
}

func TestFreshDatabaseIsMigrated(t *testing.T) {
	t.Parallel()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := tables(t, d)
	for _, want := range []string{"users", "audit_events", "schema_migrations", "audit_events_no_update", "audit_events_no_delete", "audit_ops", "audit_ops_track"} {
		if !got[want] {
			t.Errorf("missing %s", want)
		}
	}
}

func TestMigratedDatabaseOpensAgainUnchanged(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Write.Exec("INSERT INTO users (name, role, created_at, updated_at) VALUES ('keep', 'viewer', 'now', 'now')"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = db.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	defer d.Close()
	var migrations, users int
	d.Read.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&migrations)
	d.Read.QueryRow("SELECT COUNT(*) FROM users").Scan(&users)
	files, _ := fs.Glob(migrationsFS.FS, "*.sql")
	if migrations != len(files) || users != 1 {
		t.Fatalf("migrations=%d users=%d", migrations, users)
	}
}

func TestPragmasAreSetOnBothPools(t *testing.T) {
	t.Parallel()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var mode string
	var sync, fk int
	d.Write.QueryRow("PRAGMA journal_mode").Scan(&mode)
	d.Write.QueryRow("PRAGMA synchronous").Scan(&sync)
	d.Write.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if mode != "wal" || sync != 2 || fk != 1 {
		t.Fatalf("writer: journal=%s synchronous=%d foreign_keys=%d", mode, sync, fk)
	}
	if _, err := d.Read.Exec("INSERT INTO users (name, role, created_at, updated_at) VALUES ('x', 'viewer', 'a', 'a')"); err == nil {
		t.Fatal("the read pool accepted a write")
	}
	if st := d.Write.Stats(); st.MaxOpenConnections != 1 {
		t.Fatalf("writer pool allows %d connections", st.MaxOpenConnections)
	}
}

// Finding 9: the database, its WAL and its shared memory file hold
// password hashes and the audit log: only their owner may read them.
func TestDatabaseFilesArePrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Write.Exec("INSERT INTO users (name, role, created_at, updated_at) VALUES ('w', 'viewer', 'now', 'now')"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %04o", filepath.Base(f), st.Mode().Perm())
		}
	}
}
