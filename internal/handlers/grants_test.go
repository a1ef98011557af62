package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// scoped adds a local user whose role holds over expr.
func (h *harness) scoped(name, role, expr string) {
	h.t.Helper()
	if _, err := h.users.CreateScoped(context.Background(), name, role, scope.MustParse(expr), password); err != nil {
		h.t.Fatal(err)
	}
}

// stoppedOf finds a Stopped instance of a team in cn-hangzhou (the demo
// fleet's tags), not locked, not expired, not of a local-disk family, not
// one the simulator fails on purpose: one a start in scope starts.
func (h *harness) stoppedOf(team string, skip ...string) ecs.Instance {
	h.t.Helper()
	return h.stoppedOfTeam(team, true, skip)
}

// refusedOf is stoppedOf for a start that must be refused before it
// reaches ECS: one the simulator fails on purpose serves as well (the data
// team has a single healthy one).
func (h *harness) refusedOf(team string, skip ...string) ecs.Instance {
	h.t.Helper()
	return h.stoppedOfTeam(team, false, skip)
}

func (h *harness) stoppedOfTeam(team string, healthy bool, skip []string) ecs.Instance {
	h.t.Helper()
	for _, in := range h.fleet.Snapshot().Instances {
		if in.Region == "cn-hangzhou" && in.Tags["team"] == team && in.Status == ecs.StatusStopped && len(in.LockReasons) == 0 &&
			in.ExpiredTime.IsZero() && !slices.Contains(h.cfg.LocalDiskFamilies, in.Family) && !slices.Contains(skip, in.ID) && (!healthy || h.healthy(in)) {
			return *in
		}
	}
	h.t.Fatalf("no stopped instance of team %s", team)
	return ecs.Instance{}
}

func rowsOf(p page) *goquery.Selection { return p.doc.Find("tr[data-instance-id]") }

func TestScopedOperatorListsStartsInScopeAndIsRefusedOutOfScopeAndAfterATagChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "none"}})
	h.scoped("dana", users.RoleOperator, "tag:team=data")
	b := h.loggedIn("dana")

	list := b.get("instances?per_page=100")
	if list.status != http.StatusOK || rowsOf(list).Length() == 0 {
		t.Fatalf("list: %d, %d rows", list.status, rowsOf(list).Length())
	}
	rowsOf(list).Each(func(_ int, r *goquery.Selection) {
		if r.Find(tagged("team=data")).Length() != 1 {
			t.Errorf("row %s is outside dana's scope: %s", r.AttrOr("data-instance-id", ""), r.Find(".tags").Text())
		}
	})

	mine := h.stoppedOf("data")
	if p := b.post("instances/"+mine.ID+"/start", url.Values{"region": {mine.Region}}); p.status != http.StatusSeeOther {
		t.Fatalf("start in scope: %d %s", p.status, p.doc.Find("main").Text())
	}
	if n, _ := h.sim.Starts(mine.ID); n != 1 {
		t.Fatalf("in scope: %d StartInstance calls, want 1", n)
	}

	theirs := h.stoppedOf("platform")
	p := b.post("instances/"+theirs.ID+"/start", url.Values{"region": {theirs.Region}})
	if p.status != http.StatusNotFound && p.status != http.StatusForbidden {
		t.Fatalf("start out of scope: %d", p.status)
	}
	if n, _ := h.sim.Starts(theirs.ID); n != 0 {
		t.Fatalf("out of scope: %d StartInstance calls, want none", n)
	}
	if p := b.post("instances/"+theirs.ID+"/check", url.Values{"region": {theirs.Region}}); p.status != http.StatusNotFound && p.status != http.StatusForbidden {
		t.Fatalf("check out of scope: %d", p.status)
	}

	// The page was drawn with the instance in scope; ECS now says the team
	// changed. The cache still says data: the fresh description decides.
	moved := h.refusedOf("data", mine.ID)
	h.sim.SetTags(moved.ID, map[string]string{"team": "platform", "env": "prod"}, "")
	p = b.post("instances/"+moved.ID+"/start", url.Values{"region": {moved.Region}})
	if p.status != http.StatusForbidden && p.status != http.StatusNotFound {
		t.Fatalf("start after the tag was changed: %d", p.status)
	}
	if n, _ := h.sim.Starts(moved.ID); n != 0 {
		t.Fatalf("after the tag change: %d StartInstance calls, want none", n)
	}
}

