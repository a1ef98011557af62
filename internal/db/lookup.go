package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Lookup is a prepared query of at most one row by one integer key, for a
// read that every request makes (the signed-in user's epoch). Each Row is a
// query of its own, never an answer kept from before: on SQLite a read
// transaction that sees every commit made before it began, by any
// connection or process (the CLI's too); on PostgreSQL a statement on the
// shared server.
//
// On SQLite (in WAL mode, from a file) a call needs no read transaction
// while nothing has committed since the same key was last asked: the
// WAL-index header (walindex.go), which every commit by any connection or
// process rewrites before it returns, is then as it was before that query,
// and the row is the one that query read. Any commit, of any table, makes
// the next call of every key ask again.
//
// On SQLite it runs through the driver's own prepared statement, on
// connections of its own opened as the read pool's are (WAL, query_only,
// busy_timeout): database/sql's statement, connection bookkeeping, rows,
// arguments and conversions were most of the query's allocations and about
// a third of its time. On PostgreSQL, where the round trip dominates and
// each connection counts against the server's max_connections, it is the
// pool's prepared statement.
type Lookup struct {
	cols int

	// SQLite: connections with the statement prepared on each.
	open  func() (driver.Conn, error)
	q     string
	free  chan *lookupConn
	slots chan struct{} // a token for each connection that may be opened
	mu    sync.Mutex    // held while a connection is given back or the Lookup closed
	shut  atomic.Bool

	seenMu sync.RWMutex
	seen   map[int64]*seenRow // the last row read of each key, with the header it was read under
	asked  atomic.Int64       // queries run (for tests)

	// PostgreSQL (or a SQLite pool opened without a DSN of its own).
	stmt *sql.Stmt
	pool *Pool // whose failover rule a read found on a dead connection follows (deadconn.go)
}

// lookupConns is how many connections a SQLite Lookup opens at most: the
// read pool's size (the query is CPU work in this process, with nothing to
// wait on but a writer's checkpoint).
const lookupConns = 4

// maxLookupCols bounds a Lookup's columns.
const maxLookupCols = 8

// maxSeen bounds the rows a Lookup keeps (the users signed in at once);
// past it they are dropped and asked again.
const maxSeen = 4096

// seenRow is a key's row as a query read it, and the WAL-index (and its
// header, read before that query began) it may be answered again under.
// Never changed once kept.
type seenRow struct {
	wal  *walIndex
	at   walHeader
	vals [maxLookupCols]driver.Value // int64 or string
}

// lookupConn is one connection with the statement prepared on it, and the
// argument and row buffers its queries reuse.
type lookupConn struct {
	c    driver.Conn
	stmt driver.Stmt
	wal  *walIndex // the -shm this connection has open, nil when there is none
	args [1]driver.NamedValue
	row  [maxLookupCols]driver.Value
}

// PrepareLookup prepares q, a query of cols columns (each read into an
// *int64 or a *string) with one placeholder, the key.
func (p *Pool) PrepareLookup(ctx context.Context, q string, cols int) (*Lookup, error) {
	if cols < 1 || cols > maxLookupCols {
		return nil, fmt.Errorf("db: a lookup of %d columns (1 to %d)", cols, maxLookupCols)
	}
	l := &Lookup{cols: cols}
	if p.Dialect != SQLite || p.dsn == "" {
		st, err := p.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		l.stmt, l.pool, l.q = st, p, q
		p.keep(l)
		return l, nil
	}
	drv, dsn := p.db.Driver(), p.dsn
	l.open, l.q = func() (driver.Conn, error) { return drv.Open(dsn) }, q
	l.free, l.slots = make(chan *lookupConn, lookupConns), make(chan struct{}, lookupConns)
	for range lookupConns {
		l.slots <- struct{}{}
	}
	// The first connection now, so that a query that does not prepare
	// fails here rather than at the first request.
	c, err := l.dial()
	if err != nil {
		return nil, err
	}
	<-l.slots
	l.put(c, nil)
	p.keep(l)
	return l, nil
}

