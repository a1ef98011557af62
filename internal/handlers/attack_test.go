package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/users"
)

// Finding 1: made-up methods and paths must not add /metrics series.
func TestMetricsSeriesStayBoundedUnderMadeUpMethodsAndPaths(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	scrape := func() string {
		resp, err := http.Get(h.url("metrics"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	series := func(body string) int {
		return len(regexp.MustCompile(`(?m)^ecsdash_http_request_duration_seconds_count\{`).FindAllString(body, -1))
	}
	before := series(scrape())
	for i := range 300 {
		req, _ := http.NewRequest(fmt.Sprintf("M%dX", i), h.url(fmt.Sprintf("made/up/path-%d", i)), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		req, _ = http.NewRequest(http.MethodGet, h.url(fmt.Sprintf("nothing-here-%d", i)), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	body := scrape()
	if n := series(body); n > before+6 {
		t.Fatalf("600 hostile requests added %d series (from %d)", n-before, before)
	}
	if strings.Contains(body, "M17X") || strings.Contains(body, "path-17") || strings.Contains(body, "nothing-here") {
		t.Fatal("a request's own method or path became a label")
	}
	if !strings.Contains(body, `method="other"`) {
		t.Fatalf("the hostile requests were not counted as other/unmatched: %s", regexp.MustCompile(`(?m)^ecsdash_http_request_duration_seconds_count.*$`).FindAllString(body, -1))
	}
}

// Finding 8: the request id is ours; a client's is logged under another
// name, never shown.
func TestTheClientDoesNotChooseTheRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.hdr.Set("X-Request-ID", "<script>alert(1)</script>"+strings.Repeat("x", 100000))
	p := b.get("instances/i-doesnotexist/status?region=mars")
	id := p.resp.Header.Get("X-Request-ID")
	if id == "" || len(id) > 64 || strings.Contains(id, "script") || strings.Contains(p.body, "alert(1)") {
		t.Fatalf("request id %.80q; page %.200q", id, p.body)
	}
	p2 := b.get("login")
	if p2.resp.Header.Get("X-Request-ID") == id {
		t.Fatal("two requests got the same id")
	}
}

// Finding 3: failures from one address never lock the owner out from
// another; many addresses only slow the name down to one try every few
// seconds.
func TestFailuresFromElsewhereNeverLockTheOwnerOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--trusted-proxies", "127.0.0.1/32"}})
	from := func(addr string) *browser {
		b := h.browser()
		b.hdr.Set("X-Forwarded-For", addr)
		b.get("login")
		return b
	}
	attacker := from("203.0.113.9")
	for range 30 {
		attacker.post("login", url.Values{"username": {"op1"}, "password": {"guess"}})
	}
	if p := attacker.post("login", url.Values{"username": {"op1"}, "password": {password}}); p.status != http.StatusTooManyRequests {
		t.Fatalf("the guessing address got %d with the right password, want 429", p.status)
	}
	if p := from("198.51.100.7").post("login", url.Values{"username": {"op1"}, "password": {password}}); p.status != http.StatusSeeOther {
		t.Fatalf("the owner, from their own address, got %d: locked out by someone else's failures", p.status)
	}
	// A spray from 40 addresses, one guess each: the name is paced.
	for i := range 40 {
		from(fmt.Sprintf("192.0.2.%d", i+1)).post("login", url.Values{"username": {"op1"}, "password": {"guess"}})
	}
	owner := from("198.51.100.7")
	p := owner.post("login", url.Values{"username": {"op1"}, "password": {password}})
	if p.status == http.StatusTooManyRequests {
		if ra := p.resp.Header.Get("Retry-After"); ra != "2" {
			t.Fatalf("paced answer with Retry-After %q, want 2 (seconds, not minutes)", ra)
		}
		h.advance(3 * time.Second)
		p = owner.post("login", url.Values{"username": {"op1"}, "password": {password}})
	}
	if p.status != http.StatusSeeOther {
		t.Fatalf("after a spray the owner got %d, a few seconds later", p.status)
	}
}

// Finding 2: a throttled burst is one audit event per refusing key and
// window, with the user name and User-Agent capped.
func TestAThrottledBurstIsOneAuditEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--trusted-proxies", "127.0.0.1/32"}})
	b := h.browser()
	b.hdr.Set("X-Forwarded-For", "203.0.113.50")
	b.hdr.Set("User-Agent", strings.Repeat("A", 10000))
	b.get("login")
	for range 200 {
		b.post("login", url.Values{"username": {"op1"}, "password": {"guess"}})
	}
	for i := range 40 { // many names from the same address: the address's limit
		b.post("login", url.Values{"username": {fmt.Sprintf("user-%d-%s", i, strings.Repeat("n", 50))}, "password": {"guess"}})
	}
	bad, throttled := 0, 0
	for _, op := range h.ops() {
		if op.First.Action != audit.ActionLogin {
			continue
		}
		if len(op.First.UserAgent) > 256 || len(op.First.User) > 64 {
			t.Fatalf("stored user %d bytes, User-Agent %d bytes", len(op.First.User), len(op.First.UserAgent))
		}
		switch op.First.ErrorCode {
		case "BadCredentials":
			bad++
		case "Throttled":
			throttled++
		}
	}
	// 5 failures for op1 (then its pair waits), 15 more names until the
	// address's 20; one event for the pair's refusals, one for the address's.
	if bad != 20 || throttled != 2 {
		t.Fatalf("240 attempts wrote %d failure and %d throttle events, want 20 and 2", bad, throttled)
	}
}

// Finding 4: SSO identities never merge into local accounts: a name that
// matches one (in any case) is refused, and the proxy's groups change
// nothing about the local account or its sessions.
func TestSSONamesNeverMergeIntoLocalAccounts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32",
		"--groups-header", "X-Forwarded-Groups", "--group-roles", "admins=admin,ops=operator"}})
	local := h.loggedIn("adm") // the local break-glass admin, signed in
	for _, tc := range []struct{ name, groups string }{
		{"VIEW", "admins"}, // would have made the local viewer an admin
		{"Adm", "ops"},     // would have downgraded the local admin and ended its sessions
	} {
		p := ssoGet(t, h, map[string]string{"X-Forwarded-User": tc.name, "X-Forwarded-Groups": tc.groups})
		if p.status != http.StatusForbidden || !strings.Contains(p.doc.Find("main").Text(), "matches a local account") {
			t.Fatalf("SSO %s: %d %q", tc.name, p.status, p.doc.Find("main").Text())
		}
	}
	for name, role := range map[string]string{"view": "viewer", "adm": "admin"} {
		u, err := h.users.ByName(context.Background(), name)
		if err != nil || u.Role != role || u.Source != users.SourceLocal {
			t.Fatalf("local %s after the SSO attempts: %+v %v", name, u, err)
		}
	}
	if p := local.get("instances"); p.status != http.StatusOK || !strings.Contains(p.doc.Find("[data-testid=whoami]").Text(), "adm (admin)") {
		t.Fatalf("the local admin's session: %d", p.status)
	}
	// An SSO account is its own, and its groups move it.
	if p := ssoGet(t, h, map[string]string{"X-Forwarded-User": "sam", "X-Forwarded-Groups": "admins"}); p.status != http.StatusOK {
		t.Fatalf("a new SSO user: %d", p.status)
	}
	ssoGet(t, h, map[string]string{"X-Forwarded-User": "SAM", "X-Forwarded-Groups": "ops"})
	if u, _ := h.users.ByName(context.Background(), "sam"); u.Source != users.SourceSSO || u.Role != "operator" {
		t.Fatalf("the SSO account after its groups changed: %+v", u)
	}
	// And a password never signs in as an SSO account.
	if p := h.browser().post("login", url.Values{"username": {"sam"}, "password": {""}}); p.status == http.StatusSeeOther {
		t.Fatal("an SSO account signed in with a password")
	}
}