func TestBatchAcrossScopesRefusesInWordsEachInstanceOutOfScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "none"}})
	h.scoped("dana", users.RoleOperator, "tag:team=data")
	b := h.loggedIn("dana")
	mine, theirs := h.stoppedOf("data"), h.stoppedOf("platform")
	p := b.post("instances/start", url.Values{"instance": {mine.Region + "/" + mine.ID, theirs.Region + "/" + theirs.ID}})
	if p.status != http.StatusOK {
		t.Fatalf("batch: %d", p.status)
	}
	if o := p.doc.Find(`tr[data-instance-id="`+mine.ID+`"]`).AttrOr("data-outcome", ""); o != "started" {
		t.Errorf("in scope: %q", o)
	}
	refused := p.doc.Find(`tr[data-instance-id="` + theirs.ID + `"]`)
	if refused.AttrOr("data-outcome", "") != "refused" || !strings.Contains(refused.Text(), "Nothing was sent") {
		t.Errorf("out of scope: %q %q", refused.AttrOr("data-outcome", ""), refused.Text())
	}
	if n, _ := h.sim.Starts(theirs.ID); n != 0 {
		t.Fatalf("out of scope: %d calls", n)
	}
}

func TestScopedApproverSeesAndDecidesOnlyInScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "all"}})
	h.scoped("lead", users.RoleApprover, "tag:team=data")
	op := h.loggedIn("op1")
	mine, theirs := h.stoppedOf("data"), h.stoppedOf("platform")
	for _, in := range []ecs.Instance{mine, theirs} {
		if p := op.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "reason": {"nightly job"}}); p.status != http.StatusSeeOther {
			t.Fatalf("request %s: %d", in.Name, p.status)
		}
	}
	var mineOp, theirsOp int64
	for _, o := range h.ops() {
		switch o.First.InstanceID {
		case mine.ID:
			mineOp = o.ID()
		case theirs.ID:
			theirsOp = o.ID()
		}
	}
	lead := h.loggedIn("lead")
	page := lead.get("audit")
	if n := page.doc.Find("[data-testid=waiting-count]").Text(); n != "1" {
		t.Errorf("navigation count %q, want 1", n)
	}
	if page.doc.Find(`tr[data-state=awaiting_approval]`).Length() == 0 || strings.Contains(page.body, theirs.ID) {
		t.Errorf("the queue shows the out-of-scope request (or none)")
	}
	if p := lead.post("audit/"+itoa64(theirsOp)+"/approve", nil); p.status != http.StatusNotFound && p.status != http.StatusForbidden {
		t.Fatalf("approve out of scope: %d", p.status)
	}
	if p := lead.post("audit/"+itoa64(theirsOp)+"/reject", url.Values{"reason": {"not yours"}}); p.status != http.StatusNotFound && p.status != http.StatusForbidden {
		t.Fatalf("reject out of scope: %d", p.status)
	}
	if n, _ := h.sim.Starts(theirs.ID); n != 0 {
		t.Fatal("an out-of-scope request was started")
	}
	if p := lead.post("audit/"+itoa64(mineOp)+"/approve", nil); p.status != http.StatusSeeOther {
		t.Fatalf("approve in scope: %d %s", p.status, p.doc.Find("main").Text())
	}
	if n, _ := h.sim.Starts(mine.ID); n != 1 {
		t.Fatalf("in scope: %d calls", n)
	}
	for _, o := range h.ops() {
		if o.ID() == theirsOp && o.Last.State != audit.StateAwaitingApproval {
			t.Fatalf("the out-of-scope request is %s", o.Last.State)
		}
	}
}

