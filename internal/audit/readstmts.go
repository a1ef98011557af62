package audit

import (
	"context"
	"database/sql"
	"sync"
)

// readStmts keeps the audit page's reads prepared, by their text: parsing
// a page's join of 40 columns at every view was a quarter of the page's
// CPU (issue 25). The texts are the code's own (filters add placeholders,
// never values), so they are few; past maxReadStmts a new text is run
// unprepared rather than evicting a statement a reader may hold.
type readStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

const maxReadStmts = 128

// query runs q on the reader, through its prepared statement.
func (l *Log) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := l.reads.get(ctx, l, q, args); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return l.r.QueryContext(ctx, q, args...)
}

// queryRow is query for one row.
func (l *Log) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := l.reads.get(ctx, l, q, args); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return l.r.QueryRowContext(ctx, q, args...)
}

// get is q's statement, prepared on first use; nil when q is run as it is
// (the cache is full, the preparation failed, or an argument is a boolean,
// which only the pool's own calls convert for SQLite).
func (rs *readStmts) get(ctx context.Context, l *Log, q string, args []any) *sql.Stmt {
	for _, a := range args {
		if _, ok := a.(bool); ok {
			return nil
		}
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if st, ok := rs.m[q]; ok {
		return st
	}
	if len(rs.m) >= maxReadStmts {
		return nil
	}
	st, err := l.r.PrepareContext(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil
	}
	if rs.m == nil {
		rs.m = map[string]*sql.Stmt{}
	}
	rs.m[q] = st
	return st
}
