package handlers_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"ecsdash/internal/ecs/ecssim"
)

// The list page is what every operator loads all day and what the portal
// polls: its bytes are its cost (issue 32). A row carries what a user sees,
// the contract's attributes and what the script reads, no more: no
// attribute nothing reads, no class the column's place says, no space
// between elements that shows nowhere.
func TestAListRowOfAnOperatorIsAtMost1250BytesOnAverage(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{Instances: 1000}})
	p := h.loggedIn("op1").get("instances?per_page=100")
	if p.status != http.StatusOK {
		t.Fatalf("list: %d", p.status)
	}
	_, rows, ok := strings.Cut(p.body, `<tbody id="fleet-rows"`)
	rows, _, ok2 := strings.Cut(rows, "</tbody>")
	n := rowsOf(p).Length()
	if !ok || !ok2 || n != 100 {
		t.Fatalf("a page of %d rows", n)
	}
	if forms := p.doc.Find("form.start-form").Length(); forms == 0 {
		t.Fatal("no row to start: the rows measured are not an operator's")
	}
	per := len(rows) / n
	t.Logf("%d bytes a row, %d the page", per, len(p.body))
	if per > 1250 {
		t.Errorf("a row is %d bytes on average (at most 1250)", per)
	}
}

// A page sent whole is sent with its length: no chunks around it, and the
// client knows it has all of it.
func TestTheListPageIsSentWithItsLength(t *testing.T) {
	h := newHarness(t, opts{simOpts: ecssim.Options{Instances: 200}})
	br := h.loggedIn("op1")
	for _, path := range []string{"instances?per_page=100", "instances?per_page=100"} { // rendered, then from the cache
		p := br.get(path)
		if p.status != http.StatusOK || rowsOf(p).Length() != 100 {
			t.Fatalf("list: %d, %d rows", p.status, rowsOf(p).Length())
		}
		if p.resp.ContentLength != int64(len(p.body)) || len(p.resp.TransferEncoding) != 0 {
			t.Errorf("the page of %d bytes is sent with length %d, transfer encoding %q", len(p.body), p.resp.ContentLength, p.resp.TransferEncoding)
		}
	}
}

// A row's cells are known by their place from the row's end (style.css,
// "The fleet's columns"): what tests look for in them.
const (
	regionCell  = "td:nth-last-child(7)"
	statusBadge = "td:nth-last-child(5) > .badge"
	locksCell   = "td:nth-last-child(4)"
	billingCell = "td:nth-last-child(3)"
)

// tagged selects a row's tag or resource group shown as text exactly tag.
func tagged(tag string) string {
	return `.tags > code:matches(^` + regexp.QuoteMeta(tag) + `$)`
}
