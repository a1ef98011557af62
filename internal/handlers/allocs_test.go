//go:build !race

// The race detector drops sync.Pool's buffers at random, so allocations
// are counted only without it.

package handlers_test

import (
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"ecsdash/internal/ecs/ecssim"
)

// A warm view of the list page (its rows and the page around them cached)
// allocates no more times than it has rows (issue 32): what the request
// and the recorder cost the test is measured apart and not counted.
func TestAListPageViewAllocatesNoMoreTimesThanItHasRows(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{Instances: 1000}, args: []string{"--refresh-interval", "1h"}})
	br := h.loggedIn("op1")
	u, _ := url.Parse(h.srv.URL)
	cookies := br.c.Jar.Cookies(u)
	const rows = 100
	request := func(page int) (*http.Request, *httptest.ResponseRecorder) {
		req := httptest.NewRequest(http.MethodGet, "/instances?per_page="+strconv.Itoa(rows)+"&page="+strconv.Itoa(page), nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return req, httptest.NewRecorder()
	}
	i := 0
	view := func() {
		i++
		req, rec := request(1 + i%3)
		h.echo.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
	}
	for range 3 {
		view() // every page warm
	}
	if n := rowsOf(br.get("instances?per_page=100&page=2")).Length(); n != rows {
		t.Fatalf("a page has %d rows, want %d", n, rows)
	}
	// The least of five counts: the fleet's tracker asking ECS about moving
	// instances, in the background, only ever adds to one.
	overhead, got := math.Inf(1), math.Inf(1)
	for range 5 {
		overhead = min(overhead, testing.AllocsPerRun(100, func() { request(1 + i%3) }))
		got = min(got, testing.AllocsPerRun(100, view))
	}
	got -= overhead
	t.Logf("%.0f allocations a view of %d rows (the test's own %.0f not counted)", got, rows, overhead)
	if got > rows {
		t.Fatalf("a warm list page view allocates %.0f times for %d rows", got, rows)
	}
}
