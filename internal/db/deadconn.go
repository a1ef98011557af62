package db

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// After PostgreSQL restarts (a failover, an operator ending backends),
// every connection the pool holds is dead, and a busy pool (each used
// within the second, so pgx pings none on its way out) would fail one
// request on each. Instead, the first connection found dead marks the
// moment: every connection last used before it is pinged before its next
// use, and database/sql replaces those that fail the ping, unseen. The
// request that found it is asked again when that is safe: a read, or a
// BEGIN; a write's outcome is unknown, so it fails.

// shouldPing is pgx's question on a connection's way out of the pool.
func (p *Pool) shouldPing(_ context.Context, c stdlib.ShouldPingParams) bool {
	if c.IdleDuration > p.pingIdle {
		return true
	}
	lost := p.lost.Load()
	return lost != 0 && time.Now().Add(-c.IdleDuration).UnixNano() <= lost
}

// again notes a connection found dead by err and reports whether q, which
// failed on it, is to be asked once again: only a read or a BEGIN ("" for
// a statement that never is), and only while ctx lasts.
func (p *Pool) again(ctx context.Context, q string, err error) bool {
	if p == nil || err == nil || !deadConn(err) { // nil: a migration's transaction, on a connection of its own
		return false
	}
	p.lost.Store(time.Now().UnixNano())
	return ctx.Err() == nil && (q == "BEGIN" || isRead(q))
}

// deadConn reports whether err says the connection itself is gone: the
// server ended its backend (57P01 admin_shutdown, 57P02 crash_shutdown,
// 57P05 idle_session_timeout, a class 08 connection exception) or the
// socket closed under it. A timeout or a cancel is the caller's, and a
// failed connect is no pooled connection.
func deadConn(err error) bool {
	if pgconn.Timeout(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P05" || strings.HasPrefix(pg.Code, "08")
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// isRead reports whether q only reads, so asking it twice is asking it
// once: a SELECT. (Locks are taken on a connection or in a transaction,
// never through the pool; one named here is not a read all the same.)
func isRead(q string) bool {
	q = strings.TrimLeft(q, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT") && !strings.Contains(q, "pg_advisory")
}
