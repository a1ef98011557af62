package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// view is what of a list page belongs to its viewer.
type view struct {
	whoami, counts  string
	csrf, formToken []string // every value on the page
	startForms      int
	batchForm       bool
	viewOnly        bool
	usersLink       bool
	waiting         string
	outOfScope      int // start forms on rows outside team=data
}

func viewOf(t *testing.T, p page) view {
	t.Helper()
	if p.status != http.StatusOK {
		t.Fatalf("list: %d %s", p.status, p.doc.Find("main").Text())
	}
	v := view{whoami: p.doc.Find("[data-testid=whoami]").Text(), counts: p.doc.Find("[data-testid=counts]").Text(),
		startForms: p.doc.Find("form.start-form").Length(), batchForm: p.doc.Find("#batch-form").Length() == 1,
		viewOnly: p.doc.Find("[data-testid=view-only]").Length() == 1, usersLink: p.doc.Find(`nav a[href$="admin/users"]`).Length() == 1,
		waiting: p.doc.Find("[data-testid=waiting-count]").Text()}
	p.doc.Find("input[name=_csrf]").Each(func(_ int, s *goquery.Selection) { v.csrf = append(v.csrf, s.AttrOr("value", "")) })
	p.doc.Find("input[name=form_token]").Each(func(_ int, s *goquery.Selection) { v.formToken = append(v.formToken, s.AttrOr("value", "")) })
	rowsOf(p).Each(func(_ int, r *goquery.Selection) {
		if r.Find(tagged("team=data")).Length() == 0 {
			v.outOfScope += r.Find("form.start-form").Length()
		}
	})
	return v
}

// one says that every value is the same and not empty, and returns it.
func one(t *testing.T, what string, vals []string) string {
	t.Helper()
	if len(vals) == 0 {
		return ""
	}
	for _, v := range vals {
		if v == "" || v != vals[0] {
			t.Fatalf("%s differ on one page: %q", what, vals)
		}
	}
	return vals[0]
}

