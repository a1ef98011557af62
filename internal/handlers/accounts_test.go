package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
	"ecsdash/internal/metrics"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// cloudClient is a client over two simulated accounts: prod reached by a
// role (STS AssumeRole with the demo key as base credentials), staging by
// keys of its own.
func (h *harness) cloudClient(o opts, clock func() time.Time, m *metrics.Metrics) *ecs.Client {
	t := h.t
	h.cloud = ecssim.NewCloud(clock)
	one := []string{"cn-hangzhou"}
	sim := o.simOpts
	sim.Regions, sim.Instances, sim.Seed = one, 6, 11
	h.prod = h.cloud.AddAccount("prod", "1234567890123456", "", "", sim)
	sim.Seed = 22
	h.staging = h.cloud.AddAccount("staging", "6543210987654321", "", "", sim)
	h.sim = h.prod.Sim
	if o.refuse {
		h.cloud.RefuseRole(h.prod.RoleARN("ecs-dashboard"))
	}
	srv := httptest.NewServer(h.cloud)
	t.Cleanup(srv.Close)
	base, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	sts, err := ecs.NewSTS(ecs.STSOptions{Endpoint: srv.URL, Credential: base, Timeout: 2 * time.Second, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := ecs.StaticCredential(h.staging.KeyID, h.staging.KeySecret)
	client, err := ecs.New(ecs.Options{Endpoint: srv.URL, Timeout: 2 * time.Second, BaseDelay: time.Millisecond, Observe: m.ECSCall, STS: sts,
		Accounts: []ecs.Options{
			{Account: "prod", AccountID: "1234567890123456", RoleARN: h.prod.RoleARN("ecs-dashboard"), Regions: one},
			{Account: "staging", Credential: keys, Regions: one},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

// stoppedIn is a Stopped instance of the account, from the fleet cache,
// that the simulator starts (not locked, expired or failed on purpose).
func (h *harness) stoppedIn(account string, skip int) ecs.Instance {
	h.t.Helper()
	for _, in := range h.fleet.Snapshot().Instances {
		if in.Account == account && in.Status == ecs.StatusStopped && len(in.LockReasons) == 0 && !in.Expired(time.Now()) && h.healthy(in) {
			if skip == 0 {
				return *in
			}
			skip--
		}
	}
	h.t.Fatalf("no stopped instance in %s", account)
	return ecs.Instance{}
}

func (h *harness) lastSigned() ecssim.Signed {
	h.t.Helper()
	all := h.cloud.Signed()
	if len(all) == 0 {
		h.t.Fatal("nothing was sent to start")
	}
	return all[len(all)-1]
}

func TestTwoAccountsAreListedAndFilteredByAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true})
	b := h.loggedIn("view")
	p := b.get("instances?per_page=100")
	if n, m := p.doc.Find(`tr[data-account="prod"]`).Length(), p.doc.Find(`tr[data-account="staging"]`).Length(); n != 6 || m != 6 {
		t.Fatalf("rows per account: prod %d, staging %d; want 6 each", n, m)
	}
	p = b.get("instances?per_page=100&account=staging")
	if all, st := p.doc.Find(`tr[data-instance-id]`).Length(), p.doc.Find(`tr[data-account="staging"]`).Length(); all != 6 || st != 6 {
		t.Fatalf("?account=staging shows %d rows, %d of staging", all, st)
	}
	if p := b.get("instances?account=nope"); p.status != http.StatusBadRequest {
		t.Fatalf("an unknown account: %d", p.status)
	}
	if got := h.cloud.AssumedSessions(); len(got) != 1 || got[0] != "ecs-dashboard" {
		t.Fatalf("roles assumed under %q, want the listing's ecs-dashboard once", got)
	}
}

func TestAStartInARoleAccountIsMadeUnderTheUsersNameAndAudited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true, args: []string{"--approval", "none"}})
	in := h.stoppedIn("prod", 0)
	b := h.loggedIn("op1")
	if p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); p.status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.status, p.body)
	}
	last := h.lastSigned()
	if last.Account != "prod" || last.Session != "op1" || !strings.HasPrefix(last.AccessKeyID, "STS.") {
		t.Fatalf("the start reached ECS as %+v, want prod under session op1", last)
	}
	op := h.ops()[0]
	for _, e := range []audit.Event{op.Last} {
		if e.Account != "prod" || e.AccountID != "1234567890123456" || e.SessionName != "op1" || e.AccessKeyID != last.AccessKeyID {
			t.Fatalf("the outcome entry says %q %q %q %q", e.Account, e.AccountID, e.SessionName, e.AccessKeyID)
		}
	}
	p := h.loggedIn("adm").get("audit")
	link, ok := p.doc.Find(`a[data-testid="actiontrail"]`).First().Attr("href")
	if !ok || !strings.Contains(link, "/"+in.Region+"/") || !strings.Contains(link, "eventId="+url.QueryEscape(op.Last.RequestID)) {
		t.Fatalf("ActionTrail link %q for RequestId %s", link, op.Last.RequestID)
	}
}

