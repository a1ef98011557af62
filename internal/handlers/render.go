package handlers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/db"
	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// buffers recycles render buffers: a list page is about 160 KiB. Under
// load more pages are being written at once than the pool keeps (and a
// collection empties it), so a buffer taken new is made at the size it
// will need, not grown to it a doubling at a time (a dozen allocations).
var buffers sync.Pool

// pageBuffer is an empty buffer of at least size bytes (a new one: at
// least the largest page's).
func pageBuffer(size int) *bytes.Buffer {
	b, _ := buffers.Get().(*bytes.Buffer)
	if b == nil {
		b = bytes.NewBuffer(make([]byte, 0, max(size, int(lastSize.Load()), 4<<10)))
	}
	b.Grow(size)
	return b
}

// putBuffer gives a buffer back to the pool (a rare huge one is not kept).
func putBuffer(b *bytes.Buffer) {
	if n := b.Len(); n > int(lastSize.Load()) && n <= 1<<20 {
		lastSize.Store(int64(n))
	}
	if b.Cap() <= 1<<20 {
		b.Reset()
		buffers.Put(b)
	}
}

// lastSize is the largest page written so far (up to 1 MiB): what a new
// buffer is made to hold.
var lastSize atomic.Int64

// pageHeaders are every page's own headers: never stored, HTML.
var pageHeaders = fixedHeaders{"Cache-Control": "no-store", echo.HeaderContentType: echo.MIMETextHTMLCharsetUTF8}.values()

// render writes a component only once it rendered whole, so a failure half
// way becomes an error page, not half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	buf := pageBuffer(0)
	defer putBuffer(buf)
	// Error pages render after the request's deadline context is released;
	// rendering is bounded work that needs no cancellation.
	if err := comp.Render(context.WithoutCancel(c.Request().Context()), buf); err != nil {
		return apperr.Wrap(err, apperr.Internal, "render")
	}
	return writeWhole(c, status, buf.Bytes())
}

// writeWhole answers a page made whole in memory, with its length: net/http
// would otherwise send a page larger than its 2 KiB buffer in chunks (the
// framing, and one more write for the last chunk).
func writeWhole(c echo.Context, status int, page []byte) error {
	h := c.Response().Header()
	pageHeaders.setOn(h)
	h[echo.HeaderContentLength] = contentLength(len(page))
	return c.HTMLBlob(status, page)
}

// contentLengths keeps the Content-Length header's one-value list for the
// page lengths sent lately, by length modulo its size: a list page's
// length repeats from view to view, and a new list and its digits are two
// allocations a view. Responses share a list as they share pageHeaders':
// nothing changes one in place (its capacity is 1, so an Add makes its own).
var contentLengths [1024]atomic.Pointer[sentLength]

type sentLength struct {
	n    int
	vals [1]string
}

// contentLength is the Content-Length header's value list for n bytes.
func contentLength(n int) []string {
	slot := &contentLengths[n%len(contentLengths)]
	if v := slot.Load(); v != nil && v.n == n {
		return v.vals[:]
	}
	v := &sentLength{n: n, vals: [1]string{strconv.Itoa(n)}}
	slot.Store(v)
	return v.vals[:]
}

// page fills in what every page's layout needs: for a signed-in user, how
// many requests wait for their decision, and what became of their own.
func (a *App) page(c echo.Context, title, current string) templates.Page {
	s := sess(c)
	u := currentUser(c)
	p := templates.Page{
		Title: title, Base: a.cfg.BasePath(), Current: current, User: u.Name, Role: u.Role, CSRF: s.csrf(),
		Demo: a.demo, StyleURL: a.styleURL, AppJSURL: a.appJSURL,
	}
	// The messages are taken from the session once a request; a second
	// page of the same request (the error page of a handler that failed
	// after drawing its own) shows the same ones, not none.
	taken, again := s.shown, s.taken
	if !again {
		taken = s.takeFlashes()
	}
	p.Loc = a.loc(c)
	p.Zone = a.zone(c)
	if r := c.Request(); r.Method != http.MethodGet {
		p.Here = a.cfg.BasePath() + "instances"
	} else if uri := r.RequestURI; strings.HasPrefix(uri, "/") && !strings.HasPrefix(uri, "//") {
		p.Here = uri // the path and query as the browser sent them
	} else {
		p.Here = r.URL.RequestURI()
	}
	if u.Name != "" {
		x := a.actor(c)
		p.Waiting = a.open(c.Request().Context()).waitingFor(x, a.fleet.Snapshot())
		p.Admin = x.Unscoped(users.PermAdmin)
		if r := x.Rights; r != nil && (len(r.Grants()) > 1 || r.Scoped()) {
			p.Role = r.Words() // computed once per grants version, in English
			if p.Loc.Lang() != i18n.English {
				p.Role = grantsWords(p.Loc, r.Grants())
			}
		}
		if !again {
			taken = append(taken, a.outcomes(c, s, u)...)
		}
	}
	s.shown, s.taken = taken, true
	p.Flash = taken
	return p
}

