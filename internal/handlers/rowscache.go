package handlers

import (
	"context"
	"io"
	"strings"
	"sync"

	"github.com/a-h/templ"

	"ecsdash/internal/ecs"
)

// The rows' HTML is the same for everyone with the same query and the same
// right to start, until the fleet snapshot changes; only the session's CSRF
// token and the page's form token differ, so the cached rows carry these
// placeholders. They are random per process (and made of characters HTML
// escaping leaves alone), so no instance name or tag can contain one.
var (
	csrfSlot  = "csrf-slot-" + randomToken()
	tokenSlot = "token-slot-" + randomToken()
)

// cachedRows is rendered rows cut at the placeholders: text, then a slot
// (0 for the CSRF token, 1 for the form token), text, slot, … text.
type cachedRows struct {
	text  []string
	slots []int
}

func cutSlots(html string) cachedRows {
	var r cachedRows
	for {
		i, j := strings.Index(html, csrfSlot), strings.Index(html, tokenSlot)
		switch {
		case i < 0 && j < 0:
			r.text = append(r.text, html)
			return r
		case j < 0 || (i >= 0 && i < j):
			r.text, r.slots = append(r.text, html[:i]), append(r.slots, 0)
			html = html[i+len(csrfSlot):]
		default:
			r.text, r.slots = append(r.text, html[:j]), append(r.slots, 1)
			html = html[j+len(tokenSlot):]
		}
	}
}

// with writes the rows with this request's tokens in the slots.
func (r cachedRows) with(csrf, token string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		for i, t := range r.text {
			if _, err := io.WriteString(w, t); err != nil {
				return err
			}
			if i < len(r.slots) {
				v := csrf
				if r.slots[i] == 1 {
					v = token
				}
				if _, err := io.WriteString(w, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// listing is one page of a query: its rendered rows, the number of matches
// and the page shown (the last one when the request went past it).
type listing struct {
	rows        cachedRows
	total, page int
}

// rowsCache maps query+role to listings for one snapshot. A new snapshot
// (refresh, start) empties it, so nothing shown is older than the cache.
type rowsCache struct {
	mu   sync.Mutex
	snap *ecs.Snapshot
	m    map[string]listing
}

func (rc *rowsCache) get(snap *ecs.Snapshot, key string, build func() (listing, error)) (listing, error) {
	rc.mu.Lock()
	if rc.snap != snap || len(rc.m) > 512 {
		rc.snap, rc.m = snap, map[string]listing{}
	}
	l, ok := rc.m[key]
	rc.mu.Unlock()
	if ok {
		return l, nil
	}
	l, err := build()
	if err != nil {
		return listing{}, err
	}
	rc.mu.Lock()
	if rc.snap == snap {
		rc.m[key] = l
	}
	rc.mu.Unlock()
	return l, nil
}
