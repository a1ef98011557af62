package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/audit"
)

func langOf(p page) string { return p.doc.Find("html").AttrOr("lang", "") }

func TestAcceptLanguageChoosesThePagesLanguage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	zh := h.browser()
	zh.hdr.Set("Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8")
	if p := zh.get("login"); langOf(p) != "zh-CN" || p.doc.Find("h1").Text() != "登录" {
		t.Fatalf("zh browser: lang %q, heading %q", langOf(p), p.doc.Find("h1").Text())
	}
	zh.login("op1")
	if p := zh.get("instances"); langOf(p) != "zh-CN" || !strings.Contains(p.doc.Find("h1").Text(), "实例") {
		t.Fatalf("zh list: lang %q, heading %q", langOf(p), p.doc.Find("h1").Text())
	}
	en := h.browser()
	en.hdr.Set("Accept-Language", "en-GB,en;q=0.9")
	if p := en.get("login"); langOf(p) != "en" || p.doc.Find("h1").Text() != "Sign in" {
		t.Fatalf("en browser: lang %q, heading %q", langOf(p), p.doc.Find("h1").Text())
	}
}

func TestTheRememberedChoiceBeatsAcceptLanguage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	// Before signing in: the login page's control, remembered by cookie.
	anon := h.browser()
	anon.hdr.Set("Accept-Language", "en-US")
	anon.get("login")
	if p := anon.post("prefs", url.Values{"lang": {"zh-CN"}, "next": {h.cfg.BasePath() + "login"}}); p.status != http.StatusSeeOther {
		t.Fatalf("choosing a language: %d %s", p.status, p.body)
	}
	if p := anon.get("login"); langOf(p) != "zh-CN" {
		t.Fatalf("the login page after choosing Chinese: lang %q", langOf(p))
	}
	// Signed in: remembered for the user, in their next session too.
	b := h.browser()
	b.hdr.Set("Accept-Language", "zh-CN")
	b.login("op2")
	if p := b.post("prefs", url.Values{"lang": {"en"}, "next": {h.cfg.BasePath() + "audit"}}); p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != h.cfg.BasePath()+"audit" {
		t.Fatalf("choosing English: %d %q", p.status, p.resp.Header.Get("Location"))
	}
	if p := b.get("instances"); langOf(p) != "en" {
		t.Fatalf("after choosing English: lang %q", langOf(p))
	}
	other := h.browser() // another machine: no cookie of the choice
	other.hdr.Set("Accept-Language", "zh-CN")
	other.login("op2")
	if p := other.get("instances"); langOf(p) != "en" {
		t.Fatalf("op2's choice is not remembered in a new session: lang %q", langOf(p))
	}
	// A language not offered is refused at the edge.
	if p := b.post("prefs", url.Values{"lang": {"xx"}}); p.status != http.StatusBadRequest {
		t.Fatalf("an unknown language: %d", p.status)
	}
	// Without the form's token, nothing changes.
	if p := b.post("prefs", url.Values{"lang": {"zh-CN"}, "_csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Fatalf("a forged form: %d", p.status)
	}
}

func TestAnSSOUsersChoiceIsRemembered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{args: []string{"--auth-header", "X-Forwarded-User", "--trusted-proxies", "127.0.0.1/32",
		"--groups-header", "X-Forwarded-Groups", "--group-roles", "ops=operator"}})
	sso := func() *browser {
		b := h.browser()
		b.hdr.Set("X-Forwarded-User", "sam")
		b.hdr.Set("X-Forwarded-Groups", "ops")
		b.hdr.Set("Accept-Language", "en-US")
		return b
	}
	b := sso()
	if p := b.get("instances"); p.status != http.StatusOK || langOf(p) != "en" {
		t.Fatalf("sam: %d lang %q", p.status, langOf(p))
	}
	if p := b.post("prefs", url.Values{"lang": {"zh-CN"}, "next": {h.cfg.BasePath() + "instances"}}); p.status != http.StatusSeeOther {
		t.Fatalf("sam chooses Chinese: %d %s", p.status, p.body)
	}
	again := sso() // a new browser session of the same SSO user
	if p := again.get("instances"); langOf(p) != "zh-CN" {
		t.Fatalf("sam's choice is not remembered: lang %q", langOf(p))
	}
}

