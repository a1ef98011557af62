package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/chromedp"

	"ecsdash/internal/ecs/ecssim"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

type liveAnswer struct {
	V    string `json:"v"`
	Age  int64  `json:"age"`
	Rows []struct {
		ID, Name, Status, HTML string
		Gone                   bool
	} `json:"rows"`
}

func (b *browser) live(t *testing.T, v string, refs []string) liveAnswer {
	t.Helper()
	q := url.Values{"v": {v}, "r": refs}
	req, _ := http.NewRequest(http.MethodGet, b.h.url("instances/live?"+q.Encode()), nil)
	req.Header.Set("Accept", "application/json")
	p := b.do(req)
	if p.status != http.StatusOK {
		t.Fatalf("live poll: %d %s", p.status, p.body)
	}
	var ans liveAnswer
	if err := json.Unmarshal([]byte(p.body), &ans); err != nil {
		t.Fatalf("live poll: %v in %q", err, p.body)
	}
	return ans
}

// An open list's poll costs two numbers when nothing changed, and answers
// only the rows that look different when something did: here a start by
// someone else, seen by a viewer.
func TestLivePollAnswersOnlyTheRowsThatChanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{simOpts: ecssim.Options{StartDelay: 5 * time.Second}})
	viewer := h.loggedIn("view")
	list := viewer.get("instances?region=cn-hangzhou&per_page=100")
	var refs []string
	list.doc.Find("tr[data-instance-id]").Each(func(_ int, s *goquery.Selection) {
		refs = append(refs, s.AttrOr("data-region", "")+"/"+s.AttrOr("data-instance-id", "")+":"+s.AttrOr("data-row-v", ""))
	})
	if len(refs) < 2 || strings.HasSuffix(refs[0], ":") {
		t.Fatalf("the rows carry no version: %v", refs)
	}
	first := viewer.live(t, "", refs)
	if len(first.Rows) != 0 || first.V == "" || first.Age < 0 {
		t.Fatalf("a poll of an unchanged page answers %+v", first)
	}
	if again := viewer.live(t, first.V, refs); len(again.Rows) != 0 || again.V != first.V {
		t.Fatalf("the same version answers %+v", again)
	}

	in := h.instance("ci-runner-01")
	op := h.loggedIn("op1")
	token := row(op.get("instances?region=cn-hangzhou&per_page=100"), in.ID).Find("input[name=form_token]").AttrOr("value", "")
	if p := op.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}}); p.status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.status, p.body)
	}
	after := viewer.live(t, first.V, refs)
	if after.V == first.V || len(after.Rows) != 1 {
		t.Fatalf("after a start the poll answers %d rows at version %q (was %q)", len(after.Rows), after.V, first.V)
	}
	r := after.Rows[0]
	if r.ID != in.ID || r.Status == "Stopped" || !strings.Contains(r.HTML, `data-instance-id="`+in.ID+`"`) || strings.Contains(r.HTML, "start-form") {
		t.Fatalf("the changed row: %+v", r)
	}
	if p := viewer.get("instances/live?r=cn-hangzhou/not-an-id:x"); p.status != http.StatusBadRequest {
		t.Fatalf("a malformed row answers %d", p.status)
	}
}

// A page's own polling is not its user being there: a tab left open does
// not keep its session from going idle.
func TestPollsDoNotKeepAnIdleSessionAlive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--idle-timeout", "30m"}})
	b := h.loggedIn("view")
	in := h.instance("ci-runner-01")
	h.advance(20 * time.Minute)
	req, _ := http.NewRequest(http.MethodGet, h.url("instances/"+in.ID+"/status?region="+in.Region), nil)
	req.Header.Set("Accept", "application/json")
	if p := b.do(req); p.status != http.StatusOK {
		t.Fatalf("poll: %d", p.status)
	}
	h.advance(15 * time.Minute) // 35 minutes since the last page the user asked for
	if p := b.get("instances"); p.status != http.StatusSeeOther || !strings.Contains(p.resp.Header.Get("Location"), "login") {
		t.Fatalf("35 idle minutes (with polls) later the list answers %d %s", p.status, p.resp.Header.Get("Location"))
	}
}

// listRefs are the rows an open list follows, as its script sends them.
func listRefs(t *testing.T, p page) []string {
	t.Helper()
	var refs []string
	p.doc.Find("tr[data-instance-id]").Each(func(_ int, s *goquery.Selection) {
		refs = append(refs, s.AttrOr("data-region", "")+"/"+s.AttrOr("data-instance-id", "")+":"+s.AttrOr("data-row-v", ""))
	})
	if len(refs) == 0 {
		t.Fatal("the list has no rows")
	}
	return refs
}

