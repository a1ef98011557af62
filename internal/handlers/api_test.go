package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db/dbtest"
	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
	"ecsdash/internal/notify"
	"ecsdash/internal/users"
)

// api is a script's client: a bearer token, no cookies.
type api struct {
	t     testing.TB
	h     *harness
	token string
	c     *http.Client
}

func (h *harness) api(token string) *api {
	return &api{t: h.t, h: h, token: token, c: &http.Client{}}
}

// tokenFor creates a token for user the way the Tokens page and the command
// do (recorded in the audit log) and returns its id and text.
func (h *harness) tokenFor(user string, o users.TokenOptions) (string, string) {
	h.t.Helper()
	tok, text, err := h.users.IssueToken(context.Background(), h.audit, audit.Event{User: "cli", AuthMethod: "cli"}, user, o)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok.ID, text
}

func (h *harness) apiAs(user string) *api {
	_, text := h.tokenFor(user, users.TokenOptions{Name: "test"})
	return h.api(text)
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r answer) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r answer) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

func (r answer) str(k string) string { s, _ := r.body[k].(string); return s }
func (r answer) num(k string) int64  { f, _ := r.body[k].(float64); return int64(f) }

func (a *api) do(method, path string, body any, hdr ...string) answer {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.h.url("api/v1/"+strings.TrimPrefix(path, "/")), rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		a.t.Fatalf("%s %s answered %q, not JSON: %s", method, path, ct, raw)
	}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		a.t.Fatalf("%s %s: not a JSON object: %v: %s", method, path, err, raw)
	}
	return r
}

// wantError checks the contract's error shape and status.
func wantError(t testing.TB, r answer, status int, code string) {
	t.Helper()
	if r.status != status || r.errCode() != code || r.errMessage() == "" {
		t.Fatalf("want %d %s, got %d: %s", status, code, r.status, r.raw)
	}
	e := r.body["error"].(map[string]any)
	if id, _ := e["request_id"].(string); id == "" || id != r.header.Get("X-Request-ID") {
		t.Fatalf("error's request_id %q is not the answer's X-Request-ID %q", id, r.header.Get("X-Request-ID"))
	}
}

// stopped returns n plain Stopped instances of cn-hangzhou that may start
// and that the simulator starts (none it fails on purpose).
func (h *harness) stopped(n int) []ecs.Instance {
	h.t.Helper()
	var out []ecs.Instance
	for _, in := range h.fleet.Snapshot().Instances {
		if in.Region == "cn-hangzhou" && in.Status == ecs.StatusStopped && len(in.LockReasons) == 0 && !in.Expired(time.Now()) &&
			!slices.Contains([]string{"ecs.d1", "ecs.i1", "ecs.i2"}, in.Family) && h.healthy(in) {
			out = append(out, *in)
		}
	}
	if len(out) < n {
		h.t.Fatalf("%d plain stopped instances, want %d", len(out), n)
	}
	return out[:n]
}

func TestAPIRefusesEveryRequestWithoutALiveToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	revokedID, revoked := h.tokenFor("op1", users.TokenOptions{})
	if err := h.users.RevokeToken(t.Context(), revokedID); err != nil {
		t.Fatal(err)
	}
	_, expiring := h.tokenFor("op1", users.TokenOptions{ExpiresIn: time.Hour})
	_, ofDisabled := h.tokenFor("op2", users.TokenOptions{})
	if err := h.users.SetDisabled(t.Context(), "op2", true); err != nil {
		t.Fatal(err)
	}
	_, live := h.tokenFor("op1", users.TokenOptions{})
	cases := map[string]string{
		"none":           "",
		"garbage":        "not-a-token",
		"malformed":      "ecsd_zzzz_short",
		"wrong secret":   live[:len(live)-4] + "AAAA",
		"revoked":        revoked,
		"disabled user":  ofDisabled,
		"expired (late)": expiring,
	}
	h.advance(2 * time.Hour) // the expiring token is past its time now
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			c := h.api(tok)
			wantError(t, c.do("GET", "instances", nil), http.StatusUnauthorized, "unauthorized")
			r := c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region})
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
			if r.header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("a session cookie without a token", func(t *testing.T) {
		b := h.loggedIn("op1")
		req, _ := http.NewRequest("POST", h.url("api/v1/instances/"+in.ID+"/start"), strings.NewReader(`{"region":"`+in.Region+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", b.token) // even with the session's CSRF token
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a cookie on /api: %d", resp.StatusCode)
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Fatal("the API touched the session cookie")
		}
	})
	if n := h.sim.Calls("StartInstance"); n != 0 {
		t.Fatalf("%d StartInstance calls without a valid token", n)
	}
	// The live token still works, with the clock moved on.
	if r := h.api(live).do("GET", "instances", nil); r.status != http.StatusOK {
		t.Fatalf("a live token: %d %s", r.status, r.raw)
	}
}

