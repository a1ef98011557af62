package handlers_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db/dbtest"
)

// Two dashboards on one database, the second on a host whose wall clock is
// off by skew; the database's clock is the first's.
func skewedPair(t *testing.T, dsn string, skew time.Duration, extra ...string) (a, b *harness) {
	t.Helper()
	dir := t.TempDir()
	if !strings.Contains(dsn, "://") {
		dsn = filepath.Join(dir, "dash.db")
	}
	keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
	args := func(id string) []string {
		return append([]string{"--audit-key-file", filepath.Join(dir, "audit-key"), "--replica-id", id,
			"--approval-ttl", "1h", "--idle-timeout", "30m", "--session-lifetime", "8h"}, extra...)
	}
	a = newHarness(t, opts{dbPath: dsn, keys: keys, args: args("straight")})
	b = newHarness(t, opts{dbPath: dsn, keys: keys, args: args("skewed"), hostSkew: skew})
	return a, b
}

// A host whose clock is hours ahead neither ends a live session nor
// expires a live request: both windows are measured on the database's
// clock.
func TestAHostClockFarAheadEndsNoLiveSessionOrRequest(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		a, b := skewedPair(t, dsn, 3*time.Hour)
		id, _ := requestInit(t, a, "op1")
		appr := a.loggedIn("appr")
		onB := appr.on(b)
		if p := onB.get("audit"); p.status != http.StatusOK {
			t.Fatalf("a session started a moment ago ended on the host 3 h ahead: %d", p.status)
		}
		if p := decide(t, onB, id, "approve", nil); p.status != http.StatusSeeOther {
			t.Fatalf("approving a request made a moment ago, on the host 3 h ahead: %d", p.status)
		}
		op, _ := b.audit.Operation(t.Context(), id)
		if op.Last.State != audit.StateSucceeded {
			t.Fatalf("request %d is %s", id, op.Last.State)
		}
	})
}

// A host whose clock is hours behind keeps no request past its time and no
// session past its idle time.
func TestAHostClockFarBehindKeepsNoDeadSessionOrRequest(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		a, b := skewedPair(t, dsn, -2*time.Hour)
		id, _ := requestInit(t, a, "op1")
		appr := a.loggedIn("appr")
		b.advance(2 * time.Hour) // two hours pass; the skewed host's clock reads the request's time still
		onB := appr.on(b)
		if p := onB.get("audit"); p.status != http.StatusSeeOther {
			t.Fatalf("a session idle for 2 h still works on the host 2 h behind: %d", p.status)
		}
		approver := b.loggedIn("appr")
		if p := decide(t, approver, id, "approve", nil); p.status != http.StatusConflict {
			t.Fatalf("approving a request 2 h old (time to approve: 1 h) on the host 2 h behind: %d", p.status)
		}
		if n := b.sim.Calls("StartInstance"); n != 0 {
			t.Fatalf("an expired request was started (%d calls)", n)
		}
	})
}