// Finding 5: a form token is bounded in size and kept only for starts that
// went ahead.
func TestFormTokensAreBoundedAndKeptOnlyForStartsThatWentAhead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	in := h.instance("ci-runner-01")
	if p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {strings.Repeat("A", 60000)}}); p.status != http.StatusBadRequest {
		t.Fatalf("a 60 KB form token answered %d", p.status)
	}
	if n, _ := h.sim.Starts(in.ID); n != 0 {
		t.Fatal("the start with the oversized token ran")
	}
	// Refused (the instance is Running): the token is not kept, so the same
	// form works once the instance is Stopped again.
	h.sim.SetStatus(in.ID, "Running")
	h.fleet.Update(func() ecs.Instance { x := in; x.Status = "Running"; return x }())
	token := "tok-" + strings.Repeat("x", 20)
	if p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}}); p.status != http.StatusConflict {
		t.Fatalf("start of a running instance: %d", p.status)
	}
	h.sim.SetStatus(in.ID, "Stopped")
	if p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("the same form after the refusal: %d", p.status)
	}
	if n, _ := h.sim.Starts(in.ID); n != 1 {
		t.Fatalf("%d starts, want 1", n)
	}
	// And kept once it went ahead: a resubmission does not start again.
	b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}})
	if n, _ := h.sim.Starts(in.ID); n != 1 {
		t.Fatalf("a resubmitted form started again: %d starts", n)
	}
}