// The list page is cached around its rows and shared between views; each
// viewer's own bits (name, role, CSRF token, form token, what they may do)
// must still be theirs, in any order of views of the same page, also
// between two users of the same rights (op1, op2).
func TestTwoUsersNeverSeeEachOthersBitsOfTheCachedListPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--approval", "none"}})
	h.scoped("dana", users.RoleOperator, "tag:team=data")
	type who struct {
		name       string
		b          *browser
		csrf       string
		role       string
		starts     bool // may start somewhere: start forms and the batch form
		onlyData   bool // start forms only on team=data rows
		admin      bool
		firstCount string
	}
	people := []*who{{name: "op1", role: "operator", starts: true}, {name: "op2", role: "operator", starts: true}, {name: "view", role: "viewer"},
		{name: "dana", role: "operator over tag:team=data", starts: true, onlyData: true}, {name: "adm", role: "admin", starts: true, admin: true}}
	for _, w := range people {
		w.b = h.loggedIn(w.name)
	}
	tokens := map[string]string{} // form token -> whose view
	for round := 0; round < 3; round++ {
		for _, w := range people {
			for _, p := range []string{"instances?per_page=100", "instances?per_page=100&page=2", "instances?per_page=50&sort=-name"} {
				v := viewOf(t, w.b.get(p))
				if v.whoami != w.name+" ("+w.role+")" {
					t.Fatalf("%s, round %d, %s: the header says %q", w.name, round, p, v.whoami)
				}
				csrf := one(t, "CSRF tokens", v.csrf)
				if w.csrf == "" {
					w.csrf = csrf
				}
				if csrf != w.csrf {
					t.Fatalf("%s, round %d, %s: CSRF token %q, the session's is %q", w.name, round, p, csrf, w.csrf)
				}
				if tok := one(t, "form tokens", v.formToken); tok != "" {
					if prev, seen := tokens[tok]; seen {
						t.Fatalf("%s, round %d, %s: form token already on a page of %s", w.name, round, p, prev)
					}
					tokens[tok] = w.name
				}
				if (v.startForms > 0) != w.starts || v.batchForm != w.starts || v.viewOnly == w.starts {
					t.Fatalf("%s, round %d, %s: %d start forms, batch form %v, view-only note %v", w.name, round, p, v.startForms, v.batchForm, v.viewOnly)
				}
				if w.onlyData && v.outOfScope > 0 {
					t.Fatalf("%s, round %d, %s: %d start forms outside the scope", w.name, round, p, v.outOfScope)
				}
				if v.usersLink != w.admin {
					t.Fatalf("%s, round %d, %s: the Users link shows: %v", w.name, round, p, v.usersLink)
				}
				if p == "instances?per_page=100" {
					if w.firstCount == "" {
						w.firstCount = v.counts
					}
					if v.counts != w.firstCount {
						t.Fatalf("%s, round %d: counts %q, first %q", w.name, round, v.counts, w.firstCount)
					}
				}
			}
		}
	}
	seen := map[string]string{}
	for _, w := range people {
		if other, dup := seen[w.csrf]; dup {
			t.Fatalf("%s and %s share a CSRF token", w.name, other)
		}
		seen[w.csrf] = w.name
	}
	if people[3].firstCount == people[0].firstCount {
		t.Fatalf("dana (scoped) and op1 count the same instances: %q", people[0].firstCount)
	}
	// The page's tokens are the session's: a form from a cached view posts.
	if p := people[2].b.post("logout", url.Values{"_csrf": {people[2].csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("logout with the cached page's token: %d", p.status)
	}
}

// A grant given or taken and a role changed on another replica, and a
// request waiting for a decision, show at the next view of a cached list
// page.
func TestTheCachedListPageShowsEveryChangeOfRightsAtTheNextView(t *testing.T) {
	t.Parallel()
	dbPath := t.TempDir() + "/shared.db"
	keys := [][]byte{[]byte(strings.Repeat("p", 64)), []byte(strings.Repeat("c", 32))}
	a := newHarness(t, opts{keys: keys, dbPath: dbPath, args: []string{"--approval", "all"}})
	b := newHarness(t, opts{keys: keys, dbPath: dbPath, args: []string{"--approval", "all"}})
	ctx := context.Background()
	onB := func(name string) *browser {
		t.Helper()
		br := a.loggedIn(name)
		ua, _ := url.Parse(a.srv.URL)
		ub, _ := url.Parse(b.srv.URL)
		other := b.browser()
		other.c.Jar.SetCookies(ub, br.c.Jar.Cookies(ua))
		return other
	}
	const list = "instances?per_page=100"
	twice := func(br *browser) view { // the second from the cache
		t.Helper()
		viewOf(t, br.get(list))
		return viewOf(t, br.get(list))
	}
	viewer := onB("view")
	if v := twice(viewer); v.startForms != 0 || !v.viewOnly {
		t.Fatalf("a viewer: %d start forms", v.startForms)
	}
	g, err := a.users.AddGrant(ctx, users.Grant{User: "view", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "test")
	if err != nil {
		t.Fatal(err)
	}
	v := viewOf(t, viewer.get(list))
	if v.startForms == 0 || v.outOfScope != 0 || !v.batchForm || v.whoami != "view (viewer over every instance; operator over tag:team=data)" {
		t.Fatalf("after a grant on the other replica: %d start forms (%d out of scope), batch form %v, %q", v.startForms, v.outOfScope, v.batchForm, v.whoami)
	}
	twice(viewer)
	if _, err := a.users.RemoveGrant(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if v := viewOf(t, viewer.get(list)); v.startForms != 0 || v.batchForm || v.whoami != "view (viewer)" {
		t.Fatalf("after the grant was taken on the other replica: %d start forms, %q", v.startForms, v.whoami)
	}

	// A request filed: the approver's next view counts it (on the same
	// replica: another follows the log every few seconds).
	approver := a.loggedIn("appr")
	if v := twice(approver); v.waiting != "" {
		t.Fatalf("nothing waits, yet the count says %q", v.waiting)
	}
	op := a.loggedIn("op1")
	in := a.instance("ci-runner-01")
	if p := op.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "reason": {"test"}}); p.status != http.StatusSeeOther {
		t.Fatalf("request: %d %s", p.status, p.doc.Find("main").Text())
	}
	if v := viewOf(t, approver.get(list)); v.waiting != "1" {
		t.Fatalf("a request waits, the approver's count says %q", v.waiting)
	}

	// A role change on one replica ends the session on the other.
	operator := onB("op2")
	twice(operator)
	if err := a.users.SetRole(ctx, "op2", users.RoleViewer); err != nil {
		t.Fatal(err)
	}
	if p := operator.get(list); p.status != http.StatusSeeOther {
		t.Fatalf("after a role change the cached page still answers %d", p.status)
	}
}