func TestAPIRevokedTokenAndDisabledUserFailFromTheNextRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	id, text := h.tokenFor("op1", users.TokenOptions{})
	c := h.api(text)
	if r := c.do("GET", "instances", nil); r.status != http.StatusOK {
		t.Fatalf("before: %d", r.status)
	}
	if err := h.users.RevokeToken(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	wantError(t, c.do("GET", "instances", nil), http.StatusUnauthorized, "unauthorized")

	c2 := h.apiAs("op2")
	if r := c2.do("GET", "instances", nil); r.status != http.StatusOK {
		t.Fatalf("before: %d", r.status)
	}
	if err := h.users.SetDisabled(t.Context(), "op2", true); err != nil {
		t.Fatal(err)
	}
	wantError(t, c2.do("GET", "instances", nil), http.StatusUnauthorized, "unauthorized")
	if err := h.users.SetDisabled(t.Context(), "op2", false); err != nil {
		t.Fatal(err)
	}
	if r := c2.do("GET", "instances", nil); r.status != http.StatusOK {
		t.Fatalf("enabled again: %d", r.status)
	}
}

func TestAPITokenActsWithItsUsersRoleAtEachRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.stopped(1)[0]
	c := h.apiAs("view")
	r := c.do("GET", "instances?q="+in.ID, nil)
	list := r.body["instances"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["may_start"] != false || list[0].(map[string]any)["why_not"] == "" {
		t.Fatalf("a viewer's list: %s", r.raw)
	}
	wantError(t, c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}), http.StatusForbidden, "forbidden")
	// Promoted: the same token may start at once.
	if err := h.users.SetRole(t.Context(), "view", users.RoleOperator); err != nil {
		t.Fatal(err)
	}
	r = c.do("GET", "instances?q="+in.ID, nil)
	if list := r.body["instances"].([]any); list[0].(map[string]any)["may_start"] != true {
		t.Fatalf("after promotion: %s", r.raw)
	}
	if r := c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}); r.status != http.StatusOK || r.str("state") != audit.StateSucceeded {
		t.Fatalf("start after promotion: %d %s", r.status, r.raw)
	}
}

func TestAPIReadOnlyTokenReadsButNeverActs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.stopped(1)[0]
	_, text := h.tokenFor("op1", users.TokenOptions{ReadOnly: true})
	c := h.api(text)
	r := c.do("GET", "instances?q="+in.ID, nil)
	if list := r.body["instances"].([]any); list[0].(map[string]any)["may_start"] != false {
		t.Fatalf("read-only list: %s", r.raw)
	}
	wantError(t, c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}), http.StatusForbidden, "forbidden")
	wantError(t, c.do("POST", "instances/"+in.ID+"/check", map[string]any{"region": in.Region}), http.StatusForbidden, "forbidden")
	wantError(t, c.do("POST", "instances/start", map[string]any{"instances": []string{in.Region + "/" + in.ID}}), http.StatusForbidden, "forbidden")
	if n := h.sim.Calls("StartInstance") + h.sim.Calls("StartInstances"); n != 0 {
		t.Fatalf("%d start calls", n)
	}
}

func TestAPIListsInstancesWithThePagesFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{simOpts: ecssimFleet(250)})
	c := h.apiAs("op1")
	r := c.do("GET", "instances?region=cn-hangzhou&status=Stopped", nil)
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	list := r.body["instances"].([]any)
	if len(list) == 0 || len(list) > 100 {
		t.Fatalf("%d instances on a page", len(list))
	}
	for _, x := range list {
		m := x.(map[string]any)
		for _, k := range []string{"id", "name", "region", "zone", "status", "type", "family", "tags", "account", "may_start", "why_not"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("instance lacks %q: %v", k, m)
			}
		}
		if m["region"] != "cn-hangzhou" || m["status"] != "Stopped" {
			t.Fatalf("filter not applied: %v", m)
		}
	}
	// Paging: next_page until null, every instance once.
	seen := map[string]bool{}
	page := 1
	for n := 0; ; n++ {
		if n > 10 {
			t.Fatal("next_page never ends")
		}
		r := c.do("GET", "instances?page="+strconv.Itoa(page), nil)
		for _, x := range r.body["instances"].([]any) {
			id := x.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("%s on two pages", id)
			}
			seen[id] = true
		}
		next, ok := r.body["next_page"].(float64)
		if !ok {
			if _, present := r.body["next_page"]; !present {
				t.Fatal("no next_page key on the last page")
			}
			break
		}
		page = int(next)
	}
	if len(seen) != len(h.fleet.Snapshot().Instances) {
		t.Fatalf("pages listed %d of %d instances", len(seen), len(h.fleet.Snapshot().Instances))
	}
	// Instances carry ECS's tags now (issue 27): the filter keeps those with the tag.
	r = c.do("GET", "instances?tag=env=staging", nil)
	for _, in := range r.body["instances"].([]any) {
		if in.(map[string]any)["tags"].(map[string]any)["env"] != "staging" {
			t.Fatalf("a tag filter matched an instance without the tag: %s", r.raw)
		}
	}
	wantError(t, c.do("GET", "instances?region=mars-1", nil), http.StatusBadRequest, "invalid")
	wantError(t, c.do("GET", "instances?status=Sleeping", nil), http.StatusBadRequest, "invalid")
	wantError(t, c.do("GET", "instances?tag=novalue", nil), http.StatusBadRequest, "invalid")
	wantError(t, c.do("GET", "instances?page=x", nil), http.StatusBadRequest, "invalid")
	wantError(t, c.do("GET", "nowhere", nil), http.StatusNotFound, "not_found")
}

// Every row of the contract's Start outcomes table, through the API.
func TestAPIStartAnswersEveryRowOfTheContractsTable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	g7, running, locked, d1 := h.instance("ci-runner-01"), h.instance("web-prod-01"), h.instance("legacy-billing-01"), h.instance("hadoop-data-01")
	expired := h.instance("promo-site-2019")
	c := h.apiAs("op1")
	refusals := []struct {
		name   string
		id     string
		body   map[string]any
		status int
		code   string
	}{
		{"malformed id", "i-BAD!", map[string]any{"region": "cn-hangzhou"}, 400, "invalid"},
		{"unknown region", g7.ID, map[string]any{"region": "mars-north-1"}, 400, "invalid"},
		{"unknown field", g7.ID, map[string]any{"region": g7.Region, "dry": true}, 400, "invalid"},
		{"init on another family", g7.ID, map[string]any{"region": g7.Region, "init_local_disk": true, "confirm": g7.ID}, 422, "unprocessable"},
		{"confirm mismatch", d1.ID, map[string]any{"region": d1.Region, "init_local_disk": true, "confirm": "i-wrong"}, 422, "unprocessable"},
		{"confirm missing", d1.ID, map[string]any{"region": d1.Region, "init_local_disk": true}, 422, "unprocessable"},
		{"not stopped", running.ID, map[string]any{"region": running.Region}, 409, "conflict"},
		{"security locked", locked.ID, map[string]any{"region": locked.Region}, 409, "conflict"},
		{"expired subscription", expired.ID, map[string]any{"region": expired.Region}, 409, "conflict"},
		{"unknown instance", "i-bp1doesnotexist0000", map[string]any{"region": "cn-hangzhou"}, 404, "not_found"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, c.do("POST", "instances/"+url.PathEscape(tc.id)+"/start", tc.body), tc.status, tc.code)
		})
	}
	if n := h.sim.Calls("StartInstance"); n != 0 {
		t.Fatalf("%d StartInstance calls for refusals", n)
	}
	wantError(t, h.apiAs("view").do("POST", "instances/"+g7.ID+"/start", map[string]any{"region": g7.Region}), 403, "forbidden")

	t.Run("accepted by ECS", func(t *testing.T) {
		r := c.do("POST", "instances/"+g7.ID+"/start", map[string]any{"region": g7.Region, "reason": "nightly tests"})
		if r.status != http.StatusOK || r.str("state") != audit.StateSucceeded || r.str("request_id") == "" || r.num("operation_id") == 0 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if ids := h.sim.IssuedStartRequestIDs(); len(ids) != 1 || ids[0] != r.str("request_id") {
			t.Fatalf("request_id %s is not ECS's %v", r.str("request_id"), ids)
		}
	})
	t.Run("needs approval", func(t *testing.T) {
		r := c.do("POST", "instances/"+d1.ID+"/start", map[string]any{"region": d1.Region, "init_local_disk": true, "confirm": d1.ID, "reason": "disk swap"})
		if r.status != http.StatusAccepted || r.str("state") != audit.StateAwaitingApproval || r.num("operation_id") == 0 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		if n, _ := h.sim.Starts(d1.ID); n != 0 {
			t.Fatal("sent before approval")
		}
		// While it waits, another start of the instance is refused.
		wantError(t, c.do("POST", "instances/"+d1.ID+"/start", map[string]any{"region": d1.Region}), 409, "conflict")
	})
	t.Run("ECS error", func(t *testing.T) {
		in := h.stopped(2)[1]
		if err := h.sim.InjectFault(in.ID, "InstanceNotReady", 1); err != nil {
			t.Fatal(err)
		}
		r := c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region})
		if r.status < 400 || r.str("state") != audit.StateFailed || r.errCode() != "InstanceNotReady" || r.num("operation_id") == 0 || r.str("request_id") == "" {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		op, err := h.audit.Operation(t.Context(), r.num("operation_id"))
		if err != nil || op.Last.State != audit.StateFailed || op.Last.ErrorCode != "InstanceNotReady" {
			t.Fatalf("recorded: %+v %v", op.Last, err)
		}
	})
}