// Finding 7: after sign-in, next never leads off the base path or the site.
func TestNextNeverLeavesTheBasePath(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--base-url", "https://portal.example/ecs/"}})
	page, _ := url.Parse("https://portal.example/ecs/login")
	for _, next := range []string{
		"/ecs/../..//evil.com", "/ecs/..//evil.com/x", "/ecs/%2e%2e/%2e%2e//evil.com", "/ecs/./../admin",
		"//evil.com/ecs/", "https://evil.com/ecs/", "/ecs/\\\\evil.com", "/ecs/..%2f..%2f/evil.com", "/other/app",
		"/ecs/audit?state=failed", "/ecs/instances?region=cn-hangzhou&page=2",
	} {
		b := h.browser()
		b.get("login")
		p := b.post("login", url.Values{"username": {"op1"}, "password": {password}, "next": {next}})
		loc, err := url.Parse(p.resp.Header.Get("Location"))
		if p.status != http.StatusSeeOther || err != nil {
			t.Fatalf("next %q: %d %v", next, p.status, err)
		}
		to := page.ResolveReference(loc)
		if to.Host != "portal.example" || !strings.HasPrefix(to.Path, "/ecs/") {
			t.Errorf("next %q sent the browser to %s", next, to)
		}
	}
	b := h.browser()
	b.get("login")
	p := b.post("login", url.Values{"username": {"op1"}, "password": {password}, "next": {"/ecs/audit?state=failed"}})
	if loc := p.resp.Header.Get("Location"); loc != "/ecs/audit?state=failed" {
		t.Fatalf("a good next became %q", loc)
	}
}

// lockedBuffer is a log the server writes while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Finding 6: the server keys the chain from a marked entry at start-up and
// logs a signed checkpoint of the head, which verify --head takes.
func TestTheServerKeysTheChainAndLogsCheckpoints(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	h := newHarness(t, opts{logs: logs})
	ops, _, err := h.audit.Operations(context.Background(), audit.Filter{Action: audit.ActionChainKeyed})
	if err != nil || len(ops) != 1 || !strings.HasPrefix(ops[0].First.Hash, "hmac-sha256:") {
		t.Fatalf("the keyed chain's mark: %+v %v", ops, err)
	}
	m := regexp.MustCompile(`"msg":"audit checkpoint","head":"(\d+):(hmac-sha256:[0-9a-f]+:[0-9a-f]{64})","time":"[^"]+","signature":"[0-9a-f]+:[0-9a-f]{64}"`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no signed checkpoint in the log:\n%s", logs.String())
	}
	if m[2] != ops[0].First.Hash {
		t.Fatalf("the checkpoint's head %s is not the mark's hash %s", m[2], ops[0].First.Hash)
	}
}

// Also: HSTS behind an https base URL, a Permissions-Policy everywhere, and
// /metrics behind a bearer token when --metrics-token-file is given.
func TestTransportHeadersAndTheMetricsToken(t *testing.T) {
	t.Parallel()
	plain := newHarness(t, opts{})
	resp, err := http.Get(plain.url("login"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Strict-Transport-Security") != "" || !strings.Contains(resp.Header.Get("Permissions-Policy"), "camera=()") {
		t.Fatalf("http base: HSTS %q, Permissions-Policy %q", resp.Header.Get("Strict-Transport-Security"), resp.Header.Get("Permissions-Policy"))
	}

	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	os.WriteFile(tokenFile, []byte("s3cret-metrics-token-0123\n"), 0o600)
	h := newHarness(t, opts{args: []string{"--base-url", "https://portal.example/ecs/", "--metrics-token-file", tokenFile}})
	resp, err = http.Get(h.url("login"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatal("no HSTS behind an https base URL")
	}
	scrape := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, h.url("metrics"), nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b, c := scrape(""), scrape("wrong-token-wrong-token"), scrape("s3cret-metrics-token-0123"); a != 401 || b != 401 || c != 200 {
		t.Fatalf("scrapes: none %d, wrong %d, right %d", a, b, c)
	}
}

// Round three, finding 2: the throttle was check-then-record, so 100
// guesses at once for one name from one address all reached the password
// check (limit 5), on SQLite and across two PostgreSQL replicas.
func TestAGuessingBurstReachesThePasswordCheckOnlyUpToTheLimit(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, opts{bcrypt: bcrypt.DefaultCost}) // a check as long as in production keeps the burst's race open
		guessBurst(t, h, h)
	})
	t.Run("postgres, two replicas", func(t *testing.T) {
		t.Parallel()
		a, b := twoReplicas(t)
		guessBurst(t, a, b)
	})
}

