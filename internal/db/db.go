// Package db opens the store: a SQLite file (the embedded default: one
// writer connection, every write serialised through it with immediate
// transactions, and a small read-only pool) or a PostgreSQL database shared
// by several replicas (one pool; writes that must not interleave take an
// advisory lock inside their transaction). It applies the embedded
// migrations to either.
package db

import (
	"cmp"
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	_ "modernc.org/sqlite"           // registers the "sqlite" driver; pure Go, no cgo

	"ecsdash/internal/secrets"
	"ecsdash/migrations"
)

// DB is the pair of pools. In SQLite, Write has exactly one connection; in
// PostgreSQL, Write and Read are the same pool.
type DB struct {
	Write   *Pool
	Read    *Pool
	Dialect Dialect
}

// Open opens the store named by dsn and migrates it: a postgres:// or
// postgresql:// URL is a PostgreSQL database, anything else a SQLite file
// (created if needed).
func Open(ctx context.Context, dsn string) (*DB, error) { return OpenWith(ctx, dsn, Options{}) }

// Options are how a store is opened.
type Options struct {
	// MaxConns bounds a PostgreSQL pool; 0: the DSN's pool_max_conns,
	// else DefaultMaxConns. (SQLite has one writer and a few readers.)
	MaxConns int

	// pingIdle is how long a PostgreSQL connection sits idle before it is
	// pinged on its way out of the pool (pgx's default, a second, when 0).
	// A test makes it long to be the busy pool, whose connections are
	// never pinged.
	pingIdle time.Duration
}

// DefaultMaxConns is a PostgreSQL pool's size when neither the flag nor the
// DSN names one: ten replicas and the CLI fit in the server's default
// max_connections of 100.
const DefaultMaxConns = 8

// idleConnTime is how long a PostgreSQL connection may sit idle before the
// pool closes it: a burst's connections go back to the server soon after.
const idleConnTime = 30 * time.Second

// OpenWith is Open with options.
func OpenWith(ctx context.Context, dsn string, o Options) (*DB, error) {
	if IsPostgresDSN(dsn) {
		return openPostgres(ctx, dsn, o)
	}
	return openSQLite(ctx, dsn)
}