func TestAPIApprovalKeepsTheOperationIDAndNotifies(t *testing.T) {
	t.Parallel()
	rec := &hookReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m notify.Message
		json.NewDecoder(r.Body).Decode(&m)
		rec.mu.Lock()
		rec.msgs = append(rec.msgs, m)
		rec.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h := newHarness(t, opts{args: []string{"--approval", "all", "--notify-url", srv.URL}})
	in := h.stopped(1)[0]
	c := h.apiAs("op1")
	wantError(t, c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}), 422, "unprocessable") // a reason is required
	r := c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region, "reason": "release 42"})
	if r.status != http.StatusAccepted || r.str("state") != audit.StateAwaitingApproval {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	id := r.num("operation_id")
	op := c.do("GET", "operations/"+strconv.FormatInt(id, 10), nil)
	if op.str("state") != audit.StateAwaitingApproval || op.str("requester") != "op1" || op.str("instance_id") != in.ID {
		t.Fatalf("operation: %s", op.raw)
	}
	rec.waitFor(t, 1)
	rec.mu.Lock()
	m := rec.msgs[0]
	rec.mu.Unlock()
	if m.Event != "awaiting_approval" || m.OperationID != id || m.Requester != "op1" || m.Reason != "release 42" {
		t.Fatalf("notification: %+v", m)
	}
	// The approver decides on the audit page (the API has no decisions).
	appr := h.loggedIn("appr")
	p := appr.post("audit/"+strconv.FormatInt(id, 10)+"/approve", url.Values{})
	if p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", p.status, p.doc.Find("main").Text())
	}
	op = c.do("GET", "operations/"+strconv.FormatInt(id, 10), nil)
	if op.num("operation_id") != id || op.str("state") != audit.StateSucceeded || op.str("approver") != "appr" || op.str("request_id") == "" {
		t.Fatalf("after approval: %s", op.raw)
	}
	rec.waitFor(t, 3)
	if got := strings.Join(rec.events(), " "); got != "awaiting_approval approved succeeded" {
		t.Fatalf("notified %s", got)
	}
}

func TestAPIOperationWaitHoldsUntilTheInstanceRuns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{simOpts: ecssimOpts(500 * time.Millisecond)})
	in := h.stopped(1)[0]
	c := h.apiAs("op1")
	r := c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region})
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	id := strconv.FormatInt(r.num("operation_id"), 10)
	if now := c.do("GET", "operations/"+id, nil); now.str("instance_status") == ecs.StatusRunning {
		t.Fatalf("already Running without waiting: %s", now.raw)
	}
	w := c.do("GET", "operations/"+id+"?wait=30s", nil)
	if w.status != http.StatusOK || w.str("state") != audit.StateSucceeded || w.str("instance_status") != ecs.StatusRunning {
		t.Fatalf("after wait: %s", w.raw)
	}
	wantError(t, c.do("GET", "operations/"+id+"?wait=soon", nil), 400, "invalid")
	wantError(t, c.do("GET", "operations/999999", nil), 404, "not_found")
	wantError(t, c.do("GET", "operations/abc", nil), 400, "invalid")
	// The first entry of the log is no start (the token's creation): not an operation of the API.
	wantError(t, c.do("GET", "operations/1", nil), 404, "not_found")
}

func TestAPICheckAsksECSAndStartsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in, running := h.stopped(1)[0], h.instance("web-prod-01")
	c := h.apiAs("op1")
	r := c.do("POST", "instances/"+in.ID+"/check", map[string]any{"region": in.Region})
	if r.status != http.StatusOK || r.body["would_start"] != true || r.str("request_id") == "" || r.str("code") != "DryRunOperation" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	r = c.do("POST", "instances/"+running.ID+"/check", map[string]any{"region": running.Region})
	if r.status != http.StatusOK || r.body["would_start"] != false || r.str("code") != "IncorrectInstanceStatus" || r.str("message") == "" {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	wantError(t, c.do("POST", "instances/"+in.ID+"/check", map[string]any{"region": "nowhere"}), 400, "invalid")
	if n, _ := h.sim.Starts(in.ID); n != 0 {
		t.Fatal("a check started the instance")
	}
}

func TestAPIBatchStartAnswersARowPerInstance(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	two, running := h.stopped(2), h.instance("web-prod-01")
	c := h.apiAs("op1")
	r := c.do("POST", "instances/start", map[string]any{"reason": "fleet up", "instances": []string{
		two[0].Region + "/" + two[0].ID, two[1].Region + "/" + two[1].ID, running.Region + "/" + running.ID, "garbage"}})
	if r.status != http.StatusOK {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	got := map[string]map[string]any{}
	for _, x := range r.body["results"].([]any) {
		m := x.(map[string]any)
		got[m["instance_id"].(string)] = m
	}
	for _, in := range two {
		if m := got[in.ID]; m["outcome"] != "started" || m["operation_id"].(float64) == 0 || m["request_id"] == "" {
			t.Fatalf("%s: %v", in.ID, m)
		}
	}
	if m := got[running.ID]; m["outcome"] != "refused" || m["message"] == "" {
		t.Fatalf("running: %v", m)
	}
	if m := got["garbage"]; m["outcome"] != "refused" {
		t.Fatalf("garbage: %v", got)
	}
	if n := h.sim.Calls("StartInstances"); n != 1 {
		t.Fatalf("%d StartInstances calls", n)
	}
	wantError(t, c.do("POST", "instances/start", map[string]any{"instances": []string{}}), 400, "invalid")
	many := make([]string, 101)
	for i := range many {
		many[i] = "cn-hangzhou/i-bp1" + strconv.Itoa(100000000+i)
	}
	wantError(t, c.do("POST", "instances/start", map[string]any{"instances": many}), 400, "invalid")
}

func TestAPIIdempotencyKeyStartsOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, dsn string) {
		h := newHarness(t, opts{dbPath: dsn, args: []string{"--audit-key-file", filepath.Join(t.TempDir(), "audit-key")}})
		ins := h.stopped(3)
		c := h.apiAs("op1")
		body := map[string]any{"region": ins[0].Region, "reason": "ci"}
		first := c.do("POST", "instances/"+ins[0].ID+"/start", body, "Idempotency-Key", "run-1")
		again := c.do("POST", "instances/"+ins[0].ID+"/start", body, "Idempotency-Key", "run-1")
		if first.status != http.StatusOK || again.status != first.status || again.raw != first.raw || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("first %d %s, again %d %s", first.status, first.raw, again.status, again.raw)
		}
		if n, _ := h.sim.Starts(ins[0].ID); n != 1 {
			t.Fatalf("%d starts for one key", n)
		}
		// The key with another body: 422, nothing done.
		other := map[string]any{"region": ins[0].Region, "reason": "another"}
		wantError(t, c.do("POST", "instances/"+ins[0].ID+"/start", other, "Idempotency-Key", "run-1"), 422, "unprocessable")
		wantError(t, c.do("POST", "instances/"+ins[1].ID+"/start", body, "Idempotency-Key", "run-1"), 422, "unprocessable")
		// Another user's same key is theirs alone.
		if r := h.apiAs("op2").do("POST", "instances/"+ins[1].ID+"/start", map[string]any{"region": ins[1].Region}, "Idempotency-Key", "run-1"); r.status != http.StatusOK {
			t.Fatalf("op2's own key: %d %s", r.status, r.raw)
		}
		// A refusal before anything was sent gives the key back.
		wantError(t, c.do("POST", "instances/"+ins[2].ID+"/start", map[string]any{"region": "mars"}, "Idempotency-Key", "run-3"), 400, "invalid")
		if r := c.do("POST", "instances/"+ins[2].ID+"/start", map[string]any{"region": "mars"}, "Idempotency-Key", "run-3"); r.status != 400 {
			t.Fatalf("refusal again: %d", r.status)
		}

		// Concurrent duplicates: one start, one operation, the same answer for all.
		in := h.instance("ci-runner-01")
		if slices.ContainsFunc(ins, func(x ecs.Instance) bool { return x.ID == in.ID }) {
			in = h.stopped(4)[3]
		}
		const n = 6
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}, "Idempotency-Key", "burst")
			}()
		}
		wg.Wait()
		for _, a := range answers {
			if a.status != http.StatusOK || a.num("operation_id") != answers[0].num("operation_id") {
				t.Fatalf("concurrent duplicates answered differently: %d %s vs %s", a.status, a.raw, answers[0].raw)
			}
		}
		if s, _ := h.sim.Starts(in.ID); s != 1 {
			t.Fatalf("%d starts for %d concurrent duplicates", s, n)
		}
		// Batch start takes a key too.
		b := map[string]any{"instances": []string{"cn-hangzhou/i-bp1doesnotexist0000"}}
		x := c.do("POST", "instances/start", b, "Idempotency-Key", "batch-1")
		y := c.do("POST", "instances/start", b, "Idempotency-Key", "batch-1")
		if x.status != 200 || y.raw != x.raw || y.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("batch repeat: %s / %s", x.raw, y.raw)
		}
	})
}

