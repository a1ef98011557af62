package templates_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"ecsdash/internal/i18n"
	"ecsdash/web/templates"
)

// everyPage is each page with its view model filled, so that every branch
// with words shows, in the language of l.
func everyPage(t *testing.T, l *i18n.Localizer) map[string]templ.Component {
	t.Helper()
	p := basePage
	p.Loc, p.Admin, p.Waiting, p.Demo, p.SkipToList = l, true, 2, true, true
	p.Flash = []templates.Flash{{Text: "ok"}, {Error: true, Text: "bad RequestId RID-9"}}
	row := templates.InstanceRow{ID: "i-local000001", Name: "hadoop-1", Region: "cn-hangzhou", Zone: "cn-hangzhou-h", Type: "ecs.d1.2xlarge",
		Status: "Stopped", Charge: "PrePaid", Expiry: "2027-01-01", CanStart: true, LocalDisk: true, NeedsApproval: true, NeedsApprovalInit: true,
		Account: "prod", Tags: []string{"team=data"}, ResourceGroup: "rg-1", Economical: "x", Locks: []string{"security"},
		StartURL: "/s", CheckURL: "/c", HistoryURL: "/h"}
	held := templates.InstanceRow{ID: "i-held0000001", Name: "web-1", Region: "cn-beijing", Status: "Running", Charge: "PostPaid",
		Expiry: "2026-01-01", Expired: true, WhyNot: "运行中。", HeldBy: 3, HeldURL: "/a", HistoryURL: "/h"}
	var rows bytes.Buffer
	if err := templates.InstanceRows(l, []templates.InstanceRow{row, held}, "tok", "ft").Render(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	awaiting := templates.AuditRow{ID: 3, State: "awaiting_approval", StateWords: "x", Time: "2026-12-01 08:00:00", Action: "StartInstance",
		Requester: "olivia", InstanceID: "i-local000001", InstanceName: "hadoop-1", Region: "cn-hangzhou", Family: "ecs.d1", Status: "Stopped",
		Wipe: true, CanDecide: true, CanWithdraw: true, Age: "1", Expires: "2", RequestReason: "r", BatchID: "b1", Digest: "d",
		ApproveURL: "/a", RejectURL: "/r", WithdrawURL: "/w", NotStopped: ""}
	other := awaiting
	other.ID, other.Wipe, other.CanDecide, other.WhyNotDecide, other.RequestReason = 4, false, false, "不行。", ""
	history := templates.AuditRow{ID: 2, State: "failed", Time: "2026-12-01 07:00:00", Action: "StartInstance", Requester: "olivia",
		Approver: "alex", InstanceID: "i-local000001", Region: "cn-hangzhou", Params: "InitLocalDisk=false", RequestID: "RID-1",
		ErrorCode: "OperationDenied.NoStock", Account: "prod", SessionName: "ecsdash-olivia", TrailURL: "https://actiontrail.console.aliyun.com/",
		Timeline: []templates.TimelineRow{{Seq: 1, Time: "07:00:00.000", Action: "StartInstance", User: "olivia", State: "sent"},
			{Seq: 2, Time: "07:00:01.000", Action: "approve", User: "alex", State: "failed"}}}
	login := p
	login.User = ""
	return map[string]templ.Component{
		"login": templates.Login(templates.LoginPage{Page: login, Error: "x", DemoUsers: []templates.DemoUser{{Name: "olivia", Role: "operator", Password: "pw", Scope: "region=cn-hangzhou"}}}),
		"instances": templates.Instances(templates.InstancesPage{Page: p, Rows: templ.Raw(rows.String()), Matched: 2, Total: 2, PageNum: 2, Pages: 3,
			PrevURL: "/p", NextURL: "/n", Regions: []string{"cn-hangzhou"}, Accounts: []string{"prod"}, Statuses: []string{"Running", "Stopped"},
			Families: []string{"ecs.d1"}, CanStart: true, CanRefresh: true, NeedsApproval: true, CacheErrors: []string{"x"}}),
		"instances-viewer": templates.Instances(templates.InstancesPage{Page: p, Matched: 0, PageNum: 1, Pages: 1}),
		"confirm-init":     templates.ConfirmInit(templates.ConfirmInitPage{Page: p, Row: row, Error: "x", NeedsApproval: true}),
		"batch": templates.BatchResults(templates.BatchPage{Page: p, BatchID: "b1", Back: "/",
			Counts: []templates.OutcomeCount{{Outcome: "failed", N: 1}, {Outcome: "started", N: 2}, {Outcome: "awaiting_approval", N: 1}, {Outcome: "refused", N: 1}, {Outcome: "unknown", N: 1}},
			Rows: []templates.BatchRow{{ID: "i-1", Name: "a", Outcome: "started", Live: true, Status: "Starting", OpID: 4},
				{ID: "i-2", Name: "b", Outcome: "failed", Code: "LackResource", Words: "ECS lacks the resources to start this instance right now.", RequestID: "RID"}}}),
		"check-would":     templates.CheckResult(templates.CheckPage{Page: p, ID: "i-1", Name: "a", Would: true, RequestID: "RID", Back: "/"}),
		"check-would-not": templates.CheckResult(templates.CheckPage{Page: p, ID: "i-1", Name: "a", Code: "LackResource", Summary: l.Sentence("ECS lacks the resources to start this instance right now."), Action: l.Sentence("Try again later, or change the instance type or zone."), RequestID: "RID", Back: "/"}),
		"audit": templates.Audit(templates.AuditPage{Page: p, Awaiting: []templates.AuditRow{awaiting, other}, History: []templates.AuditRow{history},
			States: []string{"failed"}, Actions: []templates.Choice{{Value: "StartInstance", Label: "Start instance"}, {Value: "login", Label: "Sign in"}, {Value: "some_new_action", Label: "x"}}, Total: "1", PageNum: 1, Pages: 2, PrevURL: "/p", NextURL: "/n",
			ExportCSV: "/e", ExportJSON: "/j", Batches: []templates.BatchGroup{{ID: "b1", Count: 2, ApproveURL: "/b"}}}),
		"audit-empty":     templates.Audit(templates.AuditPage{Page: p}),
		"confirm-approve": templates.ConfirmApprove(templates.ConfirmApprovePage{Page: p, Row: awaiting}),
		"admin": templates.AdminUsers(templates.AdminUsersPage{Page: p, Roles: []string{"viewer", "admin"}, Error: "x",
			Users: []templates.AdminUser{{Name: "olivia", Source: "local", Role: "operator", Grants: []templates.AdminGrant{{ID: 1, For: "x", Role: "operator", Made: "x"}}},
				{Name: "sso-user", Source: "sso", Role: "viewer", Disabled: true}, {Name: "op1", Source: "local", Role: "admin", Self: true}}}),
		"admin-group": templates.AdminUsers(templates.AdminUsersPage{Page: p, GroupGrants: []templates.AdminGrant{{ID: 2, For: "x", Role: "viewer", Scope: "region=cn-hangzhou"}}}),
		"tokens": templates.Tokens(templates.TokensPage{Page: p, Created: "tok", NewID: "t1", NewName: "ci", Error: "x",
			Lifetime: []templates.Choice{{Value: "720h", Label: "tokens.life.30d"}, {Value: "never", Label: "tokens.life.never"}},
			Tokens:   []templates.TokenRow{{ID: "t1", Name: "ci", State: "live", ReadOnly: true}, {ID: "t2", Name: "old", State: "revoked"}, {ID: "t3", State: "expired"}}}),
		"tokens-none": templates.Tokens(templates.TokensPage{Page: p}),
		"error":       templates.Error(templates.ErrorPage{Page: p, Status: 404, Heading: "x", Message: "x", RequestID: "r", BackURL: "/"}),
		"ecs-error": templates.Error(templates.ErrorPage{Page: p, Status: 409, Heading: "x", RequestID: "r", BackURL: "/", ECS: &templates.ECSFailure{
			InstanceID: "i-1", Region: "cn-hangzhou", Code: "IncorrectInstanceStatus", ECSRequestID: "RID-1", Message: "The current status of the resource does not support this operation.",
			Summary: l.Sentence("ECS refused: the instance is not in a state that allows starting (it must be Stopped)."),
			Action:  l.Sentence("Refresh the list to see its current status; start it again once it shows Stopped."), RetryURL: "/r", AuditURL: "/a"}}),
	}
}

// aKey is what a catalogue's key looks like when a page shows one raw.
var aKey = regexp.MustCompile(`\b(layout|nav|role|status|login|error|js|list|init|batch|check|start|flash|duration|audit|state|action|ago|within|admin|tokens|sentences)\.[a-z_0-9]`)

// english is a run of three English words: on a Chinese page, only codes,
// IDs and names may be English, and those are in <code> or are data.
var english = regexp.MustCompile(`[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}[ ,;:]+[A-Za-z]{2,}`)

// textOf walks the document's text and attributes a person reads.
func textOf(doc *goquery.Document, each func(where, text string)) {
	var walk func(n *html.Node, inCode bool)
	walk = func(n *html.Node, inCode bool) {
		switch n.Type {
		case html.TextNode:
			if !inCode {
				each(n.Parent.Data, n.Data)
			}
		case html.ElementNode:
			if n.Data == "script" || n.Data == "style" {
				return
			}
			inCode = inCode || n.Data == "code"
			for _, a := range n.Attr {
				switch a.Key {
				case "aria-label", "placeholder", "title", "alt":
					each(n.Data+"@"+a.Key, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inCode)
		}
	}
	for _, n := range doc.Nodes {
		walk(n, false)
	}
}

// allowedEnglish is English a Chinese page keeps: ECS's own message (shown
// as ECS said it), the product's names, and the other language's button.
var allowedEnglish = []string{"The current status of the resource does not support this operation.", "English"}

func TestEveryPageRendersInEveryLanguageWithoutARawKey(t *testing.T) {
	t.Parallel()
	for _, lang := range i18n.Languages {
		l := i18n.For(lang)
		for name, c := range everyPage(t, l) {
			doc, out := renderDoc(t, c)
			if got, _ := doc.Find("html").Attr("lang"); got != lang {
				t.Errorf("%s in %s: <html lang=%q>", name, lang, got)
			}
			if k := aKey.FindString(out); k != "" {
				i := strings.Index(out, k)
				t.Errorf("%s in %s shows a raw key near %q", name, lang, out[max(0, i-40):min(len(out), i+60)])
			}
			if lang != i18n.Chinese {
				continue
			}
			textOf(doc, func(where, text string) {
				for _, ok := range allowedEnglish {
					text = strings.ReplaceAll(text, ok, "")
				}
				if m := english.FindString(text); m != "" {
					t.Errorf("%s in Chinese: English in <%s>: %q", name, where, strings.TrimSpace(text))
				}
			})
		}
	}
}

func TestTheECSErrorPageInChineseKeepsTheCodeAndRequestID(t *testing.T) {
	t.Parallel()
	doc, _ := renderDoc(t, everyPage(t, i18n.For(i18n.Chinese))["ecs-error"])
	if got := doc.Find("[data-testid=ecs-code]").Text(); got != "IncorrectInstanceStatus" {
		t.Errorf("code = %q", got)
	}
	if got := doc.Find("[data-testid=ecs-request-id]").Text(); got != "RID-1" {
		t.Errorf("RequestId = %q", got)
	}
	dl := doc.Find("[data-testid=ecs-error]").Text()
	for _, want := range []string{"发生了什么", "ECS 拒绝了请求：实例当前的状态不允许启动", "请刷新列表查看其当前状态", "ECS 错误码", "联系阿里云技术支持时请提供"} {
		if !strings.Contains(dl, want) {
			t.Errorf("the ECS error in Chinese lacks %q: %s", want, dl)
		}
	}
}

func TestTimesShowInTheUsersZoneWithTheZoneNamed(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 22, 30, 5, 0, time.UTC)
	sh, err := i18n.Zone("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		zone       *time.Location
		time, name string
	}{{nil, "2026-12-01 22:30:05", "UTC"}, {sh, "2026-12-02 06:30:05", "Asia/Shanghai"}} {
		p := basePage
		p.Zone, p.Loc = c.zone, i18n.For(i18n.Chinese)
		if got := p.Time(at); got != c.time {
			t.Errorf("in %s: %s, want %s", c.name, got, c.time)
		}
		doc, _ := renderDoc(t, templates.Audit(templates.AuditPage{Page: p, History: []templates.AuditRow{{ID: 1, State: "succeeded", Time: p.Time(at)}}}))
		head := doc.Find("th").Eq(1).Text()
		if head != "时间（"+c.name+"）" {
			t.Errorf("the time column says %q, want the zone %s named", head, c.name)
		}
		if got, _ := doc.Find("html").Attr("data-zone"); got != c.name {
			t.Errorf("the page tells the script its zone is %q, want %s", got, c.name)
		}
	}
}