func TestAStartInAKeyAccountUsesItsOwnKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true, args: []string{"--approval", "none"}})
	in := h.stoppedIn("staging", 0)
	if p := h.loggedIn("op1").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); p.status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.status, p.body)
	}
	if last := h.lastSigned(); last.Account != "staging" || last.AccessKeyID != h.staging.KeyID {
		t.Fatalf("the start reached ECS as %+v", last)
	}
	if e := h.ops()[0].Last; e.Account != "staging" || e.AccessKeyID != h.staging.KeyID || e.SessionName != "" {
		t.Fatalf("the outcome entry says %q %q %q", e.Account, e.AccessKeyID, e.SessionName)
	}
}

func TestAnApprovedStartIsMadeUnderTheRequestersName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true, args: []string{"--approval", "all"}})
	in := h.stoppedIn("prod", 0)
	if p := h.loggedIn("op1").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "reason": {"deploy"}}); p.status != http.StatusSeeOther {
		t.Fatalf("request: %d %s", p.status, p.body)
	}
	op := h.ops()[0]
	if p := decide(t, h.loggedIn("appr"), op.ID(), "approve", url.Values{"reason": {"ok"}}); p.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", p.status, p.body)
	}
	if last := h.lastSigned(); last.Session != "op1" {
		t.Fatalf("the approved start reached ECS under session %q, want the requester's op1", last.Session)
	}
	done, err := h.audit.Operation(context.Background(), op.ID())
	if err != nil {
		t.Fatal(err)
	}
	if e := done.Last; e.State != audit.StateSucceeded || e.SessionName != "op1" || e.Approver != "appr" {
		t.Fatalf("the outcome entry: %s, session %q, approver %q", e.State, e.SessionName, e.Approver)
	}
}

func TestABatchAcrossAccountsStartsEachInItsOwn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true, args: []string{"--approval", "none"}})
	a, b := h.stoppedIn("prod", 0), h.stoppedIn("staging", 0)
	p := h.loggedIn("op1").post("instances/start", url.Values{"instance": {a.Region + "/" + a.ID, b.Region + "/" + b.ID}})
	if p.status != http.StatusOK {
		t.Fatalf("batch: %d %s", p.status, p.body)
	}
	for _, id := range []string{a.ID, b.ID} {
		if o, _ := p.doc.Find(`tr[data-instance-id="` + id + `"]`).Attr("data-outcome"); o != "started" {
			t.Errorf("%s: outcome %q", id, o)
		}
	}
	got := map[string]string{}
	for _, s := range h.cloud.Signed() {
		got[s.Account] = s.Session
	}
	if len(got) != 2 || got["prod"] != "op1" || got["staging"] != "" {
		t.Fatalf("StartInstances calls per account: %v", got)
	}
}

// A batch's intent entry, written before its StartInstances is sent, names
// the account, session and key the call is made with, as its outcome does:
// an auditor finds the call in ActionTrail from either entry.
func TestABatchsIntentEntriesNameTheAccountSessionAndKeyOfTheirCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true, args: []string{"--approval", "none"}})
	a, b := h.stoppedIn("prod", 0), h.stoppedIn("staging", 0)
	if p := h.loggedIn("op1").post("instances/start", url.Values{"instance": {a.Region + "/" + a.ID, b.Region + "/" + b.ID}}); p.status != http.StatusOK {
		t.Fatalf("batch: %d %s", p.status, p.body)
	}
	want := map[string]string{a.ID: "prod", b.ID: "staging"}
	for _, op := range h.ops() {
		acct, ok := want[op.First.InstanceID]
		if !ok {
			continue
		}
		delete(want, op.First.InstanceID)
		first, last := op.First, op.Last
		if first.State != audit.StateSent || first.Attempt != 1 || last.State != audit.StateSucceeded {
			t.Fatalf("%s: entries %s (attempt %d) … %s", first.InstanceID, first.State, first.Attempt, last.State)
		}
		if first.Account != acct || first.AccessKeyID == "" || first.Account != last.Account || first.AccountID != last.AccountID ||
			first.SessionName != last.SessionName || first.AccessKeyID != last.AccessKeyID {
			t.Errorf("%s in %s: the intent says %q %q %q %q, the outcome %q %q %q %q", first.InstanceID, acct,
				first.Account, first.AccountID, first.SessionName, first.AccessKeyID, last.Account, last.AccountID, last.SessionName, last.AccessKeyID)
		}
		if acct == "prod" && (first.SessionName != "op1" || first.AccountID == "") {
			t.Errorf("the prod intent: session %q, account id %q", first.SessionName, first.AccountID)
		}
	}
	if len(want) != 0 {
		t.Fatalf("no operation for %v", want)
	}
}

