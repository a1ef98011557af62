package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestHostileInputsAreAnswered4xx sends what an attacker or a broken script
// would; every answer must be a 4xx and nothing may reach ECS.
func TestHostileInputsAreAnswered4xx(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	stopped := h.instance("ci-runner-01")
	long := strings.Repeat("a", 5000)
	gets := []string{
		"static/../../../../etc/passwd",
		"static/..%2f..%2fgo.mod",
		"static/style.css", // the unhashed name is not served
		"instances?q=" + url.QueryEscape(long),
		"instances?region=" + url.QueryEscape("cn-hangzhou' OR 1=1 --"),
		"instances?status=%00",
		"instances?page=-1",
		"instances?page=99999999999999999999",
		"audit?state=" + url.QueryEscape("<script>"),
		"audit?from=yesterday",
		"audit?user=" + url.QueryEscape(long),
		"audit/export?format=" + url.QueryEscape("csv;rm -rf /"),
		"instances/" + url.PathEscape("../../etc") + "/status?region=cn-hangzhou",
		"instances/i-" + long + "/status?region=cn-hangzhou",
	}
	for _, p := range gets {
		r := b.get(p)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("GET %.80s: %d", p, r.status)
		}
	}
	posts := []struct {
		path string
		form url.Values
	}{
		{"instances/" + url.PathEscape("i-abc\x00def") + "/start", url.Values{"region": {"cn-hangzhou"}}},
		{"instances/" + url.PathEscape("<img src=x>") + "/start", url.Values{"region": {"cn-hangzhou"}}},
		{"instances/i-" + long + "/start", url.Values{"region": {"cn-hangzhou"}}},
		{"instances/" + url.PathEscape("i-x'; DROP TABLE audit_events; --") + "/start", url.Values{"region": {"cn-hangzhou"}}},
		{"instances/" + stopped.ID + "/start", url.Values{"region": {"cn-hangzhou\x00"}}},
		{"instances/" + stopped.ID + "/start", url.Values{"region": {"../../cn-hangzhou"}}},
		{"instances/" + stopped.ID + "/start", url.Values{"region": {stopped.Region}, "init_local_disk": {"maybe"}}},
		{"instances/" + stopped.ID + "/start", url.Values{"region": {stopped.Region}, "init_local_disk": {"true"}, "confirm": {long}}},
		{"audit/1' OR '1'='1/approve", url.Values{"digest": {"x"}}},
		{"audit/-5/reject", url.Values{"reason": {"x"}}},
		{"audit/99999/approve", url.Values{"digest": {"x"}}},
	}
	for _, p := range posts {
		r := b.post(p.path, p.form)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("POST %.80q: %d", p.path, r.status)
		}
		if strings.Contains(r.body, "<img src=x>") {
			t.Errorf("POST %.80q echoed markup", p.path)
		}
	}
	// A body over the limit.
	req, _ := http.NewRequest(http.MethodPost, h.url("login"), strings.NewReader("username=a&password="+strings.Repeat("p", 100<<10)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := b.do(req); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d", r.status)
	}
	if n := h.sim.Calls("StartInstance"); n != 0 {
		t.Fatalf("%d hostile requests reached StartInstance", n)
	}
	var tables int
	h.store.Read.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'audit_events'").Scan(&tables)
	if tables != 1 {
		t.Fatal("the audit table is gone")
	}
}