// The poll's version covers the viewer as well as the fleet: a grant
// given elsewhere (the command, another replica) and a language switched
// in another tab reach an open page at its next poll, with the fleet
// unchanged.
func TestLivePollFollowsTheViewersRightsAndLanguageNotOnlyTheFleet(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("view")
	list := b.get("instances?region=cn-hangzhou&per_page=100")
	refs := listRefs(t, list)
	if list.doc.Find("form.start-form").Length() != 0 {
		t.Fatal("a viewer is offered Start")
	}
	first := b.live(t, "", refs)
	if len(first.Rows) != 0 {
		t.Fatalf("a poll of an unchanged page answers %d rows", len(first.Rows))
	}
	seq := h.fleet.Snapshot().Seq

	// A grant given elsewhere (the command, another replica's admin page).
	if _, err := h.users.AddGrant(t.Context(), users.Grant{User: "view", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "test"); err != nil {
		t.Fatal(err)
	}
	after := b.live(t, first.V, refs)
	if h.fleet.Snapshot().Seq != seq {
		t.Fatal("the fleet moved during the test: it shows nothing of the version's other parts")
	}
	starts := 0
	for _, r := range after.Rows {
		if strings.Contains(r.HTML, "start-form") {
			starts++
		}
	}
	if after.V == first.V || starts == 0 {
		t.Fatalf("after an operator grant the poll answers %d rows (%d with Start) at version %q (was %q)", len(after.Rows), starts, after.V, first.V)
	}

	// Another tab switches the language: the same session's next poll
	// answers the rows in it.
	if p := b.post("prefs", url.Values{"lang": {"zh-CN"}, "next": {"/instances"}}); p.status != http.StatusSeeOther {
		t.Fatalf("language switch: %d", p.status)
	}
	zh := b.live(t, after.V, refs)
	if zh.V == after.V || len(zh.Rows) == 0 || !strings.Contains(zh.Rows[0].HTML, "启动") {
		t.Fatalf("after a language switch the poll answers %d rows at version %q (was %q)", len(zh.Rows), zh.V, after.V)
	}
	if again := b.live(t, zh.V, refs); again.V != zh.V || len(again.Rows) != 0 {
		t.Fatalf("nothing changed since, yet the poll answers %d rows at %q", len(again.Rows), again.V)
	}
	if p := b.post("prefs", url.Values{"zone": {"Asia/Shanghai"}}); p.status != http.StatusSeeOther {
		t.Fatalf("zone: %d", p.status)
	}
	if zoned := b.live(t, zh.V, refs); zoned.V == zh.V {
		t.Fatal("the poll's version ignores the viewer's zone")
	}
}

// A grant taken away takes the rows it showed off an open page at its next
// poll: the poll names them gone, and tells nothing else of them.
func TestLivePollTakesRowsOutOfSightAwayAfterAGrantIsRemoved(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	h.scoped("dana", users.RoleOperator, "tag:team=data")
	g, err := h.users.AddGrant(t.Context(), users.Grant{User: "dana", Role: users.RoleViewer, Scope: scope.MustParse("tag:team=devex")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	b := h.loggedIn("dana")
	list := b.get("instances?region=cn-hangzhou&per_page=100")
	devex := list.doc.Find(`tr[data-instance-id]:has(` + tagged("team=devex") + `)`).Length()
	if devex == 0 || list.doc.Find(`tr[data-instance-id]:has(`+tagged("team=data")+`)`).Length() == 0 {
		t.Fatal("dana does not see both teams' rows")
	}
	refs := listRefs(t, list)
	first := b.live(t, "", refs)
	if len(first.Rows) != 0 {
		t.Fatalf("an unchanged page: %d rows", len(first.Rows))
	}
	if _, err := h.users.RemoveGrant(t.Context(), g.ID); err != nil {
		t.Fatal(err)
	}
	after := b.live(t, first.V, refs)
	gone := 0
	for _, r := range after.Rows {
		in, ok := h.fleet.Lookup("cn-hangzhou", r.ID)
		if !ok || in.Tags["team"] != "devex" || !r.Gone || r.HTML != "" || r.Name != "" || r.Status != "" {
			t.Fatalf("after the devex grant was removed the poll answers %+v (team %q)", r, in.Tags["team"])
		}
		gone++
	}
	if after.V == first.V || gone != devex {
		t.Fatalf("%d rows answered gone, want the %d devex rows (version %q, was %q)", gone, devex, after.V, first.V)
	}
}

// In a real browser, an open list follows its viewer's grants: a grant
// given elsewhere puts a Start form into a row at the next poll, and the
// grants taken away take the rows they showed off the page, without a
// reload.
func TestBrowserAnOpenListFollowsTheViewersGrants(t *testing.T) {
	h := newHarness(t, opts{})
	h.scoped("dana", users.RoleOperator, "tag:team=data")
	view, err := h.users.AddGrant(t.Context(), users.Grant{User: "dana", Role: users.RoleViewer, Scope: scope.MustParse("tag:team=devex")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := newChrome(t)
	browserLogin(t, ctx, h, "dana")
	ci := h.instance("ci-runner-01") // team devex, Stopped
	form := `!!document.querySelector('tr[data-instance-id="` + ci.ID + `"] form.start-form')`
	if err := chromedp.Do(ctx, chromedp.Navigate(h.url("instances?region=cn-hangzhou&per_page=100")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-instance-id="`+ci.ID+`"]`))); err != nil {
		t.Fatalf("dana's list: %v", err)
	}
	if offered, err := chromedp.Run(ctx, chromedp.Evaluate[bool](form)); err != nil || offered {
		t.Fatalf("a viewer of devex is offered Start of %s (%v)", ci.Name, err)
	}
	// The page's first poll is in: what follows is a change it must see.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Number(document.getElementById('fleet-rows').getAttribute('data-polls') || 0) >= 1`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the list never polled: %v", err)
	}
	start, err := h.users.AddGrant(t.Context(), users.Grant{User: "dana", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=devex")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](form, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the operator grant never put a Start form into the open row: %v", err)
	}
	for _, g := range []int64{view.ID, start.ID} {
		if _, err := h.users.RemoveGrant(t.Context(), g); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector('tr[data-instance-id="`+ci.ID+`"]')`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the row stayed on the page after the grants over it were taken: %v", err)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#fleet-rows tr[data-instance-id]').length`)); n == 0 {
		t.Fatal("the rows still in dana's scope went too")
	}
}

// A poll tells an instance out of the viewer's sight apart from one that
// does not exist by nothing: both are answered gone, alike, as the status
// endpoint answers both 404. Else any signed-in user could learn from a
// poll that an id outside their scope exists, and when it is released.
func TestLivePollAnswersAnUnseenInstanceAsOneThatDoesNotExist(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	h.scoped("dana", users.RoleOperator, "tag:team=data")
	var unseen string
	for _, in := range h.fleet.Snapshot().Instances {
		if in.Region == "cn-hangzhou" && in.Tags["team"] != "data" {
			unseen = in.ID
			break
		}
	}
	if unseen == "" {
		t.Fatal("the demo has no instance in cn-hangzhou outside team=data")
	}
	b := h.loggedIn("dana")
	const missing = "i-bp1doesnotexist000"
	answers := map[string]liveAnswer{}
	for _, id := range []string{unseen, missing} {
		answers[id] = b.live(t, "", []string{"cn-hangzhou/" + id + ":x"})
	}
	a, m := answers[unseen], answers[missing]
	if len(a.Rows) != 1 || len(m.Rows) != 1 || !a.Rows[0].Gone || !m.Rows[0].Gone ||
		a.Rows[0].Name+a.Rows[0].Status+a.Rows[0].HTML != "" || m.Rows[0].Name+m.Rows[0].Status+m.Rows[0].HTML != "" {
		t.Fatalf("an unseen instance is answered %+v, one that does not exist %+v: they must look alike", a.Rows, m.Rows)
	}
}

// The polls' answers carry the viewer's rows, CSRF token and form tokens:
// no cache may keep them.
func TestThePollsAnswersAreKeptByNoCache(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("view")
	in := h.instance("ci-runner-01")
	b.hdr.Set("Accept", "application/json")
	for _, path := range []string{"instances/live?r=" + url.QueryEscape(in.Region+"/"+in.ID+":x"), "instances/" + in.ID + "/status?region=" + in.Region} {
		if p := b.get(path); p.status != http.StatusOK || p.resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d, Cache-Control %q", path, p.status, p.resp.Header.Get("Cache-Control"))
		}
	}
}
