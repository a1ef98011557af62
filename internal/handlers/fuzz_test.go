package handlers_test

import (
	"ecsdash/internal/starts"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzStartForm posts arbitrary start forms as a logged-in operator straight
// into the router: the answer is always a redirect or a 4xx, never a 5xx,
// and only a well-formed start of a stopped instance reaches ECS.
func FuzzStartForm(f *testing.F) {
	h := newHarness(f, opts{})
	b := h.loggedIn("op1")
	u, _ := url.Parse(h.srv.URL)
	cookies := b.c.Jar.Cookies(u)
	token := b.token
	stopped := h.instance("ci-runner-01")
	d1 := h.instance("hadoop-data-01")
	f.Add(stopped.ID, "cn-hangzhou", "", "")
	f.Add(d1.ID, "cn-hangzhou", "true", d1.ID)
	f.Add(d1.ID, "cn-hangzhou", "true", "i-wrong")
	f.Add("i-bp1doesnotexist0000", "cn-hangzhou", "false", "")
	f.Add("../../etc/passwd", "cn-hangzhou", "", "")
	f.Add("i-abc\x00", "cn-hangzhou\x00", "on", "<script>")
	f.Add(stopped.ID, "ap-southeast-1", "1", stopped.ID)
	f.Fuzz(func(t *testing.T, id, region, initLocal, confirm string) {
		form := url.Values{"region": {region}, "init_local_disk": {initLocal}, "confirm": {confirm}, "_csrf": {token}}
		req := httptest.NewRequest(http.MethodPost, "/instances/"+url.PathEscape(id)+"/start", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		before := h.sim.Calls("StartInstance")
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.echo.ServeHTTP(rec, req); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("id=%q region=%q init=%q confirm=%q: no answer in 5s", id, region, initLocal, confirm)
		}
		switch rec.Code {
		case http.StatusSeeOther, 400, 403, 404, 409, 422:
		default:
			if rec.Code >= 500 && rec.Code != 503 && rec.Code != 504 {
				t.Fatalf("id=%q region=%q init=%q confirm=%q: %d", id, region, initLocal, confirm, rec.Code)
			}
		}
		sent := h.sim.Calls("StartInstance") > before
		wellFormed := starts.ValidID(id) && slices.Contains(h.sim.Regions(), region) &&
			(slices.Contains([]string{"", "false", "0", "off"}, initLocal) ||
				(slices.Contains([]string{"true", "1", "on"}, initLocal) && strings.TrimSpace(confirm) == id))
		if sent && !wellFormed {
			t.Fatalf("a malformed form reached ECS: id=%q region=%q init=%q confirm=%q", id, region, initLocal, confirm)
		}
		if sent && rec.Code >= 400 && rec.Code < 500 {
			t.Fatalf("refused with %d but sent to ECS: id=%q", rec.Code, id)
		}
		if strings.Contains(rec.Body.String(), "<script>") {
			t.Fatalf("markup echoed for id=%q confirm=%q", id, confirm)
		}
	})
}
