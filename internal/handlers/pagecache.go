package handlers

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/ecs"
)

// The list page around its rows (layout, filters, headers, pager) is the
// same for every view with the same listKey; only the request's CSRF
// token, its form token, the listing's age and the rows differ, so the
// cached page carries slots for them, as the cached rows do for the
// tokens. Like csrfSlot and tokenSlot, these are random per process.
var (
	ageSlot  = "age-slot-" + randomToken()
	rowsSlot = "rows-slot-" + randomToken()
)

// listKey is everything the list page's HTML depends on but its slots.
// Two views with the same key get the same bytes, so every per-user part of
// the page that is not a slot is here: who is signed in and in what words,
// what they may do (the batch form, the Refresh button, the Users link),
// how many requests wait for their decision. A view with flashes (one-time
// messages, the requester's own outcomes among them) is never cached.
// TestListKeyCoversEveryFieldOfThePage fails when the page's view model
// gains a field that is neither here nor a slot.
type listKey struct {
	snap     *ecs.Snapshot // the counts, pages, families and region errors
	q        ecs.Query     // the filters, sort and page, and the scopes the user sees
	tags     string        // the tag= filters as given, "\x00"-joined
	rg       string
	user     string
	role     string // the header's words for the role and grants
	waiting  int
	admin    bool
	canStart bool
	refresh  bool
	approval bool   // every start needs approval: the batch reason is required
	acctErrs string // the accounts' listing errors, in words
	lang     string // the page's language (the Page's Loc)
	zone     string // the zone the page tells its script (the Page's Zone)
	here     string // where the language control brings the user back (the Page's Here)
}

// listCache keeps rendered list pages cut at their slots, for the current
// fleet snapshot.
type listCache struct {
	mu   sync.Mutex
	snap *ecs.Snapshot
	m    map[listKey]cachedRows
}

// maxLists bounds the cached pages (a page is about 6 KiB without its
// rows; 1.5 MiB in all): a user walking the pages of every filter empties
// it, no more.
const maxLists = 256

func (lc *listCache) get(k listKey) (cachedRows, bool) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.snap != k.snap {
		return nil, false
	}
	p, ok := lc.m[k]
	return p, ok
}

func (lc *listCache) put(k listKey, p cachedRows) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.snap != k.snap || lc.m == nil || len(lc.m) >= maxLists {
		lc.snap, lc.m = k.snap, map[listKey]cachedRows{}
	}
	lc.m[k] = p
}

// writePage answers the cached page p with this request's values in its
// slots, written in one piece: a page cannot fail half way.
func writePage(c echo.Context, p cachedRows, v *slotValues) error {
	buf := pageBuffer(0) // made at the largest page's size when new
	defer putBuffer(buf)
	p.fillPage(buf, v)
	return writeWhole(c, http.StatusOK, buf.Bytes())
}

// slotValues is what one request fills a cached page's slots with.
type slotValues struct {
	csrf, token string
	age         string // text, escaped when written
	rows        pageRows
}

// rowsMarker stands for the rows when the page is rendered for the cache.
var rowsMarker = templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, rowsSlot)
	return err
})

// cutPage cuts a page rendered with the slots' markers at them.
func cutPage(page string) cachedRows {
	var out cachedRows
	for _, seg := range cutSlots(page) {
		rest := seg.text
		for {
			i, j := strings.Index(rest, ageSlot), strings.Index(rest, rowsSlot)
			switch {
			case i < 0 && j < 0:
				out = append(out, segment{rest, seg.slot})
			case j < 0 || (i >= 0 && i < j):
				out = append(out, segment{rest[:i], slotAge})
				rest = rest[i+len(ageSlot):]
				continue
			default:
				out = append(out, segment{rest[:j], slotRows})
				rest = rest[j+len(rowsSlot):]
				continue
			}
			break
		}
	}
	return out
}

// fillPage writes the cached page with this request's values in its slots.
func (p cachedRows) fillPage(w *bytes.Buffer, v *slotValues) {
	for _, seg := range p {
		w.WriteString(seg.text)
		switch seg.slot {
		case slotCSRF:
			w.WriteString(v.csrf)
		case slotToken:
			w.WriteString(v.token)
		case slotAge:
			w.WriteString(html.EscapeString(v.age))
		case slotRows:
			for _, r := range v.rows {
				r.html.fill(w, v.csrf, v.token)
			}
		}
	}
}
