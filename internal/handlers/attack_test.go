package handlers_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Finding 1: made-up methods and paths must not add /metrics series.
func TestMetricsSeriesStayBoundedUnderMadeUpMethodsAndPaths(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	scrape := func() string {
		resp, err := http.Get(h.url("metrics"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	series := func(body string) int {
		return len(regexp.MustCompile(`(?m)^ecsdash_http_request_duration_seconds_count\{`).FindAllString(body, -1))
	}
	before := series(scrape())
	for i := range 300 {
		req, _ := http.NewRequest(fmt.Sprintf("M%dX", i), h.url(fmt.Sprintf("made/up/path-%d", i)), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
		req, _ = http.NewRequest(http.MethodGet, h.url(fmt.Sprintf("nothing-here-%d", i)), nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	body := scrape()
	if n := series(body); n > before+6 {
		t.Fatalf("600 hostile requests added %d series (from %d)", n-before, before)
	}
	if strings.Contains(body, "M17X") || strings.Contains(body, "path-17") || strings.Contains(body, "nothing-here") {
		t.Fatal("a request's own method or path became a label")
	}
	if !strings.Contains(body, `method="other"`) {
		t.Fatalf("the hostile requests were not counted as other/unmatched: %s", regexp.MustCompile(`(?m)^ecsdash_http_request_duration_seconds_count.*$`).FindAllString(body, -1))
	}
}

// Finding 8: the request id is ours; a client's is logged under another
// name, never shown.
func TestTheClientDoesNotChooseTheRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.browser()
	b.hdr.Set("X-Request-ID", "<script>alert(1)</script>"+strings.Repeat("x", 100000))
	p := b.get("instances/i-doesnotexist/status?region=mars")
	id := p.resp.Header.Get("X-Request-ID")
	if id == "" || len(id) > 64 || strings.Contains(id, "script") || strings.Contains(p.body, "alert(1)") {
		t.Fatalf("request id %.80q; page %.200q", id, p.body)
	}
	p2 := b.get("login")
	if p2.resp.Header.Get("X-Request-ID") == id {
		t.Fatal("two requests got the same id")
	}
}
