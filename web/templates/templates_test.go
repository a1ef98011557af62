package templates_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"ecsdash/web/templates"
)

func renderDoc(t *testing.T, c templ.Component) (*goquery.Document, string) {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return doc, buf.String()
}

func rowsHTML(t *testing.T, rows []templates.InstanceRow) string {
	t.Helper()
	var buf bytes.Buffer
	if err := templates.InstanceRows(nil, rows, "tok", "form-token").Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

var basePage = templates.Page{Title: "T", Base: "/ecs/", User: "op1", Role: "operator", CSRF: "tok", StyleURL: "/ecs/static/s.css", AppJSURL: "/ecs/static/a.js"}

func TestInstanceRowsCarryTheContractAndTheRightControls(t *testing.T) {
	t.Parallel()
	rows := []templates.InstanceRow{
		{ID: "i-startable01", Name: "web", Region: "cn-hangzhou", Status: "Stopped", CanStart: true, StartURL: "/ecs/instances/i-startable01/start"},
		{ID: "i-localdisk01", Name: "hadoop", Region: "cn-hangzhou", Status: "Stopped", CanStart: true, LocalDisk: true, NeedsApprovalInit: true, StartURL: "/ecs/instances/i-localdisk01/start"},
		{ID: "i-running0001", Name: "api", Region: "cn-shanghai", Status: "Running", WhyNot: "Running."},
	}
	doc, _ := renderDoc(t, templates.Instances(templates.InstancesPage{Page: basePage, Rows: templ.Raw(rowsHTML(t, rows)), Matched: 3, PageNum: 1, Pages: 1}))
	for _, r := range rows {
		tr := doc.Find(`tr[data-instance-id="` + r.ID + `"]`)
		if tr.AttrOr("data-region", "") != r.Region || tr.AttrOr("data-status", "") != r.Status {
			t.Fatalf("%s: data attributes", r.ID)
		}
		form := tr.Find(`form[method=post][action="` + r.StartURL + `"]`)
		if (form.Length() == 1) != r.CanStart {
			t.Fatalf("%s: start form present=%v", r.ID, form.Length() == 1)
		}
		if r.CanStart && form.Find(`input[name=_csrf][value=tok]`).Length() != 1 {
			t.Fatalf("%s: form lacks the CSRF token", r.ID)
		}
		if (tr.Find("input[name=init_local_disk]").Length() > 0) != r.LocalDisk {
			t.Fatalf("%s: init_local_disk present for a family that should not have it", r.ID)
		}
		if r.LocalDisk && tr.Find("input[name=confirm]").Length() != 1 {
			t.Fatalf("%s: no confirm input", r.ID)
		}
	}
	local := doc.Find(`tr[data-instance-id="i-localdisk01"]`).Text()
	if !strings.Contains(local, "wipes ALL data") || !strings.Contains(local, "second person") {
		t.Fatalf("the local-disk warning is not plain: %q", local)
	}
	if !strings.Contains(doc.Find(`tr[data-instance-id="i-running0001"]`).Text(), "Running.") {
		t.Fatal("the running row does not say why")
	}
	if doc.Find("dialog#init-dialog").Length() != 1 {
		t.Fatal("no confirmation dialog")
	}
}

func TestOutputIsEscaped(t *testing.T) {
	t.Parallel()
	rows := []templates.InstanceRow{{ID: "i-x0000000", Name: `<script>alert(1)</script>`, Status: "Stopped", WhyNot: `"><img src=x>`}}
	doc, html := renderDoc(t, templates.Instances(templates.InstancesPage{Page: basePage, Rows: templ.Raw(rowsHTML(t, rows))}))
	if strings.Contains(html, "<script>alert") || doc.Find("img").Length() != 0 {
		t.Fatal("markup from data reached the page")
	}
}

func TestDemoBannerOnlyInDemoMode(t *testing.T) {
	t.Parallel()
	doc, _ := renderDoc(t, templates.Login(templates.LoginPage{Page: basePage}))
	if doc.Find("[data-testid=demo-banner]").Length() != 0 {
		t.Fatal("banner outside demo mode")
	}
	p := basePage
	p.Demo = true
	doc, _ = renderDoc(t, templates.Login(templates.LoginPage{Page: p, DemoUsers: []templates.DemoUser{{Name: "olivia", Role: "operator", Password: "pw"}}}))
	if !strings.Contains(doc.Find("[data-testid=demo-banner]").Text(), "Simulated ECS") || doc.Find("[data-testid=demo-users]").Length() != 1 {
		t.Fatal("demo mode lacks the banner or the accounts")
	}
}

func TestAuditRowsAndDecisions(t *testing.T) {
	t.Parallel()
	v := templates.AuditPage{Page: basePage,
		Awaiting: []templates.AuditRow{
			{ID: 7, State: "awaiting_approval", Requester: "op1", InstanceID: "i-a", CanDecide: true, Digest: "d7", ApproveURL: "/ecs/audit/7/approve", RejectURL: "/ecs/audit/7/reject"},
			{ID: 8, State: "awaiting_approval", Requester: "me", InstanceID: "i-b", WhyNotDecide: "Your own request: a second person decides."},
		},
		History: []templates.AuditRow{{ID: 3, State: "succeeded", RequestID: "REQ-3", Timeline: []templates.TimelineRow{{Seq: 3}, {Seq: 4}}}},
	}
	doc, _ := renderDoc(t, templates.Audit(v))
	if doc.Find(`tr[data-audit-id="7"][data-state=awaiting_approval] form[action="/ecs/audit/7/approve"] input[name=digest][value=d7]`).Length() != 1 {
		t.Fatal("no approve form bound to the digest")
	}
	if doc.Find(`tr[data-audit-id="7"] form[action="/ecs/audit/7/reject"] input[name=reason][required]`).Length() != 1 {
		t.Fatal("no reject form with a required reason")
	}
	if doc.Find(`tr[data-audit-id="8"] form`).Length() != 0 || !strings.Contains(doc.Find(`tr[data-audit-id="8"]`).Text(), "second person") {
		t.Fatal("own request offers a decision")
	}
	if doc.Find(`tr[data-audit-id="3"][data-state=succeeded]`).Find("[data-testid=request-id]").Text() != "REQ-3" {
		t.Fatal("history row lacks the RequestId")
	}
	if doc.Find(`tr[data-audit-id="3"] details.timeline li`).Length() != 2 {
		t.Fatal("the operation does not expand to its timeline")
	}
}

func TestECSErrorPageShowsCodeAndRequestID(t *testing.T) {
	t.Parallel()
	doc, _ := renderDoc(t, templates.Error(templates.ErrorPage{Page: basePage, Status: 409, Heading: "ECS did not start web",
		ECS: &templates.ECSFailure{Code: "DiskError", ECSRequestID: "RID-1", Summary: "A disk is in a bad state.", Action: "Check the disks."}}))
	if doc.Find("[data-testid=ecs-code]").Text() != "DiskError" || doc.Find("[data-testid=ecs-request-id]").Text() != "RID-1" {
		t.Fatal("code or RequestId missing")
	}
	if !strings.Contains(doc.Text(), "Check the disks.") {
		t.Fatal("no advice")
	}
}

func TestConfirmInitPageSaysWhatIsLostAndCarriesTheForm(t *testing.T) {
	t.Parallel()
	row := templates.InstanceRow{ID: "i-localdisk01", Name: "hadoop", Region: "cn-hangzhou", StartURL: "/ecs/instances/i-localdisk01/start"}
	doc, _ := renderDoc(t, templates.ConfirmInit(templates.ConfirmInitPage{Page: basePage, Row: row, Error: "does not match", FormToken: "ft", NeedsApproval: true}))
	form := doc.Find(`form[method=post][action="/ecs/instances/i-localdisk01/start"]`)
	for _, sel := range []string{`input[name=_csrf][value=tok]`, `input[name=region][value=cn-hangzhou]`, `input[name=init_local_disk][value=true]`, `input[name=confirm]`, `input[name=form_token][value=ft]`} {
		if form.Find(sel).Length() != 1 {
			t.Fatalf("the form lacks %s", sel)
		}
	}
	text := doc.Find("[data-testid=confirm-init]").Text()
	for _, want := range []string{"wipes ALL data", "cannot be undone", "second person", "does not match"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the page does not say %q", want)
		}
	}
}

// The region cell reads as the zone, its region standing out: the zone adds
// only what follows the region; a zone named otherwise is shown whole.
func TestRegionCellShowsTheZoneAfterItsRegion(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ region, zone, text string }{
		{"cn-hangzhou", "cn-hangzhou-h", "cn-hangzhou-h"},
		{"ap-southeast-1", "ap-southeast-1a", "ap-southeast-1a"},
		{"cn-hangzhou", "other-zone", "cn-hangzhou other-zone"},
		{"cn-hangzhou", "", "cn-hangzhou"},
	} {
		rows := []templates.InstanceRow{{ID: "i-zone0000001", Name: "web", Region: c.region, Zone: c.zone, Status: "Running"}}
		doc, _ := renderDoc(t, templates.Instances(templates.InstancesPage{Page: basePage, Rows: templ.Raw(rowsHTML(t, rows)), Matched: 1, PageNum: 1, Pages: 1}))
		cell := doc.Find(`tr[data-instance-id] > td:nth-last-child(7)`) // the region's column (style.css)
		if got := strings.TrimSpace(cell.Text()); got != c.text {
			t.Errorf("%s / %s: the cell reads %q, want %q", c.region, c.zone, got, c.text)
		}
	}
}