func (l *Lookup) dial() (*lookupConn, error) {
	c, err := l.open()
	if err != nil {
		return nil, err
	}
	st, err := c.Prepare(l.q)
	if err != nil {
		c.Close()
		return nil, err
	}
	if _, ok := st.(driver.StmtQueryContext); !ok {
		st.Close()
		c.Close()
		return nil, fmt.Errorf("db: the driver's %T has no QueryContext", st)
	}
	wal, err := walIndexOf(c)
	if err != nil {
		st.Close()
		c.Close()
		return nil, err
	}
	return &lookupConn{c: c, stmt: st, wal: wal}, nil
}

// walIndexOf is the WAL-index c reads through when its main database is a
// file in WAL mode (a connection in WAL mode keeps it so: leaving WAL
// needs an exclusive lock, which c's shared one prevents), else nil.
func walIndexOf(c driver.Conn) (*walIndex, error) {
	var file, mode string
	if err := pragma(c, "SELECT file FROM pragma_database_list WHERE name = 'main'", &file); err != nil {
		return nil, err
	}
	if err := pragma(c, "SELECT journal_mode FROM pragma_journal_mode", &mode); err != nil || mode != "wal" || file == "" {
		return nil, err
	}
	return openWalIndex(file), nil
}

// pragma reads one text value with q on c.
func pragma(c driver.Conn, q string, into *string) error {
	st, err := c.Prepare(q)
	if err != nil {
		return err
	}
	defer st.Close()
	qc, ok := st.(driver.StmtQueryContext)
	if !ok {
		return fmt.Errorf("db: the driver's %T has no QueryContext", st)
	}
	rows, err := qc.QueryContext(context.Background(), nil)
	if err != nil {
		return err
	}
	defer rows.Close()
	row := make([]driver.Value, 1)
	if err := rows.Next(row); err != nil {
		return fmt.Errorf("db: %s: %w", q, err)
	}
	return assign(row, []any{into})
}