func TestARefusedRoleIsNamedOnThePageWhileTheOtherAccountLists(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true, refuse: true})
	p := h.loggedIn("view").get("instances?per_page=100")
	if n := p.doc.Find(`tr[data-account="staging"]`).Length(); n != 6 {
		t.Fatalf("staging shows %d rows, want 6", n)
	}
	if n := p.doc.Find(`tr[data-account="prod"]`).Length(); n != 0 {
		t.Fatalf("prod shows %d rows while its role is refused", n)
	}
	if !strings.Contains(p.body, "Account prod could not be listed") || !strings.Contains(p.body, "trust policy") {
		t.Fatalf("the page does not name prod's failure in words:\n%s", p.body)
	}
}

func TestNoSecretOrTokenInTheExportOrTheLogs(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	h := newHarness(t, opts{cloud: true, logs: logs, args: []string{"--approval", "none"}})
	in := h.stoppedIn("prod", 0)
	b := h.loggedIn("adm")
	b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	b.post("instances/"+h.stoppedIn("staging", 0).ID+"/check", url.Values{"region": {in.Region}})
	exp := b.get("audit/export?format=json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(exp.body), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0]["access_key_id"] == nil {
		t.Fatalf("export has no access_key_id: %s", exp.body)
	}
	csv := b.get("audit/export?format=csv").body
	for _, s := range h.cloud.Signed() {
		if s.Session == "" {
			continue
		}
		if !strings.Contains(exp.body, s.AccessKeyID) {
			t.Errorf("the export lacks the STS key id %s", s.AccessKeyID)
		}
	}
	for _, secret := range append(h.cloud.IssuedSecrets(), h.staging.KeySecret, ecssim.DemoAccessKeySecret) {
		for what, text := range map[string]string{"JSON export": exp.body, "CSV export": csv, "log": logs.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s holds a secret or token (%.8s…)", what, secret)
			}
		}
	}
}

