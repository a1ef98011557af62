package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"ecsdash/internal/audit"
)

// englishRun is three English words in a row: what a Chinese page must not
// show outside codes, RequestIds and names.
var englishRun = regexp.MustCompile(`[A-Za-z']+[ ,:;()-]+[A-Za-z']+[ ,:;()-]+[A-Za-z']+`)

// chineseInShanghai is a signed-in browser whose pages are in Chinese and
// whose zone is Asia/Shanghai (as the page script tells it).
func chineseInShanghai(t *testing.T, h *harness, user string) *browser {
	t.Helper()
	b := h.browser()
	b.hdr.Set("Accept-Language", "zh-CN")
	b.login(user)
	req, _ := http.NewRequest(http.MethodPost, h.url("prefs"), strings.NewReader(url.Values{"zone": {"Asia/Shanghai"}, "_csrf": {b.token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s := b.do(req).status; s != http.StatusNoContent {
		t.Fatalf("telling the zone: %d", s)
	}
	return b
}

// The notes the service stores in the audit log in English (the lookup
// after an unknown outcome, the follow-up's sighting, a lost answer, a
// withdrawal's and an expiry's reason) and ECS's own message of a failure
// are said on a Chinese page in Chinese, their times in the reader's zone,
// named; ECS's words stay available, labelled as ECS's.
func TestTheAuditPageSaysTheStoredNotesInChineseInTheReadersZone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("ci-runner-01")
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 23, 59, 58, 0, time.UTC) // 07:59:58 the next day in Shanghai
	base := audit.Event{User: "op1", Region: in.Region, InstanceID: in.ID, InstanceName: in.Name}
	appendAll := func(evs ...audit.Event) int64 {
		t.Helper()
		var op int64
		for _, e := range evs {
			e.OpID = op
			w, err := h.audit.Append(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			op = w.OpID
		}
		return op
	}
	with := func(f func(*audit.Event)) audit.Event { e := base; f(&e); return e }
	// As the service writes them (the English of today and of before).
	appendAll(
		with(func(e *audit.Event) { e.Action, e.State = audit.ActionStartInstance, audit.StateSent }),
		with(func(e *audit.Event) {
			e.Action, e.State, e.ErrorCode = audit.ActionStartInstance, audit.StateUnknown, "Dashboard.NoAnswer"
			e.ErrorMessage = "No answer came from ECS (timeout or network failure), so whether the call took effect is unknown. " +
				"Looked up right after the call (" + at.Format("15:04:05") + " UTC), the instance was Starting."
		}),
	)
	appendAll(
		with(func(e *audit.Event) { e.Action, e.State = audit.ActionStartInstance, audit.StateSent }),
		with(func(e *audit.Event) {
			e.Action, e.State, e.ErrorCode = audit.ActionReconcile, audit.StateUnknown, "Dashboard.SeenLater"
			e.ErrorMessage = "Seen Running at " + at.Add(30*time.Second).Format("2006-01-02 15:04:05") + " UTC, 30s after the call: " +
				"the start most likely took effect (ECS's answer itself was never received)."
		}))
	appendAll(
		with(func(e *audit.Event) { e.Action, e.State = audit.ActionStartInstance, audit.StateSent }),
		with(func(e *audit.Event) {
			e.Action, e.State, e.ErrorCode = audit.ActionRecover, audit.StateUnknown, "Dashboard.OutcomeLost"
			e.ErrorMessage = "Replica r-7f3a stopped before ECS's answer was recorded. Looked up right after the call (" + at.Format("15:04:05") +
				" UTC), the instance was still Stopped, which says nothing yet: ECS may not have acted on the call. " +
				"A follow-up entry will say what the instance is seen doing later."
		}))
	appendAll(
		with(func(e *audit.Event) { e.Action, e.State = audit.ActionStartInstance, audit.StateSent }),
		with(func(e *audit.Event) {
			e.Action, e.State, e.ErrorCode, e.HTTPStatus = audit.ActionStartInstance, audit.StateFailed, "IncorrectInstanceStatus", 403
			e.ErrorMessage = "The current status of the resource does not support this operation."
		}))
	appendAll(
		with(func(e *audit.Event) { e.Action, e.State = audit.ActionStartInstance, audit.StateAwaitingApproval }),
		with(func(e *audit.Event) { // before the withdrawer was recorded as approver
			e.Action, e.State, e.Reason = audit.ActionWithdraw, audit.StateWithdrawn, "withdrawn by op1"
		}))
	appendAll(
		with(func(e *audit.Event) { e.Action, e.State = audit.ActionStartInstance, audit.StateAwaitingApproval }),
		with(func(e *audit.Event) {
			e.Action, e.State, e.Approver, e.Reason = audit.ActionWithdraw, audit.StateWithdrawn, "adm", "withdrawn by adm"
		}))
	appendAll(
		with(func(e *audit.Event) { e.Action, e.State = audit.ActionStartInstance, audit.StateAwaitingApproval }),
		with(func(e *audit.Event) {
			e.Action, e.State, e.Reason = audit.ActionExpire, audit.StateExpired, "not approved within 1h0m0s"
		}))

	p := chineseInShanghai(t, h, "adm").get("audit?instance_id=" + in.ID)
	if p.status != http.StatusOK {
		t.Fatalf("the audit page: %d", p.status)
	}
	var text []string
	p.doc.Find("[data-audit-id]").Each(func(_ int, row *goquery.Selection) {
		text = append(text, row.Text())
	})
	all := strings.Join(text, "\n")
	sh, _ := time.LoadLocation("Asia/Shanghai")
	shanghai := at.In(sh)
	for _, want := range []string{
		"调用后立即查询（" + shanghai.Format("15:04:05") + " Asia/Shanghai）", "启动中",
		"实例状态为运行中", shanghai.Add(30*time.Second).Format("2006-01-02 15:04:05") + " Asia/Shanghai", "30 秒",
		"副本 r-7f3a", "已停止",
		"ECS 拒绝了请求：实例当前的状态不允许启动", "ECS 原文", "The current status of the resource does not support this operation.",
		"由 op1 撤回", "由 adm 撤回", "1 小时",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the Chinese audit page lacks %q:\n%s", want, all)
		}
	}
	// Outside ECS's own words (labelled), no English and no UTC.
	rest := strings.ReplaceAll(all, "The current status of the resource does not support this operation.", "")
	for _, m := range englishRun.FindAllString(rest, -1) {
		t.Errorf("English on the Chinese audit page: %q", m)
	}
	for _, bad := range []string{" UTC", "Running", "Starting", "withdrawn by", "not approved"} {
		if strings.Contains(rest, bad) {
			t.Errorf("the Chinese audit page says %q:\n%s", bad, rest)
		}
	}
	// A request awaiting approval of an instance that cannot start now says
	// why in Chinese, for the approver.
	locked := h.instance("legacy-billing-01")
	appendAll(audit.Event{User: "op1", Region: locked.Region, InstanceID: locked.ID, InstanceName: locked.Name,
		Action: audit.ActionStartInstance, State: audit.StateAwaitingApproval})
	why := chineseInShanghai(t, h, "appr").get("audit?instance_id=" + locked.ID).doc.Find("[data-testid=not-stopped]").Text()
	if !strings.Contains(why, "现在批准将会失败") || englishRun.MatchString(strings.ReplaceAll(why, "OperationLocks：security", "")) {
		t.Errorf("why the request cannot start now: %q", why)
	}
}

// An expiry's refusal names its day in the reader's zone, and a lock is
// said in Chinese with ECS's own note kept, labelled as ECS's: in the list
// and on the page a start of the expired instance answers.
func TestExpiriesAndLocksAreSaidInChineseInTheReadersZone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := chineseInShanghai(t, h, "op1")
	sh, _ := time.LoadLocation("Asia/Shanghai")
	expired, locked := h.instance("promo-site-2019"), h.instance("legacy-billing-01")
	day := expired.ExpiredTime.In(sh).Format("2006-01-02") + " Asia/Shanghai"
	p := b.get("instances?per_page=100&region=cn-hangzhou")
	if got := row(p, expired.ID).Find("[data-testid=why-not]").Text(); !strings.Contains(got, day) || strings.Contains(got, "UTC") {
		t.Errorf("the expired row says %q, want the day %s", got, day)
	}
	lr := row(p, locked.ID)
	if got := lr.Find(".badge.lock").Text(); got != "安全锁定" {
		t.Errorf("the security lock's badge: %q", got)
	}
	if got := lr.Find(".lock-note").Text(); got != "ECS 原文：The instance is under security control after a detected intrusion." {
		t.Errorf("the lock's note: %q", got)
	}
	if got := row(p, expired.ID).Find(".badge.lock").Text(); got != "欠费锁定" {
		t.Errorf("the financial lock's badge: %q", got)
	}
	s := b.post("instances/"+expired.ID+"/start", url.Values{"region": {expired.Region}})
	text := s.doc.Find("[data-testid=error]").Text()
	if !strings.Contains(text, "已于 "+day+" 到期") || strings.Contains(text, " UTC") || strings.Contains(text, "Expired on") {
		t.Errorf("the start of an expired instance: %d %+q want %+q", s.status, text, "已于 "+day+" 到期")
	}
}

// A batch's results page in Chinese says each row's why in Chinese, also
// where the why is made of a sentence and a name (no such instance in a
// region) or of a rule's refusal and a sentence (an expired instance).
func TestABatchsResultsAreSaidInChinese(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := chineseInShanghai(t, h, "op1")
	ok, expired := h.instance("ci-runner-01"), h.instance("promo-site-2019")
	p := b.post("instances/start", url.Values{"instance": {
		ok.Region + "/" + ok.ID, expired.Region + "/" + expired.ID, "cn-hangzhou/i-bp1doesnotexist0000", "not-a-ref"}})
	if p.status != http.StatusOK {
		t.Fatalf("the batch: %d %.300s", p.status, p.body)
	}
	rows := p.doc.Find("tr[data-outcome]")
	if rows.Length() != 4 {
		t.Fatalf("%d rows", rows.Length())
	}
	rows.Each(func(_ int, r *goquery.Selection) {
		why := r.Find("td").Eq(2).Text()
		why = strings.ReplaceAll(why, r.Find("td code").First().Text(), "") // the code, if any
		if m := englishRun.FindString(why); m != "" || strings.Contains(why, " UTC") {
			t.Errorf("row %s (%s) says %q: %q", r.AttrOr("data-instance-id", ""), r.AttrOr("data-outcome", ""), m, why)
		}
	})
}
