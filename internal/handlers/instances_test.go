package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/audit"
)

func row(p page, id string) *goquery.Selection {
	return p.doc.Find(`tr[data-instance-id="` + id + `"]`)
}

func TestOperatorSeesStartFormsOnlyWhereAllowed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	p := h.loggedIn("op1").get("instances?per_page=100")
	if p.status != http.StatusOK {
		t.Fatalf("list: %d", p.status)
	}
	stopped, running, locked := h.instance("ci-runner-01"), h.instance("web-prod-01"), h.instance("legacy-billing-01")
	if row(p, stopped.ID).Find(`form[method=post][action="/instances/`+stopped.ID+`/start"]`).Length() != 1 {
		t.Fatal("stopped instance has no start form")
	}
	if r := row(p, running.ID); r.Find("form").Length() != 0 || !strings.Contains(r.Text(), "Running") {
		t.Fatalf("running instance: %q", r.Text())
	}
	if r := row(p, locked.ID); r.Find("form").Length() != 0 || !strings.Contains(r.Text(), "Locked by security control") {
		t.Fatalf("locked instance: %q", r.Text())
	}
	if s := row(p, stopped.ID); s.AttrOr("data-region", "") != "cn-hangzhou" || s.AttrOr("data-status", "") != "Stopped" {
		t.Fatal("row lacks the contract's data attributes")
	}
}

// Billing as ECS sends it: a pay-as-you-go instance carries a placeholder
// expiry (2099) that means nothing; a lapsed subscription says so in the
// row (the action cell, which phones show too) and offers no Start.
func TestBillingShowsOnlyRealExpiriesAndExpiredInstancesOfferNoStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	p := h.loggedIn("op1").get("instances?per_page=100&region=cn-hangzhou")
	postpaid, expired, prepaid := h.instance("ci-runner-01"), h.instance("promo-site-2019"), h.instance("billing-archive-01")
	if postpaid.ChargeType != "PostPaid" || !postpaid.ExpiredTime.IsZero() {
		t.Fatalf("pay-as-you-go instance: %s, expiry %v (ECS's 2099 placeholder must not become one)", postpaid.ChargeType, postpaid.ExpiredTime)
	}
	if txt := row(p, postpaid.ID).Text(); strings.Contains(txt, "expire") || strings.Contains(txt, "2099") {
		t.Fatalf("pay-as-you-go row shows an expiry: %q", txt)
	}
	r := row(p, expired.ID)
	if r.Find("form").Length() != 0 {
		t.Fatal("an expired instance offers Start")
	}
	want := "Expired on " + expired.ExpiredTime.Format("2006-01-02") + " UTC — renew it first."
	if got := r.Find("[data-testid=why-not]").Text(); got != want {
		t.Fatalf("expired row says %q, want %q", got, want)
	}
	if !strings.Contains(r.Text(), "Subscription lapsed") {
		t.Fatalf("the lock's message (LockMsg) is not shown: %q", r.Text())
	}
	r = row(p, prepaid.ID)
	if r.Find("form.start-form").Length() != 1 || !strings.Contains(r.Text(), "expires "+prepaid.ExpiredTime.Format("2006-01-02")) {
		t.Fatalf("a subscription still running: %q", r.Text())
	}
}

func TestOnlyLocalDiskFamiliesOfferInitLocalDisk(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	p := h.loggedIn("op1").get("instances?per_page=100&region=cn-hangzhou")
	n := 0
	p.doc.Find("tr[data-instance-id]").Each(func(_ int, s *goquery.Selection) {
		has := s.Find("input[name=init_local_disk]").Length() > 0
		id := s.AttrOr("data-instance-id", "")
		in, _ := h.fleet.Snapshot().Instance("cn-hangzhou", id)
		family := in.Family
		local := family == "ecs.d1" || family == "ecs.i1" || family == "ecs.i2"
		stopped := s.AttrOr("data-status", "") == "Stopped"
		if has != (local && stopped) {
			t.Errorf("%s (%s): init_local_disk shown=%v", id, family, has)
		}
		if has {
			n++
		}
	})
	if n == 0 {
		t.Fatal("no row offered InitLocalDisk at all")
	}
}

func TestViewerSeesNoFormsAndIsRefusedByHand(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("view")
	p := b.get("instances")
	if p.doc.Find("form.start-form").Length() != 0 {
		t.Fatal("viewer sees start forms")
	}
	if !strings.Contains(p.doc.Find("[data-testid=view-only]").Text(), "You can view; ask an operator") {
		t.Fatal("viewer is not told why")
	}
	// Once on the page; each row says it to a screen reader only.
	why := p.doc.Find("[data-testid=why-not]").First()
	if !strings.Contains(why.Text(), "Your role (viewer) may not start instances") || !why.HasClass("visually-hidden") {
		t.Fatalf("a viewer's row: %q", why.Text())
	}
	in := h.instance("ci-runner-01")
	if r := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); r.status != http.StatusForbidden {
		t.Fatalf("viewer's hand-made start: %d", r.status)
	}
	if h.sim.Calls("StartInstance") != 0 {
		t.Fatal("a viewer's start reached ECS")
	}
}

func TestApproverCannotStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	if r := h.loggedIn("appr").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}}); r.status != http.StatusForbidden {
		t.Fatalf("approver's start: %d", r.status)
	}
}

func TestStartRefusalsNeverReachECS(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	g7, running, locked, d1 := h.instance("ci-runner-01"), h.instance("web-prod-01"), h.instance("legacy-billing-01"), h.instance("hadoop-data-01")
	expired := h.instance("promo-site-2019")
	cases := []struct {
		name   string
		id     string
		form   url.Values
		status int
		words  string
	}{
		{"malformed id", "i-BAD!", url.Values{"region": {"cn-hangzhou"}}, 400, "not an ECS instance ID"},
		{"very long id", "i-" + strings.Repeat("a", 300), url.Values{"region": {"cn-hangzhou"}}, 400, "not an ECS instance ID"},
		{"unknown region", g7.ID, url.Values{"region": {"mars-north-1"}}, 400, "not a region"},
		{"init on another family", g7.ID, url.Values{"region": {g7.Region}, "init_local_disk": {"true"}, "confirm": {g7.ID}}, 422, "local-disk families"},
		{"confirm mismatch", d1.ID, url.Values{"region": {d1.Region}, "init_local_disk": {"true"}, "confirm": {"i-wrong"}}, 422, "does not match"},
		{"confirm missing", d1.ID, url.Values{"region": {d1.Region}, "init_local_disk": {"true"}}, 422, "Type the instance ID"},
		{"not stopped", running.ID, url.Values{"region": {running.Region}}, 409, "not Stopped"},
		{"security locked", locked.ID, url.Values{"region": {locked.Region}}, 409, "Security Control"},
		{"expired subscription", expired.ID, url.Values{"region": {expired.Region}}, 409, "Renew the subscription"},
		{"unknown instance", "i-bp1doesnotexist0000", url.Values{"region": {"cn-hangzhou"}}, 404, "No instance"},
	}
	b := h.loggedIn("op1")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("instances/"+url.PathEscape(tc.id)+"/start", tc.form)
			if p.status != tc.status {
				t.Fatalf("status %d, want %d: %s", p.status, tc.status, p.doc.Find("main").Text())
			}
			if !strings.Contains(p.doc.Find("main").Text(), tc.words) {
				t.Fatalf("page does not say %q: %s", tc.words, p.doc.Find("main").Text())
			}
		})
	}
	if n := h.sim.Calls("StartInstance"); n != 0 {
		t.Fatalf("%d StartInstance calls reached ECS", n)
	}
	for _, op := range h.ops() {
		if op.First.Action == audit.ActionStartInstance {
			t.Fatalf("a refused start was recorded as sent: %+v", op.Last)
		}
	}
}

func TestAcceptedStartRedirectsToTheRequestIDAndIsAudited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("start: %d %s", p.status, p.body)
	}
	list := b.get(strings.TrimPrefix(p.resp.Header.Get("Location"), "/"))
	flash := list.doc.Find("[data-testid=flash]").Text()
	ops := h.ops()
	if len(ops) == 0 || ops[0].Last.State != audit.StateSucceeded || ops[0].Last.RequestID == "" {
		t.Fatalf("audit: %+v", ops)
	}
	if !strings.Contains(flash, ops[0].Last.RequestID) || !strings.Contains(flash, in.Name) {
		t.Fatalf("flash %q lacks the RequestId %s or the name", flash, ops[0].Last.RequestID)
	}
	op, _ := h.audit.Operation(t.Context(), ops[0].ID())
	if len(op.Events) != 2 || op.Events[0].State != audit.StateSent || op.Events[0].User != "op1" {
		t.Fatalf("want intent then outcome, got %+v", op.Events)
	}
	if r := row(list, in.ID); r.AttrOr("data-status", "") != "Starting" {
		t.Fatalf("row shows %q right after the start", r.AttrOr("data-status", ""))
	}
}