// actor is who is acting, for the audit log.
func (a *App) actor(c echo.Context) starts.Actor {
	u := currentUser(c)
	method := "password"
	if _, ok := sess(c).s.Values["sso"]; ok {
		method = "sso"
	}
	return starts.Actor{User: u.Name, Role: u.Role, AuthMethod: method, SourceIP: c.RealIP(), UserAgent: apperr.Truncate(c.Request().UserAgent(), 256),
		Rights: currentRights(c)}
}

// record appends an audit event for a request; a failure is logged loudly,
// and the caller decides whether it may go on.
func (a *App) record(c echo.Context, e audit.Event) error {
	if e.SourceIP == "" {
		e.SourceIP = c.RealIP()
	}
	if e.UserAgent == "" {
		e.UserAgent = apperr.Truncate(c.Request().UserAgent(), 256)
	}
	_, err := a.auditLog.Append(c.Request().Context(), e)
	if err != nil {
		a.log.Error("audit event not recorded", "request_id", requestID(c), "action", e.Action, "user", e.User, "err", err)
	}
	return err
}

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[apperr.Kind]int{
	apperr.Invalid:       http.StatusBadRequest,
	apperr.Unprocessable: http.StatusUnprocessableEntity,
	apperr.NotFound:      http.StatusNotFound,
	apperr.Conflict:      http.StatusConflict,
	apperr.Forbidden:     http.StatusForbidden,
	apperr.Unauthorized:  http.StatusUnauthorized,
	apperr.TooMany:       http.StatusTooManyRequests,
	apperr.Unavailable:   http.StatusServiceUnavailable,
	apperr.BadGateway:    http.StatusBadGateway,
	apperr.Timeout:       http.StatusGatewayTimeout,
	apperr.Internal:      http.StatusInternalServerError,
}

// headings are the statuses whose error page has a heading of its own in
// the catalogue (error.hNNN); others show the status's text.
var headings = map[int]bool{400: true, 401: true, 403: true, 404: true, 405: true, 409: true, 413: true, 422: true,
	429: true, 500: true, 502: true, 503: true, 504: true}

// handleError is the one HTTP error handler: it maps the error's kind to a
// status, logs 5xx as errors and 4xx as warnings with the request id, and
// shows words, never the error's text.
func (a *App) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, msg := a.errorStatus(c, err)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if wantsJSON(c) {
		_ = c.JSON(status, map[string]string{"error": msg, "request_id": requestID(c)})
		return
	}
	heading := a.loc(c).T("error.h" + strconv.Itoa(status))
	if !headings[status] {
		heading = http.StatusText(status)
	}
	p := a.page(c, heading, "")
	if rerr := render(c, status, templates.Error(templates.ErrorPage{Page: p, Status: status, Heading: heading, Message: msg,
		RequestID: requestID(c), BackURL: a.cfg.BasePath() + "instances"})); rerr != nil {
		a.log.Error("error page failed", "request_id", requestID(c), "err", rerr)
		_ = c.String(status, msg)
	}
}

// errorStatus is the status and the words of an error, from the one table
// of kinds (statusOf), logged with the request id: 5xx as errors, 4xx as
// warnings. The pages and the API both answer with it.
func (a *App) errorStatus(c echo.Context, err error) (int, string) {
	status := http.StatusInternalServerError
	l := a.loc(c)
	msg := apperr.Words(err, l, l.T("error.internal"))
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch status {
		case http.StatusNotFound:
			msg = l.T("error.no_page")
		case http.StatusMethodNotAllowed:
			msg = l.T("error.no_method")
		case http.StatusRequestEntityTooLarge:
			msg = l.T("error.too_large")
		case http.StatusServiceUnavailable:
			msg = l.T("error.too_long")
		default:
			if status < 500 {
				msg = l.T("error.refused_status", "Status", http.StatusText(status), "Code", status)
			}
		}
	} else {
		status = statusOf[apperr.KindOf(err)]
		if status == http.StatusInternalServerError && db.Unavailable(err) {
			status = http.StatusServiceUnavailable
			msg = l.T("error.db_unavailable")
		}
	}
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if status >= 500 {
		a.log.Error("request failed", "request_id", requestID(c), "status", status, "err", err)
	} else {
		a.log.Warn("request refused", "request_id", requestID(c), "status", status, "err", err)
	}
	return status, msg
}

// wantsJSON reports whether the client asks for JSON first (the live-status
// script does): its errors are JSON, and it is never redirected to a page.
func wantsJSON(c echo.Context) bool {
	first, _, _ := strings.Cut(c.Request().Header.Get("Accept"), ",")
	mt, _, _ := strings.Cut(first, ";")
	return strings.TrimSpace(mt) == "application/json"
}