func TestAnECSErrorPageInChineseShowsTheCodeAndRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.instance("reports-db-01") // the simulator answers DiskError for it
	b := h.browser()
	b.hdr.Set("Accept-Language", "zh-CN")
	p := b.login("op1").post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	if p.status != http.StatusConflict || langOf(p) != "zh-CN" {
		t.Fatalf("status %d lang %q", p.status, langOf(p))
	}
	if code := p.doc.Find("[data-testid=ecs-code]").Text(); code != "DiskError" {
		t.Fatalf("code %q", code)
	}
	if rid := p.doc.Find("[data-testid=ecs-request-id]").Text(); rid == "" {
		t.Fatal("no RequestId")
	}
	text := p.doc.Find("[data-testid=ecs-error]").Text()
	for _, want := range []string{"实例的某块云盘处于无法启动的状态", "ecs.g7 没有本地盘", "怎么处理"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q: %s", want, text)
		}
	}
}

func TestTheBrowsersZoneIsValidatedRememberedAndShown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	in := h.instance("ci-runner-01")
	b.post("instances/"+in.ID+"/check", url.Values{"region": {in.Region}}) // an operation to show
	var op audit.Op
	for _, o := range h.ops() {
		if o.First.Action == audit.ActionCheck {
			op = o
		}
	}
	if op.ID() == 0 {
		t.Fatal("no check recorded")
	}
	utc := b.get("audit")
	if head := utc.doc.Find("[data-times] th").Eq(1).Text(); head != "Time (UTC)" {
		t.Fatalf("before the zone is told: %q", head)
	}
	post := func(zone string) int {
		req, _ := http.NewRequest(http.MethodPost, h.url("prefs"), strings.NewReader(url.Values{"zone": {zone}, "_csrf": {b.token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return b.do(req).status
	}
	for _, bad := range []string{"Mars/Olympus", "../etc/passwd", "Local"} {
		if s := post(bad); s != http.StatusBadRequest {
			t.Errorf("zone %q: %d", bad, s)
		}
	}
	if s := post("Asia/Shanghai"); s != http.StatusNoContent {
		t.Fatalf("Asia/Shanghai: %d", s)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	p := b.get("audit")
	if head := p.doc.Find("[data-times] th").Eq(1).Text(); head != "Time (Asia/Shanghai)" {
		t.Fatalf("the time column: %q", head)
	}
	want := op.First.Time.In(sh).Format("2006-01-02 15:04:05")
	if got := p.doc.Find("[data-audit-id=\"" + itoa64(op.ID()) + "\"] td").Eq(1).Text(); got != want {
		t.Fatalf("the check's time: %q, want %q (Asia/Shanghai)", got, want)
	}
	// Remembered for the user: a new session shows the same zone.
	if p := h.loggedIn("op1").get("audit"); p.doc.Find("[data-times] th").Eq(1).Text() != "Time (Asia/Shanghai)" {
		t.Fatalf("the zone is not remembered: %q", p.doc.Find("[data-times] th").Eq(1).Text())
	}
	// Exports stay UTC.
	csv := h.loggedIn("adm").get("audit/export?format=csv")
	if !strings.Contains(csv.body, op.First.Time.UTC().Format("2006-01-02T15:04:05")) {
		t.Fatalf("the export is not in UTC: %.300s", csv.body)
	}
}

func TestTheKeyedChainsReasonIsSaidInThePagesLanguage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.hdr.Set("Accept-Language", "zh-CN")
	p := b.login("adm").get("audit?action=audit_key")
	got := p.doc.Find("[data-times] [data-testid=reason]").Text()
	if !strings.Contains(got, "自此条记录起，审计链使用密钥签名") || strings.Contains(got, "From this entry") {
		t.Fatalf("the keyed chain's reason in Chinese: %q", got)
	}
}

func TestTheAuditFiltersDaysAreTheUsersDays(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	// At 20:00 UTC it is already the next day in Shanghai (04:00).
	now := time.Now().UTC()
	at := time.Date(now.Year(), now.Month(), now.Day(), 20, 0, 0, 0, time.UTC)
	if !at.After(now) {
		at = at.AddDate(0, 0, 1)
	}
	h.advance(at.Sub(now))
	b := h.loggedIn("op1")
	req, _ := http.NewRequest(http.MethodPost, h.url("prefs"), strings.NewReader(url.Values{"zone": {"Asia/Shanghai"}, "_csrf": {b.token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p := b.do(req); p.status != http.StatusSeeOther {
		t.Fatalf("telling the zone: %d", p.status)
	}
	in := h.instance("ci-runner-01")
	b.post("instances/"+in.ID+"/check", url.Values{"region": {in.Region}})
	var op int64
	var when time.Time
	for _, o := range h.ops() {
		if o.First.Action == audit.ActionCheck {
			op, when = o.ID(), o.First.Time
		}
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	if when.UTC().Format("2006-01-02") == when.In(sh).Format("2006-01-02") {
		t.Fatalf("fixture: the check at %s is on the same day in UTC and Shanghai", when)
	}
	listed := func(day string) bool {
		return b.get("audit?from="+day+"&to="+day).doc.Find(`[data-audit-id="`+itoa64(op)+`"]`).Length() > 0
	}
	if !listed(when.In(sh).Format("2006-01-02")) {
		t.Error("the check is not listed on its day in Shanghai")
	}
	if listed(when.UTC().Format("2006-01-02")) {
		t.Error("the check is listed on its UTC day, which in Shanghai it is not")
	}
}

// The administration page's refusals of the users' and scopes' rules (a bad
// name, a short password, a bad scope, a scoped admin) are in the page's
// language, the typed text put back in, and nothing changes.
func TestTheAdminPagesRefusalsAreInChinese(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	adm := h.loggedIn("adm")
	adm.hdr.Set("Accept-Language", "zh-CN")
	for _, c := range []struct {
		path string
		form url.Values
		want string
	}{
		{"admin/users", url.Values{"name": {"bad name!"}, "role": {"operator"}, "password": {"secret-pass-1"}}, `"bad name!" 不是有效的用户名`},
		{"admin/users", url.Values{"name": {"newbie"}, "role": {"operator"}, "password": {"short"}}, "密码至少需要 8 个字符"},
		{"admin/users", url.Values{"name": {"newbie"}, "role": {"operator"}, "scope": {"colour=blue"}, "password": {"secret-pass-1"}}, `范围条件 "colour=blue"：`},
		{"admin/grants", url.Values{"for": {"user"}, "name": {"op1"}, "role": {"admin"}, "scope": {"tag:team=data"}}, "管理员（admin）始终不限范围"},
	} {
		p := adm.post(c.path, c.form)
		msg := p.doc.Find("[data-testid=admin-error]").Text()
		if p.status != http.StatusUnprocessableEntity || !strings.Contains(msg, c.want) {
			t.Errorf("%s %v: %d %q, want %q", c.path, c.form, p.status, msg, c.want)
		}
	}
	if _, err := h.users.ByName(context.Background(), "newbie"); err == nil {
		t.Fatal("a refused change made the user")
	}
}

// TestTheZoneAndLanguageToldBeforeSigningInHoldAfterIt: the login page's
// script tells the browser's zone (and marks it told for the tab), and the
// login page's control sets the language; signing in starts a new session,
// which keeps both and remembers them for the user.
func TestTheZoneAndLanguageToldBeforeSigningInHoldAfterIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.hdr.Set("Accept-Language", "en-US")
	b.get("login")
	req, _ := http.NewRequest(http.MethodPost, h.url("prefs"), strings.NewReader(url.Values{"zone": {"Asia/Shanghai"}, "_csrf": {b.token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s := b.do(req).status; s != http.StatusNoContent {
		t.Fatalf("the login page tells Asia/Shanghai: %d", s)
	}
	if p := b.post("prefs", url.Values{"lang": {"zh-CN"}, "next": {h.cfg.BasePath() + "login"}}); p.status != http.StatusSeeOther {
		t.Fatalf("choosing Chinese on the login page: %d", p.status)
	}
	b.login("op2")
	if p := b.get("audit"); p.doc.Find("[data-times] th").Eq(1).Text() != "时间（Asia/Shanghai）" || langOf(p) != "zh-CN" {
		t.Fatalf("after signing in: %q, lang %q", p.doc.Find("[data-times] th").Eq(1).Text(), langOf(p))
	}
	other := h.browser() // another machine, which tells nothing
	other.hdr.Set("Accept-Language", "en-US")
	if p := other.login("op2").get("audit"); p.doc.Find("[data-times] th").Eq(1).Text() != "时间（Asia/Shanghai）" {
		t.Fatalf("not remembered for op2: %q, lang %q", p.doc.Find("[data-times] th").Eq(1).Text(), langOf(p))
	}
}