// A grant scoped by account=: its holder sees and starts that account's
// instances only — on the page, by a start, through the API and in a batch
// — and anything else is refused in words, with nothing sent to ECS.
func TestAGrantScopedToOneAccountSeesAndStartsOnlyThatAccountsInstances(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{cloud: true, args: []string{"--approval", "none"}})
	h.scoped("sally", users.RoleOperator, "account=staging")
	// vic sees every instance but may start only staging's.
	h.scoped("vic", users.RoleViewer, "")
	if _, err := h.users.AddGrant(context.Background(), users.Grant{User: "vic", Role: users.RoleOperator, Scope: scope.MustParse("account=staging")}, "test"); err != nil {
		t.Fatal(err)
	}
	st := []ecs.Instance{h.stoppedIn("staging", 0), h.stoppedIn("staging", 1), h.stoppedIn("staging", 2)}
	pr := []ecs.Instance{h.stoppedIn("prod", 0), h.stoppedIn("prod", 1)}
	sally := h.loggedIn("sally")
	startsIn := func(acct string) int {
		n := 0
		for _, s := range h.cloud.Signed() {
			if s.Account == acct {
				n++
			}
		}
		return n
	}

	// The page.
	p := sally.get("instances?per_page=100")
	if all, mine := p.doc.Find(`tr[data-instance-id]`).Length(), p.doc.Find(`tr[data-account="staging"]`).Length(); all != 6 || mine != 6 {
		t.Fatalf("sally's list: %d rows, %d of staging; want staging's 6 only", all, mine)
	}
	if p := sally.get("instances?per_page=100&account=prod"); p.status != http.StatusOK || p.doc.Find(`tr[data-instance-id]`).Length() != 0 {
		t.Fatalf("?account=prod for sally: %d, %d rows", p.status, p.doc.Find(`tr[data-instance-id]`).Length())
	}

	// A start.
	if p := sally.post("instances/"+st[0].ID+"/start", url.Values{"region": {st[0].Region}}); p.status != http.StatusSeeOther {
		t.Fatalf("start in staging: %d %s", p.status, p.body)
	}
	p = sally.post("instances/"+pr[0].ID+"/start", url.Values{"region": {pr[0].Region}})
	if p.status != http.StatusNotFound || !strings.Contains(p.doc.Find("main").Text(), "that you may see") {
		t.Fatalf("sally's start in prod: %d %s", p.status, p.doc.Find("main").Text())
	}
	vic := h.loggedIn("vic")
	if n := vic.get("instances?per_page=100").doc.Find(`tr[data-account="prod"]`).Length(); n != 6 {
		t.Fatalf("vic sees %d prod rows, want 6", n)
	}
	p = vic.post("instances/"+pr[0].ID+"/start", url.Values{"region": {pr[0].Region}})
	if words := p.doc.Find("main").Text(); p.status != http.StatusForbidden || !strings.Contains(words, "outside the scope you may start: account=staging") {
		t.Fatalf("vic's start in prod: %d %s", p.status, words)
	}

	// The API.
	c := h.apiAs("sally")
	r := c.do("GET", "instances?per_page=100", nil)
	if r.status != http.StatusOK {
		t.Fatalf("API list: %d %s", r.status, r.raw)
	}
	for _, x := range r.body["instances"].([]any) {
		if m := x.(map[string]any); m["account"] != "staging" {
			t.Fatalf("the API lists %v for sally", m)
		}
	}
	if r := c.do("POST", "instances/"+st[1].ID+"/start", map[string]any{"region": st[1].Region}); r.status != http.StatusOK || r.str("state") != audit.StateSucceeded {
		t.Fatalf("API start in staging: %d %s", r.status, r.raw)
	}
	wantError(t, c.do("POST", "instances/"+pr[0].ID+"/start", map[string]any{"region": pr[0].Region}), http.StatusNotFound, "not_found")
	wantError(t, h.apiAs("vic").do("POST", "instances/"+pr[0].ID+"/start", map[string]any{"region": pr[0].Region}), http.StatusForbidden, "forbidden")
	wantError(t, c.do("POST", "instances/"+pr[0].ID+"/check", map[string]any{"region": pr[0].Region}), http.StatusNotFound, "not_found")
	r = c.do("POST", "instances/start", map[string]any{"instances": []string{pr[1].Region + "/" + pr[1].ID}})
	if res := r.body["results"].([]any); r.status != http.StatusOK || len(res) != 1 || res[0].(map[string]any)["outcome"] != "refused" || res[0].(map[string]any)["message"] == "" {
		t.Fatalf("API batch of a prod instance: %d %s", r.status, r.raw)
	}

	// A batch across both accounts.
	p = sally.post("instances/start", url.Values{"instance": {st[2].Region + "/" + st[2].ID, pr[1].Region + "/" + pr[1].ID}})
	if p.status != http.StatusOK {
		t.Fatalf("batch: %d %s", p.status, p.body)
	}
	if o := p.doc.Find(`tr[data-instance-id="`+st[2].ID+`"]`).AttrOr("data-outcome", ""); o != "started" {
		t.Errorf("staging in the batch: %q", o)
	}
	refused := p.doc.Find(`tr[data-instance-id="` + pr[1].ID + `"]`)
	if refused.AttrOr("data-outcome", "") != "refused" || !strings.Contains(refused.Text(), "Nothing was sent") {
		t.Errorf("prod in the batch: %q %q", refused.AttrOr("data-outcome", ""), refused.Text())
	}

	if n := startsIn("prod"); n != 0 {
		t.Fatalf("%d starts reached prod", n)
	}
	if n := startsIn("staging"); n != 3 {
		t.Fatalf("%d starts reached staging, want 3", n)
	}
}

// The audit page's ActionTrail link is --actiontrail-url's template with
// the call filled in (the console's path is not documented, so it can be
// set), and none with "".
func TestTheActionTrailLinkFollowsTheConfiguredTemplate(t *testing.T) {
	t.Parallel()
	for template, want := range map[string]func(ecs.Instance, string) string{
		"https://trail.example.com/e?acct={account_id}&r={region}&id={request_id}&i={instance_id}": func(in ecs.Instance, rid string) string {
			return "https://trail.example.com/e?acct=1234567890123456&r=" + in.Region + "&id=" + url.QueryEscape(rid) + "&i=" + in.ID
		},
		"": func(ecs.Instance, string) string { return "" },
	} {
		h := newHarness(t, opts{cloud: true, args: []string{"--approval", "none", "--actiontrail-url", template}})
		in := h.stoppedIn("prod", 0)
		if p := h.loggedIn("op1").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); p.status != http.StatusSeeOther {
			t.Fatalf("start: %d %s", p.status, p.body)
		}
		rid := h.ops()[0].Last.RequestID
		link := h.loggedIn("adm").get("audit").doc.Find(`a[data-testid="actiontrail"]`).First().AttrOr("href", "")
		if w := want(in, rid); link != w {
			t.Errorf("template %q: link %q, want %q", template, link, w)
		}
	}
}
