package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"ecsdash/internal/ecs/ecssim"
)

// BenchmarkInstancesPage renders GET /instances (100 rows) for a logged-in
// operator from a cache of 10,000 instances, straight through the router.
func BenchmarkInstancesPage(b *testing.B) {
	h := newHarness(b, opts{simOpts: ecssim.Options{Instances: 10000}})
	br := h.loggedIn("op1")
	u, _ := url.Parse(h.srv.URL)
	cookies := br.c.Jar.Cookies(u)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			req := httptest.NewRequest(http.MethodGet, "/instances?per_page=100&page="+strconv.Itoa(1+i%100), nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			h.echo.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