func openSQLite(ctx context.Context, file string) (*DB, error) {
	// The file holds password hashes and the audit log: created private,
	// and SQLite gives its -wal and -shm files the database file's mode.
	if file != ":memory:" && !strings.HasPrefix(file, "file:") {
		if err := secrets.CreateEmpty(file); err != nil {
			return nil, fmt.Errorf("create %s: %w", file, err)
		}
		if err := private(file); err != nil {
			return nil, err
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
	wp := &Pool{db: w, Dialect: SQLite}
	if err := Migrate(ctx, wp); err != nil {
		w.Close()
		return nil, err
	}
	rdsn := dsn(file, append(common, "query_only(1)"), "")
	r, err := sql.Open("sqlite", rdsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s for reading: %w", file, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return &DB{Write: wp, Read: &Pool{db: r, Dialect: SQLite, dsn: rdsn}, Dialect: SQLite}, nil
}

func openPostgres(ctx context.Context, dsn string, o Options) (*DB, error) {
	conn, max, err := poolSize(dsn)
	if err != nil {
		return nil, err
	}
	if o.MaxConns > 0 {
		max = o.MaxConns
	}
	cfg, err := pgx.ParseConfig(conn)
	if err != nil {
		return nil, fmt.Errorf("open PostgreSQL (%s): %w", Redact(dsn), err)
	}
	pool := &Pool{Dialect: Postgres, pingIdle: cmp.Or(o.pingIdle, time.Second)}
	p := stdlib.OpenDB(*cfg, stdlib.OptionShouldPing(pool.shouldPing))
	pool.db = p
	// Enough for the page reads and the appends of one replica; the
	// server's max_connections must cover every replica's pool. A burst's
	// connections are closed once idle for idleConnTime.
	p.SetMaxOpenConns(max)
	p.SetMaxIdleConns(max)
	p.SetConnMaxIdleTime(idleConnTime)
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.PingContext(pctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("reach PostgreSQL (%s): %w", Redact(dsn), err)
	}
	if err := Migrate(ctx, pool); err != nil {
		p.Close()
		return nil, err
	}
	return &DB{Write: pool, Read: pool, Dialect: Postgres}, nil
}

// poolSize takes pool_max_conns (pgxpool's name for it) out of dsn, which
// the driver would otherwise send to the server as a setting.
func poolSize(dsn string) (string, int, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", 0, fmt.Errorf("the PostgreSQL DSN does not parse (%s)", Redact(dsn))
	}
	q := u.Query()
	if !q.Has("pool_max_conns") {
		return dsn, DefaultMaxConns, nil
	}
	n, err := strconv.Atoi(q.Get("pool_max_conns"))
	if err != nil || n < 1 || n > 1000 {
		return "", 0, fmt.Errorf("the PostgreSQL DSN's pool_max_conns %q is not a number of connections (1 to 1000)", q.Get("pool_max_conns"))
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// Redact is dsn without its password, for messages and logs.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(a DSN that does not parse)"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
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

// Close closes the pools.
func (d *DB) Close() error {
	err1 := d.Read.Close()
	if d.Write == d.Read {
		return err1
	}
	err2 := d.Write.Close()
	if err1 != nil {
		return err1
	}
	return err2
}

// Ping checks that the pools answer.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	if err := d.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	return d.Write.PingContext(ctx)
}

// Probe checks the write path the audit log takes: a transaction on the
// writer that rewrites the probe row (migrations/0011) and commits. ctx
// bounds it.
func (d *DB) Probe(ctx context.Context) error {
	var one int
	if err := d.Read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	tx, err := d.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin a write: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE ready_probe SET at = ? WHERE id = 1", time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit a write: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

// Migrate applies every embedded migration not yet recorded, in order, each
// in one transaction together with its bookkeeping row, on one connection.
// In PostgreSQL that connection holds an advisory lock throughout, so
// replicas starting at once migrate once: the others wait, then find every
// version recorded. (A small runner of our own: it knows SQLite's single
// writer and both dialects' files.)
func Migrate(ctx context.Context, p *Pool) error {
	all, err := load(p.Dialect)
	if err != nil {
		return err
	}
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if p.Has(AdvisoryLocks) {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", LockMigrations); err != nil {
			return fmt.Errorf("migrations: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", LockMigrations)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, m := range all {
		if err := apply(ctx, conn, p.Dialect, m); err != nil {
			return fmt.Errorf("migration %04d_%s (%s): %w", m.version, m.name, p.Dialect, err)
		}
	}
	return nil
}

func apply(ctx context.Context, conn *sql.Conn, d Dialect, m migration) error {
	sqlTx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &Tx{Tx: sqlTx, dialect: d}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	// The migration's own text is run as written: no placeholders, and
	// PostgreSQL's function bodies use $$ quoting that rebind must not touch.
	if _, err := tx.Tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	return tx.Commit()
}

// load reads the migrations for d: NNNN_name.sql is for both databases,
// and NNNN_name.postgres.sql or NNNN_name.sqlite.sql, where one exists,
// replaces it for that database.
func load(d Dialect) ([]migration, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return nil, err
	}
	byVersion := map[int]migration{}
	dialectOf := map[int]string{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		dialect := ""
		for _, dd := range []Dialect{SQLite, Postgres} {
			if b, ok := strings.CutSuffix(base, "."+dd.String()); ok {
				base, dialect = b, dd.String()
			}
		}
		num, rest, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || strings.Contains(rest, ".") {
			return nil, fmt.Errorf("migration file %q is not named NNNN_name.sql or NNNN_name.DIALECT.sql", n)
		}
		if dialect != "" && dialect != d.String() {
			continue
		}
		if prev, dup := byVersion[v]; dup {
			if dialectOf[v] == dialect {
				return nil, fmt.Errorf("migrations %q and %04d_%s share version %d", n, prev.version, prev.name, v)
			}
			if dialect == "" { // the dialect's own file wins
				continue
			}
		}
		body, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return nil, err
		}
		byVersion[v] = migration{version: v, name: rest, sql: string(body)}
		dialectOf[v] = dialect
	}
	out := make([]migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
