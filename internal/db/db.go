// Package db opens the SQLite database: one writer connection (every write is
// serialised through it, with immediate transactions) and a small read-only
// pool, and applies the embedded migrations.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"ecsdash/internal/secrets"
	"ecsdash/migrations"

	_ "modernc.org/sqlite" // registers the "sqlite" driver; pure Go, no cgo
)

// DB is the pair of pools. Write has exactly one connection.
type DB struct {
	Write *sql.DB
	Read  *sql.DB
}

// Open opens (creating if needed) the database at file and migrates it.
func Open(ctx context.Context, file string) (*DB, error) {
	// The file holds password hashes and the audit log: created private,
	// and SQLite gives its -wal and -shm files the database file's mode.
	if file != ":memory:" && !strings.HasPrefix(file, "file:") {
		if err := secrets.CreateEmpty(file); err != nil {
			return nil, fmt.Errorf("create %s: %w", file, err)
		}
	}
	// synchronous(FULL): the audit log must survive power loss, so a commit
	// waits for the WAL to reach the disk.
	common := []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(5000)"}
	w, err := sql.Open("sqlite", dsn(file, common, "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s for writing: %w", file, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	if err := Migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(file, append(common, "query_only(1)"), ""))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", file, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return &DB{Write: w, Read: r}, nil
}

func dsn(file string, pragmas []string, extra string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	s := "file:" + file + "?" + q.Encode()
	if extra != "" {
		s += "&" + extra
	}
	return s
}

// Close closes both pools.
func (d *DB) Close() error {
	err1 := d.Read.Close()
	err2 := d.Write.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// Ping checks that both pools answer.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	return d.Write.PingContext(ctx)
}

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate applies every embedded migration not yet recorded, in order, each
// in one transaction together with its bookkeeping row. A small runner of our
// own: it runs on the single writer connection with immediate transactions,
// which a generic tool would not know about.
func Migrate(ctx context.Context, w *sql.DB) error {
	if _, err := w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	all, err := load()
	if err != nil {
		return err
	}
	for _, m := range all {
		if err := apply(ctx, w, m); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	return nil
}

func apply(ctx context.Context, w *sql.DB, m migration) error {
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	return tx.Commit()
}

func load() ([]migration, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	seen := map[int]string{}
	for _, n := range names {
		num, rest, ok := strings.Cut(strings.TrimSuffix(path.Base(n), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql", n)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %q and %q share version %d", prev, n, v)
		}
		seen[v] = n
		body, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: rest, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