func TestAPIIdempotencyKeyHoldsAcrossARestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "dash.db")
	keys := [][]byte{[]byte("0123456789abcdef0123456789abcdef")}
	h1 := newHarness(t, opts{dbPath: path, keys: keys})
	in := h1.stopped(1)[0]
	_, text := h1.tokenFor("op1", users.TokenOptions{})
	first := h1.api(text).do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}, "Idempotency-Key", "k")
	h2 := newHarness(t, opts{dbPath: path, keys: keys}) // another process on the same store, with its own ECS
	h2.sim.SetStatus(in.ID, ecs.StatusStopped)
	again := h2.api(text).do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}, "Idempotency-Key", "k")
	if first.status != 200 || again.raw != first.raw {
		t.Fatalf("first %s, after restart %s", first.raw, again.raw)
	}
	if n, _ := h2.sim.Starts(in.ID); n != 0 {
		t.Fatal("the key was forgotten by the restarted process")
	}
}

func TestAPICallsAreAuditedWithTheTokensID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.stopped(1)[0]
	id, text := h.tokenFor("op1", users.TokenOptions{Name: "ci pipeline"})
	r := h.api(text).do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region})
	op, err := h.audit.Operation(t.Context(), r.num("operation_id"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range op.Events {
		if e.User != "op1" || e.Token != id || e.AuthMethod != "token" {
			t.Fatalf("entry %d: user %q token %q auth %q", e.Seq, e.User, e.Token, e.AuthMethod)
		}
	}
	var buf bytes.Buffer
	if err := h.audit.Export(t.Context(), &buf, "json", audit.Filter{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), text) || strings.Contains(buf.String(), strings.SplitN(text, "_", 3)[2]) {
		t.Fatal("the token's secret is in the audit export")
	}
	var rows []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	var created, started bool
	for _, row := range rows {
		switch {
		case row["action"] == audit.ActionTokenCreate && row["target"] == "op1" && row["user"] == "cli" && strings.Contains(row["detail"].(string), id):
			created = strings.Contains(row["detail"].(string), "ci pipeline")
		case row["action"] == audit.ActionStartInstance && row["token"] == id:
			started = true
		}
	}
	if !created || !started {
		t.Fatalf("export lacks the token's creation (%t) or the start's token field (%t)", created, started)
	}
}

func TestAPIPacesEachToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--api-rate", "60"}}) // a burst of 60, then one a second
	c := h.apiAs("view")
	var limited answer
	for range 200 {
		if r := c.do("GET", "operations/999999", nil); r.status == http.StatusTooManyRequests {
			limited = r
			break
		}
	}
	wantError(t, limited, http.StatusTooManyRequests, "too_many_requests")
	if s, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", limited.header.Get("Retry-After"))
	}
	// Another token of the same user has its own budget.
	if r := h.apiAs("view").do("GET", "instances", nil); r.status != http.StatusOK {
		t.Fatalf("another token: %d", r.status)
	}
}

func ecssimFleet(n int) ecssim.Options { return ecssim.Options{Instances: n} }
func ecssimOpts(startDelay time.Duration) ecssim.Options {
	return ecssim.Options{StartDelay: startDelay}
}
