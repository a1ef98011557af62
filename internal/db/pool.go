package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialect is the SQL a database speaks.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// RowID is the name of a row's own id in d's tables (SQLite's rowid,
// PostgreSQL's ctid), to pick one of several rows alike.
func (d Dialect) RowID() string {
	if d == Postgres {
		return "ctid"
	}
	return "rowid"
}

// Cap is something a store can do beyond the portable SQL every query is
// written in. Code asks for the capability it needs, not which database it
// is, so a third dialect is one row of dialectCaps.
type Cap uint8

// The capabilities.
const (
	Shared         Cap = 1 << iota // several replicas may share the store (each names its entries; throttles and form tokens live in it)
	AdvisoryLocks                  // a session may hold a named lock across processes
	Pipeline                       // statements pipelined on one connection (Pool.Raw)
	NumberedParams                 // placeholders are $1, $2, …: queries written with ? are rebound
	IntegerBools                   // booleans are passed as 0 and 1 (the audit columns are integers in both)
	IndexedBy                      // a query may name the index it reads (FROM t INDEXED BY i), for a planner without statistics
)

var dialectCaps = map[Dialect]Cap{
	SQLite:   IndexedBy,
	Postgres: Shared | AdvisoryLocks | Pipeline | NumberedParams | IntegerBools,
}

// Has reports whether the dialect has every capability of c.
func (d Dialect) Has(c Cap) bool { return dialectCaps[d]&c == c }

// Pool is a database/sql pool that speaks one dialect. Queries are written
// once, with ? placeholders and portable SQL; for PostgreSQL each is
// rebound to $1, $2, … on its way in, and booleans become 0/1 (the audit
// columns are integers in both databases). The *sql.DB is not embedded:
// its own methods would take a query past the rebinding.
type Pool struct {
	db      *sql.DB
	Dialect Dialect
	dsn     string // SQLite's read pool: how its connections are opened (PrepareLookup's)

	mu      sync.Mutex
	lookups []*Lookup // closed with the pool

	pingIdle time.Duration // a connection idle longer is pinged before it is used (PostgreSQL)
	lost     atomic.Int64  // when a connection was last found dead (unix ns): those used before are pinged
}

// Has reports whether the pool's dialect has every capability of c.
func (p *Pool) Has(c Cap) bool { return p.Dialect.Has(c) }

// Close closes the pool and its lookups.
func (p *Pool) Close() error {
	p.mu.Lock()
	ls := p.lookups
	p.lookups = nil
	p.mu.Unlock()
	var err error
	for _, l := range ls {
		err = errors.Join(err, l.Close())
	}
	return errors.Join(err, p.db.Close())
}

func (p *Pool) keep(l *Lookup) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups = append(p.lookups, l)
}

// PingContext checks that the database answers.
func (p *Pool) PingContext(ctx context.Context) error { return p.db.PingContext(ctx) }

// Stats are the pool's connection statistics.
func (p *Pool) Stats() sql.DBStats { return p.db.Stats() }

// Tx is a transaction on a Pool.
type Tx struct {
	*sql.Tx
	dialect Dialect
	pool    *Pool
}

// A write is never asked again: its outcome is unknown when its
// connection died (database/sql itself asks again only what was never
// sent). Its failure still has the pool ping the connections it holds.
func (p *Pool) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := p.db.ExecContext(ctx, Rebind(p.Dialect, q), values(p.Dialect, args)...)
	p.again(ctx, "", err)
	return r, err
}

func (p *Pool) Exec(q string, args ...any) (sql.Result, error) {
	return p.ExecContext(context.Background(), q, args...)
}

// A read that failed on a connection found dead is asked once again.
func (p *Pool) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q, args = Rebind(p.Dialect, q), values(p.Dialect, args)
	rows, err := p.db.QueryContext(ctx, q, args...)
	if p.again(ctx, q, err) {
		rows, err = p.db.QueryContext(ctx, q, args...)
	}
	return rows, err
}

