package handlers_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Round three, finding 3: five exports whose client never read held all
// four read connections of SQLite's pool, and every signed-in page then
// waited ~57 s. An export holds no connection while it writes, so pages
// answer; and a user has at most two exports at once.
func TestStuckExportsLeaveTheDashboardAnswering(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	// A log far larger than the sockets' buffers: the stuck exports block
	// writing it.
	ctx := context.Background()
	var base int64
	if err := h.store.Write.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM audit_events").Scan(&base); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.Write.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)
		INSERT INTO audit_events (seq, op_id, time, action, user, state, reason, prev_hash, hash)
		SELECT ? + i, ? + i, '2026-11-27T08:00:00.000000Z', 'login', 'bulk', 'failed', printf('%.1000c', 'r'), '', '' FROM n`, base, base); err != nil {
		t.Fatal(err)
	}

	stuck := func(b *browser) *bufio.Reader {
		t.Helper()
		u, _ := url.Parse(h.url("audit/export?format=csv"))
		// A small receive buffer (set before connecting, so the kernel does
		// not grow it): the server's writes block once its own buffer is full.
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) }); err != nil {
				return err
			}
			return serr
		}}
		conn, err := d.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		var cookies []string
		for _, c := range b.c.Jar.Cookies(u) {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\n\r\n", u.RequestURI(), u.Host, strings.Join(cookies, "; "))
		// The status line, then nothing more is ever read.
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReaderSize(conn, 16)
		line, err := r.ReadString('\n')
		if err != nil || !strings.Contains(line, "200") {
			t.Fatalf("a stuck export did not start: %q %v", line, err)
		}
		return r
	}
	appr, appr2, op := h.loggedIn("appr"), h.loggedIn("appr2"), h.loggedIn("op1")
	op.c.Timeout = 20 * time.Second
	for _, b := range []*browser{appr, appr, appr2, appr2} {
		stuck(b)
	}

	// Another signed-in page answers.
	began := time.Now()
	p := op.get("instances")
	t.Logf("the instances page answered %d in %v during four stuck exports", p.status, time.Since(began))
	if p.status != http.StatusOK {
		t.Fatalf("the instances page during four stuck exports answered %d", p.status)
	}
	if p := appr.get("audit/export?format=csv"); p.status != http.StatusConflict || !strings.Contains(p.body, "exports of the audit log running") {
		t.Fatalf("a third export of one user at once answered %d", p.status)
	}
}
