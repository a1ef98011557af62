//go:build !race

package handlers

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/labstack/echo/v4"
)

// discardWriter is a ResponseWriter that keeps one header map for every
// response and allocates nothing itself.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// A page of a length sent before is answered without a new Content-Length
// value: the header's one-value list for that length is kept (issue 32;
// two allocations a list-page view before).
func TestAPageOfALengthSentBeforeAllocatesNoContentLength(t *testing.T) {
	e := echo.New()
	w := &discardWriter{h: http.Header{}}
	req := httptest.NewRequest(http.MethodGet, "/instances", nil)
	c := e.NewContext(req, w)
	page := make([]byte, 63_123)
	answer := func() {
		c.Response().Committed = false
		if err := writeWhole(c, http.StatusOK, page); err != nil {
			t.Fatal(err)
		}
	}
	answer()
	if got := w.h.Get(echo.HeaderContentLength); got != strconv.Itoa(len(page)) {
		t.Fatalf("Content-Length %q, want %d", got, len(page))
	}
	if n := testing.AllocsPerRun(100, answer); n != 0 {
		t.Fatalf("a page of a length sent before allocates %.0f times in writeWhole, want 0", n)
	}
	// Another length is its own, not the last one's: one of another slot,
	// and one of the same slot (the table's size apart).
	for _, n := range []int{1000, len(page) + len(contentLengths)} {
		page = make([]byte, n)
		answer()
		if got := w.h.Get(echo.HeaderContentLength); got != strconv.Itoa(n) {
			t.Fatalf("Content-Length %q, want %d", got, n)
		}
	}
}