func TestECSErrorIsExplainedInWordsWithCodeAndRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("reports-db-01") // the simulator answers DiskError for it
	p := h.loggedIn("op1").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	if p.status != http.StatusConflict {
		t.Fatalf("status %d", p.status)
	}
	code := p.doc.Find("[data-testid=ecs-code]").Text()
	rid := p.doc.Find("[data-testid=ecs-request-id]").Text()
	if code != "DiskError" || rid == "" {
		t.Fatalf("code %q request id %q", code, rid)
	}
	text := p.doc.Find("main").Text()
	if !strings.Contains(text, "disks") || strings.Contains(text, "SDKError") || strings.Contains(text, "statusCode") {
		t.Fatalf("page is not words: %s", text)
	}
	// reports-db-01 is a g7: no local disks, so no advice to initialize them.
	if strings.Contains(text, "Initialize local disks") || !strings.Contains(text, "ecs.g7 has no local disks") {
		t.Fatalf("DiskError advice does not fit a g7: %s", text)
	}
	ops := h.ops()
	if ops[0].Last.State != audit.StateFailed || ops[0].Last.RequestID != rid || ops[0].Last.ErrorCode != "DiskError" {
		t.Fatalf("audit %+v", ops[0].Last)
	}
}

func TestDoubleSubmitStartsOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	token := row(b.get("instances?per_page=100"), in.ID).Find("input[name=form_token]").AttrOr("value", "")
	if token == "" {
		t.Fatal("no form token")
	}
	form := url.Values{"region": {in.Region}, "form_token": {token}}
	first := b.post("instances/"+in.ID+"/start", form)
	second := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}, "form_token": {token}})
	if first.status != http.StatusSeeOther || second.status != http.StatusSeeOther {
		t.Fatalf("statuses %d %d", first.status, second.status)
	}
	if h.sim.Calls("StartInstance") != 1 {
		t.Fatalf("%d StartInstance calls for one form", h.sim.Calls("StartInstance"))
	}
}

func TestSearchFiltersAndPaging(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("view")
	p := b.get("instances?q=hadoop&region=cn-shanghai")
	rows := p.doc.Find("tr[data-instance-id]")
	if rows.Length() != 2 {
		t.Fatalf("%d rows for hadoop in cn-shanghai", rows.Length())
	}
	rows.Each(func(_ int, s *goquery.Selection) {
		if s.AttrOr("data-region", "") != "cn-shanghai" {
			t.Fatal("region filter leaked")
		}
	})
	if got := p.doc.Find("[data-testid=counts]").Text(); !strings.HasPrefix(got, "2 of ") {
		t.Fatalf("counts %q", got)
	}
	all := b.get("instances")
	if all.doc.Find("tr[data-instance-id]").Length() != 50 || all.doc.Find("a[rel=next]").Length() != 1 {
		t.Fatal("first page is not 50 rows with a next link")
	}
	if p := b.get("instances?status=Bogus"); p.status != http.StatusBadRequest {
		t.Fatalf("bad status filter: %d", p.status)
	}
}

func TestStatusEndpointShowsStartingRightAfterAStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	b.hdr.Set("Accept", "application/json")
	p := b.get("instances/" + in.ID + "/status?region=" + in.Region)
	if p.status != http.StatusOK || !strings.Contains(p.body, `"status":"Starting"`) {
		t.Fatalf("%d %s", p.status, p.body)
	}
}

func TestNothingIsSentWhenTheIntentCannotBeRecorded(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	b := h.loggedIn("op1")
	b.get("instances")
	h.store.Write.Close() // the audit log can no longer be written
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	if p.status != http.StatusServiceUnavailable || !strings.Contains(p.doc.Find("main").Text(), "not sent") {
		t.Fatalf("%d %s", p.status, p.doc.Find("main").Text())
	}
	if n := h.sim.Calls("StartInstance"); n != 0 {
		t.Fatalf("%d StartInstance calls left without a recorded intent", n)
	}
}

func TestECSOutageKeepsTheLastListAndSaysSo(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	before := b.get("instances").doc.Find("tr[data-instance-id]").Length()
	h.sim.SetOutage("ServiceUnavailable")
	h.advance(time.Minute) // the start-up listing is no longer fresh: a forced refresh runs
	r := b.post("instances/refresh", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("refresh: %d", r.status)
	}
	p := b.get("instances")
	if n := p.doc.Find("tr[data-instance-id]").Length(); n != before || n == 0 {
		t.Fatalf("%d rows during the outage, %d before", n, before)
	}
	text := p.doc.Find("main").Text()
	if !strings.Contains(text, "Refresh failed") || !strings.Contains(text, "last good list") {
		t.Fatalf("the page does not say the list is stale: %s", text)
	}
	if r := h.browser().get("readyz"); r.status != http.StatusOK { // ECS is every replica's: not a reason to drain this one
		t.Fatalf("readyz during the outage: %d", r.status)
	}
	h.sim.SetOutage("")
	b.post("instances/refresh", nil)
	if strings.Contains(b.get("instances").doc.Find("main").Text(), "last good list") {
		t.Fatal("the warning outlived the outage")
	}
}