// get is a free connection, a new one while fewer than lookupConns are
// open, or the first to come free.
func (l *Lookup) get(ctx context.Context) (*lookupConn, error) {
	select {
	case c := <-l.free:
		return c, nil
	default:
	}
	select {
	case c := <-l.free:
		return c, nil
	case <-l.slots:
		c, err := l.dial()
		if err != nil {
			l.slots <- struct{}{}
			return nil, err
		}
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// put gives c back, or closes it after a failure (a fresh one is opened
// when needed) or once the Lookup is closed.
func (l *Lookup) put(c *lookupConn, failed error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if failed != nil || l.shut.Load() {
		c.close()
		l.slots <- struct{}{}
		return
	}
	l.free <- c
}

func (c *lookupConn) close() {
	c.stmt.Close()
	c.c.Close()
}

// Close closes the Lookup's connections (or statement); a query running now
// closes its connection when it ends.
func (l *Lookup) Close() error {
	if l.stmt != nil {
		return l.stmt.Close()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.shut.Store(true)
	for {
		select {
		case c := <-l.free:
			c.close()
			l.slots <- struct{}{}
		default:
			return nil
		}
	}
}

// ErrClosed is a Row on a closed Lookup.
var ErrClosed = errors.New("db: the lookup is closed")

// Row runs the query for key and reads its row into dest (an *int64 or a
// *string for each column); sql.ErrNoRows when there is none. ctx bounds
// the wait for a connection (and, on PostgreSQL, the query); on SQLite the
// query itself, one row by its key from a local file, waits on nothing but
// a lock, which busy_timeout bounds, and a cancellable context would cost a
// watcher goroutine of the driver's at every call.
func (l *Lookup) Row(ctx context.Context, key int64, dest ...any) error {
	if len(dest) != l.cols {
		return fmt.Errorf("db: %d destinations for a lookup of %d columns", len(dest), l.cols)
	}
	if l.stmt != nil {
		return l.rowStmt(ctx, key, dest)
	}
	if l.shut.Load() {
		return ErrClosed
	}
	c, err := l.get(ctx)
	if err != nil {
		return err
	}
	var seen *seenRow
	if c.wal != nil {
		if at, ok := c.wal.header(); ok {
			if hit, err := l.recall(c.wal, at, key, dest); hit {
				l.put(c, nil)
				return err
			}
			seen = &seenRow{wal: c.wal, at: at}
		}
	}
	err = c.query(key, dest, seen)
	l.asked.Add(1)
	if err == nil && seen != nil {
		l.remember(key, seen)
	}
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, errLookupType) {
		l.put(c, nil) // an answer, not a failure of the connection
	} else {
		l.put(c, err)
	}
	return err
}

// recall answers key from the row kept for it, when nothing has committed
// since its query began: the header is the one read before that query.
func (l *Lookup) recall(w *walIndex, at walHeader, key int64, dest []any) (bool, error) {
	l.seenMu.RLock()
	r := l.seen[key]
	l.seenMu.RUnlock()
	if r == nil || r.wal != w || r.at != at {
		return false, nil
	}
	return true, assign(r.vals[:len(dest)], dest)
}

func (l *Lookup) remember(key int64, r *seenRow) {
	l.seenMu.Lock()
	defer l.seenMu.Unlock()
	if l.seen == nil || len(l.seen) >= maxSeen {
		l.seen = make(map[int64]*seenRow)
	}
	l.seen[key] = r
}

var errLookupType = errors.New("db: a lookup's column is not of its destination's type")

// query reads key's row into dest and, when seen is not nil, into seen's
// values too (text as strings: the driver's buffers are its own).
func (c *lookupConn) query(key int64, dest []any, seen *seenRow) (err error) {
	c.args[0] = driver.NamedValue{Ordinal: 1, Value: key}
	rows, err := c.stmt.(driver.StmtQueryContext).QueryContext(context.Background(), c.args[:])
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rows.Close(); err == nil || errors.Is(err, sql.ErrNoRows) {
			err = errors.Join(err, cerr)
		}
	}()
	row := c.row[:len(dest)]
	defer clear(row)
	if len(rows.Columns()) != len(dest) {
		return fmt.Errorf("db: a lookup's query has %d columns, not %d", len(rows.Columns()), len(dest))
	}
	if err := rows.Next(row); err == io.EOF {
		return sql.ErrNoRows
	} else if err != nil {
		return err
	}
	if err := assign(row, dest); err != nil {
		return err
	}
	if seen != nil {
		for i, v := range row {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			seen.vals[i] = v
		}
	}
	return nil
}

// assign copies a row's values into dest (*int64 or *string each).
func assign(row []driver.Value, dest []any) error {
	for i, v := range row {
		switch d := dest[i].(type) {
		case *int64:
			n, ok := v.(int64)
			if !ok {
				return fmt.Errorf("%w: column %d is %T, not an integer", errLookupType, i+1, v)
			}
			*d = n
		case *string:
			switch s := v.(type) {
			case string:
				*d = s
			case []byte:
				*d = string(s)
			default:
				return fmt.Errorf("%w: column %d is %T, not text", errLookupType, i+1, v)
			}
		default:
			return fmt.Errorf("%w: destination %d is neither an *int64 nor a *string", errLookupType, i+1)
		}
	}
	return nil
}

// rowStmt is Row through database/sql's prepared statement. The values are
// scanned into a buffer of its own, so that dest does not escape (the
// caller's variables stay on its stack).
func (l *Lookup) rowStmt(ctx context.Context, key int64, dest []any) error {
	var vals [maxLookupCols]any
	var ptrs [maxLookupCols]any
	for i := range dest {
		ptrs[i] = &vals[i]
	}
	err := l.stmt.QueryRowContext(ctx, key).Scan(ptrs[:len(dest)]...)
	if l.pool.again(ctx, l.q, err) { // a read found a dead connection: once more, on another
		err = l.stmt.QueryRowContext(ctx, key).Scan(ptrs[:len(dest)]...)
	}
	if err != nil {
		return err
	}
	row := make([]driver.Value, len(dest))
	for i := range row {
		row[i] = vals[i]
	}
	return assign(row, dest)
}