// guessBurst sends 100 wrong passwords for op1 at once, half to each of a
// and b, and counts those the password check answered.
func guessBurst(t *testing.T, a, b *harness) {
	t.Helper()
	const n = 100
	bs := make([]*browser, n)
	for i := range bs {
		h := a
		if i%2 == 1 {
			h = b
		}
		bs[i] = h.browser()
		bs[i].get("login")
	}
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for _, br := range bs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- br.post("login", url.Values{"username": {"op1"}, "password": {"guess"}}).status
		}()
	}
	wg.Wait()
	close(statuses)
	checked, throttled := 0, 0
	for s := range statuses {
		switch s {
		case http.StatusUnauthorized:
			checked++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("a guess answered %d", s)
		}
	}
	t.Logf("%d of %d guesses at once reached the password check, %d throttled", checked, n, throttled)
	if checked > 5 || checked+throttled != n {
		t.Fatalf("%d of %d guesses at once reached the password check (limit 5), %d throttled", checked, n, throttled)
	}
}

// Round three, finding 6: any viewer could drive ECS; 200 refreshes made
// 600 DescribeInstances calls. A list fetched moments ago is the answer,
// forced refreshes are limited per user and in total, and a viewer may not
// force one (nor sees the button).
func TestARefreshFloodBarelyReachesECS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	viewer := h.loggedIn("view")
	if viewer.get("instances").doc.Find(`form[action$="instances/refresh"]`).Length() != 0 {
		t.Fatal("a viewer is shown the refresh button")
	}
	before := h.sim.Calls("DescribeInstances")
	if p := viewer.post("instances/refresh", nil); p.status != http.StatusForbidden {
		t.Fatalf("a viewer's forced refresh answered %d, want 403", p.status)
	}
	ops := []*browser{h.loggedIn("op1"), h.loggedIn("op2"), h.loggedIn("appr")}
	if ops[0].get("instances").doc.Find(`form[action$="instances/refresh"] button`).Length() != 1 {
		t.Fatal("an operator has no refresh button")
	}
	h.advance(time.Minute) // the start-up listing is a minute old: a forced refresh runs
	if p := ops[0].post("instances/refresh", nil); p.status != http.StatusSeeOther {
		t.Fatalf("a forced refresh answered %d", p.status)
	}
	perRefresh := h.sim.Calls("DescribeInstances") - before // one page per region at this fleet's size
	if perRefresh == 0 {
		t.Fatal("the forced refresh of a minute-old list did not run")
	}
	// Right after it, the fresh list is the answer.
	again := ops[1].post("instances/refresh", nil)
	if n := h.sim.Calls("DescribeInstances") - before; n != perRefresh || !strings.Contains(ops[1].get("instances").body, "it is shown as it is") {
		t.Fatalf("a refresh right after one made %d more DescribeInstances calls (%d)", n-perRefresh, again.status)
	}
	h.advance(time.Minute)
	for i := range 200 {
		if p := ops[i%len(ops)].post("instances/refresh", nil); p.status != http.StatusSeeOther {
			t.Fatalf("refresh %d answered %d", i, p.status)
		}
	}
	n := h.sim.Calls("DescribeInstances") - before
	t.Logf("201 forced refreshes of a stale list made %d DescribeInstances calls (%d a refresh)", n, perRefresh)
	if n > refreshBudget*perRefresh {
		t.Fatalf("201 forced refreshes made %d DescribeInstances calls, want at most %d (the total budget's burst)", n, refreshBudget*perRefresh)
	}
	if !strings.Contains(ops[0].get("instances").body, "it is shown as it is") {
		t.Fatal("a refresh answered from the fresh list does not say so")
	}
}

// refreshBudget is how many forced refreshes may run at once: the total's burst.
const refreshBudget = 3
