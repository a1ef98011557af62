package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// What the one outer middleware promises every request: an id, the
// security headers, a deadline a minute away (a handler that runs past it
// answers 503 in words), and a body bounded whether its length is told or
// not.
func TestEveryRequestHasAnIDADeadlineAndABoundedBody(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{beforeUp: func(e *echo.Echo) {
		e.GET("/deadline", func(c echo.Context) error {
			d, ok := c.Request().Context().Deadline()
			if left := time.Until(d); !ok || left < 50*time.Second || left > 61*time.Second {
				return c.String(http.StatusOK, fmt.Sprintf("deadline %v away (%v)", left, ok))
			}
			return c.String(http.StatusOK, "ok")
		})
		e.GET("/late", func(c echo.Context) error {
			return fmt.Errorf("waited for ECS: %w", context.DeadlineExceeded)
		})
		e.POST("/body", func(c echo.Context) error {
			b, err := io.ReadAll(c.Request().Body)
			if err != nil {
				return err
			}
			return c.String(http.StatusOK, fmt.Sprint(len(b)))
		})
	}})
	b := h.browser()
	if r := b.get("deadline"); r.status != http.StatusOK || r.body != "ok" {
		t.Fatalf("deadline: %d %s", r.status, r.body)
	}
	r := b.get("late")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, r.resp.Header.Get("X-Request-Id")) {
		t.Fatalf("a handler past its deadline: %d %.300s", r.status, r.doc.Find("main").Text())
	}
	for _, p := range []string{"deadline", "late", "no/such/page"} {
		r := b.get(p)
		if len(r.resp.Header.Get("X-Request-Id")) != 32 || r.resp.Header.Get("Content-Security-Policy") == "" ||
			r.resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, r.resp.Header)
		}
	}
	for _, n := range []int{10 << 10, 100 << 10} {
		// No Content-Length: the body is bounded as it is read.
		req, _ := http.NewRequest(http.MethodPost, h.url("body"), io.MultiReader(strings.NewReader(strings.Repeat("x", n))))
		req.ContentLength = -1
		r := b.do(req)
		if want := http.StatusOK; n > 64<<10 {
			want = http.StatusRequestEntityTooLarge
			if r.status != want {
				t.Errorf("a chunked body of %d bytes: %d", n, r.status)
			}
		} else if r.status != want || r.body != fmt.Sprint(n) {
			t.Errorf("a chunked body of %d bytes: %d %q", n, r.status, r.body)
		}
	}
}