func TestGroupGrantThroughSSOHeadersTakesEffectAndEndsAtOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "none", "--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32",
		"--groups-header", "X-Forwarded-Groups"}})
	g, err := h.users.AddGrant(context.Background(), users.Grant{Group: "data-oncall", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	b.hdr.Set("X-Forwarded-User", "sam")
	b.hdr.Set("X-Forwarded-Groups", "staff, data-oncall")
	list := b.get("instances?per_page=100")
	if list.status != http.StatusOK || rowsOf(list).Length() == 0 {
		t.Fatalf("list: %d", list.status)
	}
	if n := rowsOf(list).Length() - list.doc.Find(`tr[data-instance-id]:has(`+tagged("team=data")+`)`).Length(); n != 0 {
		t.Fatalf("%d rows outside the group's scope", n)
	}
	mine := h.stoppedOf("data")
	if p := b.post("instances/"+mine.ID+"/start", url.Values{"region": {mine.Region}}); p.status != http.StatusSeeOther {
		t.Fatalf("start through the group grant: %d", p.status)
	}
	if _, err := h.users.RemoveGrant(context.Background(), g.ID); err != nil {
		t.Fatal(err)
	}
	// At once: sam is back to what every SSO user holds without
	// --group-roles (a viewer), and may start nothing.
	next := h.refusedOf("data", mine.ID)
	if p := b.post("instances/"+next.ID+"/start", url.Values{"region": {next.Region}}); p.status != http.StatusForbidden {
		t.Fatalf("start after the grant was removed: %d, want 403", p.status)
	}
	if n, _ := h.sim.Starts(next.ID); n != 0 {
		t.Fatal("started after the grant was removed")
	}
}

func TestScopedAdminIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	ctx := context.Background()
	if _, err := h.users.CreateScoped(ctx, "boss", users.RoleAdmin, scope.MustParse("region=cn-hangzhou"), password); err != users.ErrScopedAdmin {
		t.Fatalf("scoped admin user: %v", err)
	}
	if _, err := h.users.AddGrant(ctx, users.Grant{User: "op1", Role: users.RoleAdmin, Scope: scope.MustParse("tag:team=data")}, "test"); err != users.ErrScopedAdmin {
		t.Fatalf("scoped admin grant: %v", err)
	}
	adm := h.loggedIn("adm")
	p := adm.post("admin/grants", url.Values{"for": {"user"}, "name": {"op1"}, "role": {"admin"}, "scope": {"tag:team=data"}})
	if p.status != http.StatusUnprocessableEntity || !strings.Contains(p.doc.Find("[data-testid=admin-error]").Text(), "always unscoped") {
		t.Fatalf("page: %d %q", p.status, p.doc.Find("[data-testid=admin-error]").Text())
	}
}

func TestTagAndResourceGroupFiltersAndAResourceGroupScopeLeaksNoDefaultGroup(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("view")
	p := b.get("instances?per_page=100&tag=team=data&tag=env=prod")
	if p.status != http.StatusOK || rowsOf(p).Length() == 0 {
		t.Fatalf("tag filter: %d, %d rows", p.status, rowsOf(p).Length())
	}
	rowsOf(p).Each(func(_ int, r *goquery.Selection) {
		if r.Find(tagged("team=data")).Length() != 1 || r.Find(tagged("env=prod")).Length() != 1 {
			t.Errorf("row %s fails a tag filter", r.AttrOr("data-instance-id", ""))
		}
	})
	if p := b.get("instances?tag=team"); p.status != http.StatusBadRequest {
		t.Errorf("malformed tag filter: %d", p.status)
	}

	// One instance moves to rg-payments; every other stays in no group or
	// the default one, which ECS's own ResourceGroupId filter would list too.
	in := h.stoppedOf("platform")
	h.sim.SetTags(in.ID, in.Tags, "rg-payments")
	other := h.stoppedOf("data")
	h.sim.SetTags(other.ID, other.Tags, "rg-defaultgroup")
	if err := h.fleet.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.scoped("pat", users.RoleOperator, "resource-group=rg-payments")
	pat := h.loggedIn("pat")
	list := pat.get("instances?per_page=100")
	if n := rowsOf(list).Length(); n != 1 || rowsOf(list).AttrOr("data-instance-id", "") != in.ID {
		t.Fatalf("resource-group scope lists %d rows, want only %s", n, in.ID)
	}
	if p := pat.get("instances?rg=rg-payments"); rowsOf(p).Length() != 1 {
		t.Fatalf("rg filter: %d rows", rowsOf(p).Length())
	}
}

