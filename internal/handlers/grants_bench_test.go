package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// BenchmarkInstancesPageGrants renders GET /instances (100 rows) from a
// cache of 10,000 instances for an unscoped operator (the reference) and
// for a user holding 50 grants (49 over other teams' tags and regions, one
// over tag:team=platform, the team of every generated instance, so both see
// the same rows), in the same run. The grants are read on every request
// and every row's start right goes through the rights check. Both
// users' pages are warmed first (rows and grants as on a server up a
// while), so each figure is a page view's steady cost. Run it with
// -count 1 several times: each run gives the reference beside the figure.
func BenchmarkInstancesPageGrants(b *testing.B) {
	h := newHarness(b, opts{simOpts: ecssim.Options{Instances: 10000}})
	ctx := context.Background()
	if _, err := h.users.CreateScoped(ctx, "many", users.RoleViewer, scope.MustParse("tag:team=nobody"), password); err != nil {
		b.Fatal(err)
	}
	for i := range 49 {
		expr := fmt.Sprintf("tag:team=team-%d,region=cn-hangzhou", i)
		if _, err := h.users.AddGrant(ctx, users.Grant{User: "many", Role: users.RoleOperator, Scope: scope.MustParse(expr)}, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := h.users.AddGrant(ctx, users.Grant{User: "many", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=platform")}, "bench"); err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(h.srv.URL)
	jars := map[string][]*http.Cookie{}
	for _, who := range []string{"op1", "many"} {
		jars[who] = h.loggedIn(who).c.Jar.Cookies(u)
		for p := 1; p <= 10; p++ {
			req := httptest.NewRequest(http.MethodGet, "/instances?per_page=100&page="+strconv.Itoa(p), nil)
			for _, c := range jars[who] {
				req.AddCookie(c)
			}
			h.echo.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	if a, b2 := len(h.fleet.Snapshot().Instances), h.fleet.Snapshot().Find(ecs.Query{Visible: "tag:team=platform", PerPage: 1}).Total; b2 < a*9/10 {
		b.Fatalf("the scoped user sees %d of %d instances: not the same rows", b2, a)
	}
	serve := func(b *testing.B, who string, i int) {
		req := httptest.NewRequest(http.MethodGet, "/instances?per_page=100&page="+strconv.Itoa(1+i%10), nil)
		for _, c := range jars[who] {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.echo.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%s: status %d", who, rec.Code)
		}
	}
	for _, who := range []string{"op1", "many"} {
		b.Run(who, func(b *testing.B) {
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				serve(b, who, i)
			}
		})
	}
	// paired: each iteration serves one page to each user, in turns, so
	// that a machine shared with others slows both alike; it reports each
	// user's median and p99 and the ratio of the medians (grants over the
	// unscoped reference).
	b.Run("paired", func(b *testing.B) {
		var ref, held []time.Duration
		for i := 0; b.Loop(); i++ {
			order := []string{"op1", "many"}
			if i%2 == 1 {
				order = []string{"many", "op1"}
			}
			for _, who := range order {
				t0 := time.Now()
				serve(b, who, i)
				if d := time.Since(t0); who == "op1" {
					ref = append(ref, d)
				} else {
					held = append(held, d)
				}
			}
		}
		q := func(ds []time.Duration, f float64) float64 {
			slices.Sort(ds)
			return float64(ds[int(f*float64(len(ds)-1))].Microseconds())
		}
		b.ReportMetric(q(ref, 0.5), "ref-p50-µs")
		b.ReportMetric(q(ref, 0.99), "ref-p99-µs")
		b.ReportMetric(q(held, 0.5), "grants-p50-µs")
		b.ReportMetric(q(held, 0.99), "grants-p99-µs")
		b.ReportMetric(q(held, 0.5)/q(ref, 0.5), "p50-ratio")
	})
}
