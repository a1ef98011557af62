package handlers

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/web/templates"
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

// segment is a piece of rendered rows: text, then a slot (slotNone, or the
// CSRF or the form token).
type segment struct {
	text string
	slot int
}

const (
	slotNone = iota
	slotCSRF
	slotToken
	slotAge  // the list page's: the listing's age, in words (pagecache.go)
	slotRows // the list page's: its rows
)

// cachedRows is rendered rows cut at the placeholders.
type cachedRows []segment

func cutSlots(html string) cachedRows {
	var r cachedRows
	for {
		i, j := strings.Index(html, csrfSlot), strings.Index(html, tokenSlot)
		switch {
		case i < 0 && j < 0:
			return append(r, segment{html, slotNone})
		case j < 0 || (i >= 0 && i < j):
			r = append(r, segment{html[:i], slotCSRF})
			html = html[i+len(csrfSlot):]
		default:
			r = append(r, segment{html[:j], slotToken})
			html = html[j+len(tokenSlot):]
		}
	}
}

// write writes the rows with this request's tokens in the slots.
func (r cachedRows) write(w io.Writer, csrf, token string) error {
	for _, seg := range r {
		if _, err := io.WriteString(w, seg.text); err != nil {
			return err
		}
		v := ""
		switch seg.slot {
		case slotCSRF:
			v = csrf
		case slotToken:
			v = token
		}
		if v != "" {
			if _, err := io.WriteString(w, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// fill is write into a buffer, which cannot fail.
func (r cachedRows) fill(b *bytes.Buffer, csrf, token string) {
	for _, seg := range r {
		b.WriteString(seg.text)
		switch seg.slot {
		case slotCSRF:
			b.WriteString(csrf)
		case slotToken:
			b.WriteString(token)
		}
	}
}

// with is the rows as a component, with this request's tokens in the slots.
func (r cachedRows) with(csrf, token string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error { return r.write(w, csrf, token) })
}

// pageRows is a page's rows: each row's cached HTML, shared, not copied.
type pageRows []*cachedRow

// with is the page's rows as a component, with this request's tokens.
func (p pageRows) with(csrf, token string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		for _, r := range p {
			if err := r.html.write(w, csrf, token); err != nil {
				return err
			}
		}
		return nil
	})
}

// rowsCache keeps what a list page costs to compute: the query's matches
// and the page's rows, per fleet snapshot, and each row's HTML, per instance
// and role, for as long as the instance looks the same. A snapshot
// that changes a few instances (a start, a state followed to Running)
// re-renders only their rows, and a page is a list of pointers to rows, so a
// fleet in motion keeps the page fast and makes little garbage.
type rowsCache struct {
	mu    sync.Mutex
	snap  *ecs.Snapshot
	gen   int64 // the open requests' generation the pages were built with
	found map[ecs.Query]ecs.Found
	pages map[pageKey]pageRows // a query's rows, for this snapshot
	rows  map[rowKey]*cachedRow
}

// A row is the same for everyone of one role (its Start form, or why not
// in words that name the role).
type pageKey struct {
	q    ecs.Query
	role string
	lang string
	zone string // the dates' (i18n.ZoneName)
}

type rowKey struct {
	region, id string
	role       string
	lang       string
	zone       string // the dates' (i18n.ZoneName)
}

type cachedRow struct {
	inst    ecs.Instance // as rendered
	expired bool         // whether it was past its expiry then
	held    int64        // the request awaiting approval for it then, 0 for none
	version string       // the row's view model's digest (InstanceRow.Version)
	html    cachedRows
}

// Bounds on the cache: queries per snapshot, and rows (about 1 KiB each)
// beyond both rights to start for every instance of the fleet: a bound under
// the fleet's size would empty the cache on every walk through the pages.
const (
	maxQueries = 512
	extraRows  = 1024
)

// find runs q over snap, once per snapshot.
func (rc *rowsCache) find(snap *ecs.Snapshot, q ecs.Query, gen int64) ecs.Found {
	rc.mu.Lock()
	if rc.snap != snap || len(rc.found) >= maxQueries {
		rc.snap, rc.found, rc.pages = snap, map[ecs.Query]ecs.Found{}, map[pageKey]pageRows{}
	}
	if rc.gen != gen { // a request was made or decided: pages show who holds what
		rc.gen, rc.pages = gen, map[pageKey]pageRows{}
	}
	f, ok := rc.found[q]
	rc.mu.Unlock()
	if ok {
		return f
	}
	f = snap.Find(q)
	rc.mu.Lock()
	if rc.snap == snap {
		rc.found[q] = f
	}
	rc.mu.Unlock()
	return f
}

// page gives the rows of a query's page, assembled once per snapshot from
// the rows' cached HTML.
func (rc *rowsCache) page(snap *ecs.Snapshot, q ecs.Query, role string, l *i18n.Localizer, zone *time.Location, now time.Time, open *openState, row func(*ecs.Instance) templates.InstanceRow) (ecs.Found, pageRows, error) {
	found := rc.find(snap, q, open.heldGen)
	k := pageKey{q, role, l.Lang(), i18n.ZoneName(zone)}
	rc.mu.Lock()
	rows, ok := rc.pages[k]
	rc.mu.Unlock()
	if ok {
		return found, rows, nil
	}
	rows, err := rc.render(found.Instances, role, l, zone, len(snap.Instances), now, open, row)
	if err != nil {
		return found, nil, err
	}
	rc.mu.Lock()
	if rc.snap == snap && rc.gen == open.heldGen {
		rc.pages[k] = rows
	}
	rc.mu.Unlock()
	return found, rows, nil
}

// render gives the rows' HTML with slots for the tokens, rendering only the
// rows not cached as they look now (an instance whose subscription lapsed
// since looks different). fleet is the number of instances.
func (rc *rowsCache) render(list []*ecs.Instance, role string, l *i18n.Localizer, zone *time.Location, fleet int, now time.Time, open *openState, row func(*ecs.Instance) templates.InstanceRow) (pageRows, error) {
	out := make(pageRows, 0, len(list))
	for _, in := range list {
		k := rowKey{in.Region, in.ID, role, l.Lang(), i18n.ZoneName(zone)}
		rc.mu.Lock()
		r := rc.rows[k]
		rc.mu.Unlock()
		expired, held := in.Expired(now), heldBy(open, in.ID)
		if r == nil || !r.inst.Equal(in) || r.expired != expired || r.held != held {
			rb := rowBuffers.Get().(*bytes.Buffer)
			rb.Reset()
			vm := row(in)
			err := templates.InstanceRows(l, []templates.InstanceRow{vm}, csrfSlot, tokenSlot).Render(context.Background(), rb)
			// An exact-size copy: 10,000 rows are kept, and a builder's
			// spare capacity would be a quarter more.
			html := rb.String()
			rowBuffers.Put(rb)
			if err != nil {
				return nil, err
			}
			r = &cachedRow{inst: *in, expired: expired, held: held, version: vm.Version, html: cutSlots(html)}
			rc.mu.Lock()
			if rc.rows == nil || len(rc.rows) >= 2*fleet+extraRows {
				rc.rows = map[rowKey]*cachedRow{}
			}
			rc.rows[k] = r
			rc.mu.Unlock()
		}
		out = append(out, r)
	}
	return out, nil
}

// version is how in's row looks now for role in l's language and zone, from the cache when it
// holds the row as it looks now ("" and false when it does not).
func (rc *rowsCache) version(in *ecs.Instance, role string, l *i18n.Localizer, zone *time.Location, now time.Time, open *openState) (string, bool) {
	rc.mu.Lock()
	r := rc.rows[rowKey{in.Region, in.ID, role, l.Lang(), i18n.ZoneName(zone)}]
	rc.mu.Unlock()
	if r == nil || !r.inst.Equal(in) || r.expired != in.Expired(now) || r.held != heldBy(open, in.ID) {
		return "", false
	}
	return r.version, true
}

// rowBuffers recycles the buffers rows are rendered into.
var rowBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// heldBy is the request awaiting approval for an instance, 0 for none.
func heldBy(open *openState, id string) int64 {
	if o, ok := open.byInstance[id]; ok && o.State == audit.StateAwaitingApproval {
		return o.OpID
	}
	return 0
}