func (p *Pool) Query(q string, args ...any) (*sql.Rows, error) {
	return p.QueryContext(context.Background(), q, args...)
}

// A read that failed on a connection found dead is asked once again.
func (p *Pool) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	q, args = Rebind(p.Dialect, q), values(p.Dialect, args)
	row := p.db.QueryRowContext(ctx, q, args...)
	if p.again(ctx, q, row.Err()) {
		row = p.db.QueryRowContext(ctx, q, args...)
	}
	return row
}

func (p *Pool) QueryRow(q string, args ...any) *sql.Row {
	return p.QueryRowContext(context.Background(), q, args...)
}

// PrepareContext prepares q. A prepared statement's arguments are passed as
// they are: callers pass no booleans to one.
func (p *Pool) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return p.db.PrepareContext(ctx, Rebind(p.Dialect, q))
}

// A BEGIN that failed on a connection found dead is asked once again: no
// statement of the transaction was sent.
func (p *Pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := p.db.BeginTx(ctx, opts)
	if p.again(ctx, "BEGIN", err) {
		tx, err = p.db.BeginTx(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, dialect: p.Dialect, pool: p}, nil
}

func (p *Pool) Begin() (*Tx, error) { return p.BeginTx(context.Background(), nil) }

func (t *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	r, err := t.Tx.ExecContext(ctx, Rebind(t.dialect, q), values(t.dialect, args)...)
	t.pool.again(ctx, "", err)
	return r, err
}

func (t *Tx) Exec(q string, args ...any) (sql.Result, error) {
	return t.ExecContext(context.Background(), q, args...)
}

func (t *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := t.Tx.QueryContext(ctx, Rebind(t.dialect, q), values(t.dialect, args)...)
	t.pool.again(ctx, "", err)
	return rows, err
}

func (t *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, Rebind(t.dialect, q), values(t.dialect, args)...)
}

// Lock keys: one per thing serialised across replicas.
const (
	LockMigrations int64 = 0x65637364_0001 // "ecsd" 1
	LockAuditChain int64 = 0x65637364_0002
)

// Rebind turns ? placeholders into $n for PostgreSQL, leaving string
// literals and quoted identifiers alone.
func Rebind(d Dialect, q string) string {
	if !d.Has(NumberedParams) || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func values(d Dialect, args []any) []any {
	if !d.Has(IntegerBools) {
		return args
	}
	var out []any // a copy, made only when a boolean needs converting
	for i, a := range args {
		if v, ok := a.(bool); ok {
			if out == nil {
				out = append([]any(nil), args...)
			}
			out[i] = int64(0)
			if v {
				out[i] = int64(1)
			}
		}
	}
	if out == nil {
		return args
	}
	return out
}

// IsUnique reports whether err is a unique-constraint violation, in either
// database.
func IsUnique(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database rather than
// a SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Raw runs f on one connection of a PostgreSQL pool as pgx sees it, for a
// pipeline of statements that database/sql would send one round trip at a
// time. A transaction f leaves open is rolled back (and its connection
// dropped if that fails).
func (p *Pool) Raw(ctx context.Context, f func(*pgx.Conn) error) error {
	if !p.Has(Pipeline) {
		return errors.New("db: Raw is for PostgreSQL")
	}
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("db: a %T is not a pgx connection", dc)
		}
		err := f(c.Conn())
		// Whatever f left, the connection goes back outside any transaction
		// (a failed statement in a pipeline leaves its BEGIN's block open).
		if st := c.Conn().PgConn().TxStatus(); st != 'I' {
			if _, rerr := c.Conn().Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				return errors.Join(err, driver.ErrBadConn)
			}
			if err == nil {
				err = fmt.Errorf("db: a transaction was left open (status %c) and rolled back", st)
			}
		}
		return err
	})
	p.again(ctx, "", err) // never asked again: an append's outcome is unknown
	return err
}
