package handlers_test

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/db/dbtest"
)

// twoReplicas is two dashboards on one PostgreSQL database, with the same
// session and audit keys, as two replicas behind a load balancer.
func twoReplicas(t *testing.T, extra ...string) (a, b *harness) {
	t.Helper()
	dsn := dbtest.Postgres(t)
	dir := t.TempDir()
	keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
	args := func(id string) []string {
		return append([]string{"--audit-key-file", filepath.Join(dir, "audit-key"), "--replica-id", id, "--replica-lease", "3s"}, extra...)
	}
	a = newHarness(t, opts{dbPath: dsn, keys: keys, args: args("replica-a")})
	b = newHarness(t, opts{dbPath: dsn, keys: keys, args: args("replica-b")})
	return a, b
}

// on is the same browser (its cookies) talking to another replica.
func (b *browser) on(h *harness) *browser {
	return &browser{t: b.t, h: h, c: b.c, token: b.token, hdr: b.hdr}
}

// A one-time form token used on one replica is used on the other too; the
// login throttle counts failures on both.
func TestReplicasShareFormTokensAndTheLoginThrottle(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	in := a.instance("ci-runner-01")
	onA := a.loggedIn("op1")
	token := onA.get("instances?q=ci-runner-01&region=cn-hangzhou").doc.Find(`tr[data-instance-id="`+in.ID+`"] input[name=form_token]`).AttrOr("value", "")
	if token == "" {
		t.Fatal("no form token on the row")
	}
	if p := onA.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("start on A: %d", p.status)
	}
	onB := onA.on(b)
	p := onB.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}})
	if p.status != http.StatusSeeOther || !strings.Contains(onB.get("instances").body, "was already sent") {
		t.Fatalf("the same form sent again through replica B: %d", p.status)
	}
	if n, _ := b.sim.Starts(in.ID); n != 0 {
		t.Fatalf("replica B sent a form replica A had sent already (%d starts)", n)
	}

	// Five failures for op2 from this address on A; the sixth try, on B, waits.
	guess := a.browser()
	for range 5 {
		if p := guess.post("login", url.Values{"username": {"op2"}, "password": {"wrong-password"}}); p.status != http.StatusUnauthorized {
			t.Fatalf("a wrong password on A: %d", p.status)
		}
	}
	if p := guess.on(b).post("login", url.Values{"username": {"op2"}, "password": {password}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures on replica A, replica B answered %d", p.status)
	}
}

// A replica follows what the other writes: a request filed on A is counted
// in B's navigation, and once B's approver rejects it, the requester is
// told on A.
func TestAReplicaFollowsTheOthersRequestsAndOutcomes(t *testing.T) {
	t.Parallel()
	a, b := twoReplicas(t)
	appr := b.loggedIn("appr") // B has read the open requests: none
	id, requester := requestInit(t, a, "op1")
	requester.get("instances") // reads the "waits for approval" message
	waiting := func() string {
		return strings.TrimSpace(appr.get("instances").doc.Find("[data-testid=waiting-count]").Text())
	}
	deadline := time.Now().Add(10 * time.Second)
	for waiting() != "1" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if got := waiting(); got != "1" {
		t.Fatalf("replica B counts %q requests awaiting the approver, want 1", got)
	}
	if p := appr.post("audit/"+strconv.FormatInt(id, 10)+"/reject", url.Values{"reason": {"not during the freeze"}}); p.status != http.StatusSeeOther {
		t.Fatalf("reject on B: %d %s", p.status, p.body)
	}
	var told string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if told = requester.get("instances").doc.Find("[data-testid=flash]").Text(); told != "" {
			break
		}
	}
	if !strings.Contains(told, "rejected by appr: not during the freeze") {
		t.Fatalf("the requester on replica A was told %q", told)
	}
}

// signInOnceItAnswers signs name in after the store came back. The pool may
// still hold connections the cut ended: each is found dead by the request
// that takes it, which answers 503 ("try again in a moment") as a user
// would see it, so the sign-in is tried again, bounded by count and time.
func signInOnceItAnswers(h *harness, name string) *browser {
	h.t.Helper()
	b := h.browser()
	p := askUntil(50, func() page {
		b.get("login")
		return b.post("login", url.Values{"username": {name}, "password": {password}})
	}, func(p page) bool { return p.status == http.StatusServiceUnavailable })
	if p.status != http.StatusSeeOther {
		h.t.Fatalf("login %s after the store came back: %d %.300s", name, p.status, p.body)
	}
	b.get("instances")
	return b
}

// While the database cannot be reached, /readyz is 503 and a start is
// refused in words with nothing sent; once it is back, /readyz is 200.
func TestWithoutTheDatabaseReadyzIs503AndStartsAreRefused(t *testing.T) {
	t.Parallel()
	a, _ := twoReplicas(t)
	if p := readyAgain(a); p.status != http.StatusOK { // the write check may miss its 2 s on a loaded machine
		t.Fatalf("readyz %d", p.status)
	}
	restore := dbtest.Cut(t, a.cfg.DBPath)
	if p := a.browser().get("readyz"); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "database") {
		t.Fatalf("readyz without the database: %d %q", p.status, p.body)
	}
	// A start is refused in words and nothing reaches ECS.
	in := a.instance("ci-runner-02")
	restore()
	op := signInOnceItAnswers(a, "op1")
	dbtest.Cut(t, a.cfg.DBPath)
	p := op.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	if p.status < 500 || !strings.Contains(p.body, "database") && !strings.Contains(p.body, "audit log") {
		t.Fatalf("a start without the database: %d %.300s", p.status, p.body)
	}
	if n, _ := a.sim.Starts(in.ID); n != 0 {
		t.Fatal("a start reached ECS without its intent recorded")
	}
	restore()
	if p := readyAgain(a); p.status != http.StatusOK { // a check begun while it was cut may still be finishing
		t.Fatalf("readyz after the database came back: %d %q", p.status, p.body)
	}
}
