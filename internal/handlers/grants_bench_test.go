package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"ecsdash/internal/ecs/ecssim"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// BenchmarkInstancesPageGrants renders GET /instances (100 rows) from a
// cache of 10,000 instances for an unscoped operator (the reference) and
// for a user holding 50 grants (49 over other teams' tags and regions, one
// over tag:team=data), in the same run. The grants are read on every
// request and every row's start right goes through the rights check.
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
	if _, err := h.users.AddGrant(ctx, users.Grant{User: "many", Role: users.RoleOperator, Scope: scope.MustParse("tag:team=data")}, "bench"); err != nil {
		b.Fatal(err)
	}
	for _, who := range []string{"op1", "many"} {
		b.Run(who, func(b *testing.B) {
			br := h.loggedIn(who)
			u, _ := url.Parse(h.srv.URL)
			cookies := br.c.Jar.Cookies(u)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				req := httptest.NewRequest(http.MethodGet, "/instances?per_page=100&page="+strconv.Itoa(1+i%10), nil)
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
}
