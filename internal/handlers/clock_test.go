package handlers_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/users"
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

// An API token's life is measured on the database's clock: a host hours
// ahead does not end a live token early, and one hours behind does not keep
// an expired one alive.
func TestAPITokensLiveTheirTimeOnTheDatabasesClockWhateverTheHostsClock(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		a, ahead := skewedPair(t, dsn, 3*time.Hour)
		_, text := a.tokenFor("op1", users.TokenOptions{Name: "ci", ExpiresIn: time.Hour})
		if r := ahead.api(text).do("GET", "instances", nil); r.status != http.StatusOK {
			t.Fatalf("a token made a moment ago to live an hour, on the host 3 h ahead: %d %s", r.status, r.raw)
		}
	})
	dbtest.Each(t, func(t *testing.T, dsn string) {
		a, behind := skewedPair(t, dsn, -2*time.Hour)
		_, text := a.tokenFor("op1", users.TokenOptions{Name: "ci", ExpiresIn: time.Hour})
		behind.advance(2 * time.Hour) // two hours pass; the host behind reads the token's first hour still
		if r := behind.api(text).do("GET", "instances", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("a token an hour past its life, on the host 2 h behind: %d", r.status)
		}
	})
}

// An Idempotency-Key holds for its 24 hours on the database's clock: a
// replica whose host is a day ahead replays the first answer rather than
// start again.
func TestAnIdempotencyKeyHoldsOnAReplicaWhoseHostIsADayAhead(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		a, ahead := skewedPair(t, dsn, 25*time.Hour, "--approval", "none")
		in := a.stopped(1)[0]
		_, text := a.tokenFor("op1", users.TokenOptions{Name: "ci"})
		body := map[string]any{"region": in.Region, "reason": "ci"}
		first := a.api(text).do("POST", "instances/"+in.ID+"/start", body, "Idempotency-Key", "run-7")
		if first.status != http.StatusOK {
			t.Fatalf("first: %d %s", first.status, first.raw)
		}
		again := ahead.api(text).do("POST", "instances/"+in.ID+"/start", body, "Idempotency-Key", "run-7")
		if again.raw != first.raw || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the same key a moment later on the host a day ahead: %d %s (replayed %q)", again.status, again.raw, again.header.Get("Idempotent-Replayed"))
		}
		if n, _ := ahead.sim.Starts(in.ID); n != 0 {
			t.Fatalf("the replica a day ahead started again (%d)", n)
		}
	})
}

// The one-time form token's hour and the sign-in throttle's window, which
// replicas share in the database, are on the database's clock: a replica
// whose host is hours ahead neither sends a form again nor forgets failures.
func TestAReplicaWhoseHostIsAheadSendsNoFormAgainAndCountsTheOthersFailures(t *testing.T) {
	t.Parallel()
	a, ahead := skewedPair(t, dbtest.Postgres(t), 2*time.Hour, "--approval", "none")
	in := a.stopped(1)[0]
	onA := a.loggedIn("op1")
	token := onA.get("instances?q="+in.Name+"&region="+in.Region).doc.Find(`tr[data-instance-id="`+in.ID+`"] input[name=form_token]`).AttrOr("value", "")
	if token == "" {
		t.Fatal("no form token on the row")
	}
	if p := onA.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("start on the first replica: %d", p.status)
	}
	onAhead := onA.on(ahead)
	onAhead.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}})
	if n, _ := ahead.sim.Starts(in.ID); n != 0 {
		t.Fatalf("the replica 2 h ahead sent a form sent a moment ago (%d starts)", n)
	}

	guess := a.browser()
	for range 5 {
		if p := guess.post("login", url.Values{"username": {"op2"}, "password": {"wrong-password"}}); p.status != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %d", p.status)
		}
	}
	if p := guess.on(ahead).post("login", url.Values{"username": {"op2"}, "password": {password}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures a moment ago, the replica 2 h ahead answered %d", p.status)
	}
}
