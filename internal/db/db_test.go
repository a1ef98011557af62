package db_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ecsdash/internal/db"
	"ecsdash/internal/db/dbtest"
	migrationsFS "ecsdash/migrations"
)

// opened is the store at dsn, open and migrated, closed when the test ends.
func opened(t *testing.T, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// schema lists the tables and triggers of either database.
func schema(t *testing.T, d *db.DB) map[string]bool {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger')"
	if d.Dialect == db.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'
			UNION SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = 'public'`
	}
	rows, err := d.Read.Query(q)
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
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d := opened(t, dsn)
		got := schema(t, d)
		want := []string{"users", "audit_events", "schema_migrations", "audit_events_no_update", "audit_events_no_delete", "audit_ops"}
		if d.Dialect == db.SQLite {
			want = append(want, "audit_ops_track") // PostgreSQL's appends fold without it
		}
		for _, want := range want {
			if !got[want] {
				t.Errorf("missing %s", want)
			}
		}
	})
}

// versions is the number of migration versions (a dialect's own file
// replaces the shared one of its version).
func versions(t *testing.T) int {
	files, _ := fs.Glob(migrationsFS.FS, "*.sql")
	seen := map[string]bool{}
	for _, f := range files {
		num, _, _ := strings.Cut(f, "_")
		seen[num] = true
	}
	return len(seen)
}

func TestMigratedDatabaseOpensAgainUnchanged(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d, err := db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Write.Exec("INSERT INTO users (name, role, created_at, updated_at) VALUES ('keep', 'viewer', 'now', 'now')"); err != nil {
			t.Fatal(err)
		}
		d.Close()
		d, err = db.Open(context.Background(), dsn)
		if err != nil {
			t.Fatalf("second open: %v", err)
		}
		defer d.Close()
		var migrations, users int
		d.Read.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&migrations)
		d.Read.QueryRow("SELECT COUNT(*) FROM users").Scan(&users)
		if migrations != versions(t) || users != 1 {
			t.Fatalf("migrations=%d (of %d) users=%d", migrations, versions(t), users)
		}
	})
}

// Two replicas starting at once on one PostgreSQL database migrate once:
// the advisory lock makes the others wait, then find every version done.
func TestReplicasStartingAtOnceMigrateOnce(t *testing.T) {
	t.Parallel()
	dsn := dbtest.Postgres(t)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := db.Open(context.Background(), dsn)
			if err == nil {
				d.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a replica failed to start: %v", err)
		}
	}
	d := opened(t, dsn)
	var rows, distinct int
	d.Read.QueryRow("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations").Scan(&rows, &distinct)
	if rows != versions(t) || distinct != rows {
		t.Fatalf("schema_migrations has %d rows, %d versions (want %d once each)", rows, distinct, versions(t))
	}
}

// The append-only guard holds in both databases: UPDATE and DELETE (and
// PostgreSQL's TRUNCATE) of an audit entry are refused.
func TestAuditEventsRefuseChangeInBothDatabases(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		d := opened(t, dsn)
		if _, err := d.Write.Exec(`INSERT INTO audit_events (seq, op_id, time, action, "user", state, prev_hash, hash) VALUES (1, 1, 't', 'login', 'u', 'succeeded', 'p', 'h')`); err != nil {
			t.Fatal(err)
		}
		stmts := []string{"UPDATE audit_events SET state = 'failed'", "DELETE FROM audit_events"}
		if d.Dialect == db.Postgres {
			stmts = append(stmts, "TRUNCATE audit_events")
		}
		for _, s := range stmts {
			if _, err := d.Write.Exec(s); err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v", s, err)
			}
		}
	})
}

func TestRebindLeavesLiteralsAlone(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]string{
		"SELECT a FROM t WHERE b = ? AND c = ?":           "SELECT a FROM t WHERE b = $1 AND c = $2",
		"SELECT '?' , \"we?rd\" FROM t WHERE x IN (?, ?)": "SELECT '?' , \"we?rd\" FROM t WHERE x IN ($1, $2)",
		"SELECT 1": "SELECT 1",
	} {
		if got := db.Rebind(db.Postgres, q); got != want {
			t.Errorf("%q → %q, want %q", q, got, want)
		}
		if got := db.Rebind(db.SQLite, q); got != q {
			t.Errorf("SQLite changed %q to %q", q, got)
		}
	}
}

func TestRedactHidesThePassword(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{"postgres://dash:s3cret@db:5432/ecs", "postgresql://dash@db/ecs?password=s3cret&sslmode=require"} {
		if got := db.Redact(dsn); strings.Contains(got, "s3cret") || !strings.Contains(got, "db") {
			t.Errorf("%s → %s", dsn, got)
		}
	}
}

func TestPragmasAreSetOnBothPools(t *testing.T) {
	t.Parallel()
	d := opened(t, filepath.Join(t.TempDir(), "x.db"))
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
	d := opened(t, path)
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

// Round three, finding 9: an existing 0666 database was served, and SQLite
// created its WAL and shared memory 0666 too. The file is made private
// before it is opened, so its -wal and -shm are created private as well.
func TestAWorldReadableDatabaseIsMadePrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "open.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	d, err = db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Write.Exec("CREATE TABLE touch (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := d.Read.QueryRow("SELECT COUNT(*) FROM touch").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if m := fi.Mode().Perm(); m&0o077 != 0 {
			t.Fatalf("%s is mode %04o: open to other users", filepath.Base(p), m)
		}
	}
}