func TestAdminPageIsForAdminsAndEveryChangeIsAudited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	if p := h.loggedIn("op1").get("admin/users"); p.status != http.StatusForbidden {
		t.Fatalf("an operator: %d", p.status)
	}
	adm := h.loggedIn("adm")
	if p := adm.get("admin/users"); p.status != http.StatusOK || p.doc.Find(`tr[data-user="op1"]`).Length() != 1 {
		t.Fatalf("admin page: %d", p.status)
	}
	if p := adm.post("admin/users", url.Values{"_csrf": {"forged"}, "name": {"eve"}, "role": {"operator"}, "password": {"secret-pass-1"}}); p.status != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d", p.status)
	}
	steps := []struct {
		path string
		form url.Values
	}{
		{"admin/users", url.Values{"name": {"newbie"}, "role": {"operator"}, "scope": {"tag:team=web"}, "password": {"secret-pass-1"}}},
		{"admin/users/newbie/role", url.Values{"role": {"approver"}, "scope": {"region=cn-hangzhou"}}},
		{"admin/users/newbie/password", url.Values{"password": {"another-pass-2"}}},
		{"admin/users/newbie/disable", nil},
		{"admin/users/newbie/enable", nil},
		{"admin/grants", url.Values{"for": {"group"}, "name": {"web-team"}, "role": {"operator"}, "scope": {"tag:team=web"}}},
	}
	for _, s := range steps {
		if p := adm.post(s.path, s.form); p.status != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", s.path, p.status, p.doc.Find("[data-testid=admin-error]").Text())
		}
	}
	grants, _ := h.users.Grants(context.Background())
	if len(grants) != 1 {
		t.Fatalf("%d grants", len(grants))
	}
	if p := adm.post("admin/grants/"+itoa64(grants[0].ID)+"/remove", nil); p.status != http.StatusSeeOther {
		t.Fatalf("remove grant: %d", p.status)
	}
	want := []string{audit.ActionUserAdd, audit.ActionUserRole, audit.ActionUserPassword, audit.ActionUserDisable, audit.ActionUserEnable,
		audit.ActionGrantAdd, audit.ActionGrantRemove}
	var got []audit.Event
	for _, o := range h.ops() {
		for _, a := range audit.AccountActions {
			if o.First.Action == a {
				got = append([]audit.Event{o.First}, got...)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d account entries, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.Action != want[i] || e.User != "adm" || e.Target == "" || e.Detail == "" {
			t.Errorf("entry %d: %s by %s, target %q, detail %q", i, e.Action, e.User, e.Target, e.Detail)
		}
		if strings.Contains(e.Detail, "secret-pass") || strings.Contains(e.Detail, "another-pass") {
			t.Errorf("a password in the audit log: %q", e.Detail)
		}
	}
	if got[1].Detail != "role approver over region=cn-hangzhou, was operator over tag:team=web" {
		t.Errorf("role detail %q", got[1].Detail)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func TestBrowserAdminPageIsAccessibleAndWorks(t *testing.T) {
	axe := axeSource(t)
	h := newHarness(t, opts{})
	if _, err := h.users.AddGrant(context.Background(), users.Grant{Group: "data-oncall", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "test"); err != nil {
		t.Fatal(err)
	}
	ctx := laptopChrome(t, "light")
	browserLogin(t, ctx, h, "adm")
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("admin/users")), chromedp.WaitVisible(chromedp.CSS(`tr[data-user="op1"]`))); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "admin users")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid=add-grant] input[name=name]`), "op2"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=add-grant] select[name=role]`), "approver"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=add-grant] input[name=scope]`), "tag:team=data"),
		chromedp.Click(chromedp.CSS(`[data-testid=add-grant] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-user="op2"] li[data-grant-id]`)),
	); err != nil {
		t.Fatal(err)
	}
	checkAxe(t, ctx, axe, "admin users after a grant")
	gs, _ := h.users.GrantsFor(context.Background(), "op2", nil)
	if len(gs) != 1 || gs[0].Role != users.RoleApprover || gs[0].Scope.String() != "tag:team=data" {
		t.Fatalf("grants of op2: %+v", gs)
	}
}

func TestScopedHistoryAndStatusShowOnlyCoveredInstances(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "none"}})
	op := h.loggedIn("op1")
	mine, theirs := h.stoppedOf("data"), h.stoppedOf("platform")
	for _, in := range []ecs.Instance{mine, theirs} {
		if p := op.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); p.status != http.StatusSeeOther {
			t.Fatalf("start %s: %d", in.Name, p.status)
		}
	}
	h.scoped("dana", users.RoleViewer, "tag:team=data")
	b := h.loggedIn("dana")
	p := b.get("audit")
	if !strings.Contains(p.body, mine.ID) || strings.Contains(p.body, theirs.ID) {
		t.Fatalf("history: in scope shown %v, out of scope shown %v", strings.Contains(p.body, mine.ID), strings.Contains(p.body, theirs.ID))
	}
	if p := b.get("instances/" + theirs.ID + "/status?region=" + theirs.Region); p.status != http.StatusNotFound {
		t.Fatalf("status of an instance out of scope: %d", p.status)
	}
	if p := h.loggedIn("view").get("audit"); !strings.Contains(p.body, theirs.ID) {
		t.Fatal("an unscoped viewer no longer sees every entry")
	}
}

// The rights are compiled once per grants version: a grant given or
// removed on one App (or by a statement of its own) takes effect on another
// App sharing the database at its next request, for a local user and for a
// single sign-on user's group.
func TestAGrantChangeOnOneAppTakesEffectOnAnotherAtTheNextRequest(t *testing.T) {
	t.Parallel()
	dbPath := t.TempDir() + "/shared.db"
	keys := [][]byte{[]byte(strings.Repeat("g", 64)), []byte(strings.Repeat("r", 32))}
	args := []string{"--approval", "none", "--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32", "--groups-header", "X-Forwarded-Groups"}
	a := newHarness(t, opts{keys: keys, dbPath: dbPath, args: args})
	b := newHarness(t, opts{keys: keys, dbPath: dbPath, args: args})
	ctx := context.Background()
	a.scoped("dana", users.RoleViewer, "tag:team=nobody")
	dana := a.loggedIn("dana")
	ua, _ := url.Parse(a.srv.URL)
	ub, _ := url.Parse(b.srv.URL)
	onB := b.browser()
	onB.c.Jar.SetCookies(ub, dana.c.Jar.Cookies(ua))
	sam := b.browser()
	sam.hdr.Set("X-Forwarded-User", "sam")
	sam.hdr.Set("X-Forwarded-Groups", "staff, web-oncall")
	teamRows := func(who *browser) int {
		t.Helper()
		p := who.get("instances?per_page=100")
		if p.status != http.StatusOK {
			t.Fatalf("list on the second App: %d", p.status)
		}
		return p.doc.Find(`tr[data-instance-id]:has(` + tagged("team=platform") + `)`).Length()
	}
	for range 3 { // b has read, and may have compiled, their rights
		if n := teamRows(onB); n != 0 {
			t.Fatalf("dana sees %d platform rows before any grant", n)
		}
		teamRows(sam) // a viewer of every instance: what SSO gives without --group-roles
	}
	start := func(who *browser, in ecs.Instance) int {
		t.Helper()
		p := who.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
		if p.status != http.StatusSeeOther {
			t.Logf("start %s: %d %s", in.ID, p.status, strings.Join(strings.Fields(p.doc.Find("main").Text()), " "))
		}
		return p.status
	}
	var picked []string
	pick := func() ecs.Instance { // stoppedOf: one the simulator does not fail on purpose
		in := b.stoppedOf("platform", picked...)
		picked = append(picked, in.ID)
		return in
	}
	first, second, third := pick(), pick(), pick()
	if s := start(sam, first); s != http.StatusForbidden {
		t.Fatalf("sam's start before the group grant: %d, want 403", s)
	}

	g, err := a.users.AddGrant(ctx, users.Grant{User: "dana", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=platform")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	gg, err := a.users.AddGrant(ctx, users.Grant{Group: "web-oncall", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=platform")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if teamRows(onB) == 0 {
		t.Fatal("a grant given on the first App is not seen on the second at the next request")
	}
	if s := start(onB, first); s != http.StatusSeeOther {
		t.Fatalf("dana's start through the new grant: %d", s)
	}
	if s := start(sam, second); s != http.StatusSeeOther {
		t.Fatalf("sam's start through the new group grant: %d", s)
	}

	if _, err := a.users.RemoveGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.users.RemoveGrant(ctx, gg.ID); err != nil {
		t.Fatal(err)
	}
	if s := start(onB, third); s != http.StatusNotFound && s != http.StatusForbidden {
		t.Fatalf("dana's start after the grant was removed on the first App: %d", s)
	}
	if s := start(sam, third); s != http.StatusForbidden {
		t.Fatalf("sam's start after the group grant was removed on the first App: %d", s)
	}
	if n, _ := b.sim.Starts(third.ID); n != 0 {
		t.Fatalf("%d StartInstance calls after the grants were removed", n)
	}
	if teamRows(onB) != 0 {
		t.Fatal("platform rows still listed after the grant was removed")
	}

	// A statement of its own (an older replica, a hand-made fix) counts too.
	if _, err := a.store.Write.ExecContext(ctx, "INSERT INTO grants (user_name, role, scope, created_by, created_at) VALUES ('dana', 'operator', 'tag:team=platform', 'sql', 'x')"); err != nil {
		t.Fatal(err)
	}
	if s := start(onB, third); s != http.StatusSeeOther {
		t.Fatalf("dana's start through a grant inserted by a statement: %d", s)
	}
}
