package handlers

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/i18n"
	"ecsdash/internal/users"
)

// reqState is one request's own state: made once per request by the outer
// middleware (common), in one allocation, and passed down the chain as the
// request's echo.Context, so that the session, the user, their rights and
// the language are kept in fields rather than in Echo's per-request map
// (allocated on its first Set, and each value boxed into it). c.Set and
// c.Get of the keys below land in the fields; any other key goes to Echo's
// map as before.
type reqState struct {
	echo.Context

	id       [1]string // the X-Request-Id header's value list
	clientID string    // the X-Request-ID the client sent, cleaned
	hasID    bool      // the client sent one

	deadline lazyDeadline // the request's context

	sess    session // loaded by loadSession (hasSess)
	hasSess bool
	out     sessionWriter // the response's writer while a session is loaded
	saver   *App          // whose log a failed save goes to

	user     users.User // the signed-in user (hasUser), see setUser
	hasUser  bool
	userName string
	rights   *users.Rights
	loc      *i18n.Localizer
}

// stateOf is the request's state: c itself when it came through common,
// else (a context made elsewhere, a test's) one kept in c's map.
func stateOf(c echo.Context) *reqState {
	if st, ok := c.(*reqState); ok {
		return st
	}
	if st, ok := c.Get(ctxState).(*reqState); ok {
		return st
	}
	st := &reqState{Context: c}
	c.Set(ctxState, st)
	return st
}

const ctxState = "request_state"

// Get is Echo's, with the state's own keys read from its fields.
func (st *reqState) Get(key string) any {
	switch key {
	case ctxUser:
		if st.hasUser {
			return st.user
		}
		return nil
	case ctxUserName:
		if st.hasUser || st.userName != "" {
			return st.userName
		}
		return nil
	case ctxRights:
		if st.rights == nil {
			return nil
		}
		return st.rights
	case ctxLoc:
		if st.loc == nil {
			return nil
		}
		return st.loc
	}
	return st.Context.Get(key)
}

// Set is Echo's, with the state's own keys kept in its fields.
func (st *reqState) Set(key string, val any) {
	switch key {
	case ctxUser:
		st.user, st.hasUser = val.(users.User)
	case ctxUserName:
		st.userName, _ = val.(string)
	case ctxRights:
		st.rights, _ = val.(*users.Rights)
	case ctxLoc:
		st.loc, _ = val.(*i18n.Localizer)
	default:
		st.Context.Set(key, val)
	}
}

// setUser records who is signed in for this request (their name is in
// the access log), without boxing the user into Echo's map.
func setUser(c echo.Context, u users.User) {
	st := stateOf(c)
	st.user, st.hasUser, st.userName = u, true, u.Name
}

// setRights records the signed-in user's rights at this request.
func setRights(c echo.Context, r *users.Rights) { stateOf(c).rights = r }

// lazyDeadline is a request's context with a deadline whose timer and
// cancellation are made only when something asks for Done: a query on
// PostgreSQL, a call to ECS. Most page views wait on nothing that can be
// cancelled (SQLite's reads run without a cancellable context), and a
// context.WithTimeout a request is eight allocations and a timer. Until
// then it answers Deadline, Err and Value itself, from the deadline and its
// parent, as the made context would; context.Cause before Done is asked is
// its parent's.
type lazyDeadline struct {
	parent context.Context
	at     time.Time

	mu     sync.Mutex
	made   context.Context // context.WithDeadline(parent, at), once asked
	cancel context.CancelFunc
}

// start makes l the deadline at over parent.
func (l *lazyDeadline) start(parent context.Context, at time.Time) {
	l.parent, l.at = parent, at
}

// stop releases the timer, if one was made: the request is over.
func (l *lazyDeadline) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		l.cancel()
	}
}

func (l *lazyDeadline) ctx() context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.made == nil {
		l.made, l.cancel = context.WithDeadline(l.parent, l.at)
	}
	return l.made
}

func (l *lazyDeadline) madeCtx() context.Context {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.made
}

func (l *lazyDeadline) Deadline() (time.Time, bool) {
	if d, ok := l.parent.Deadline(); ok && d.Before(l.at) {
		return d, true
	}
	return l.at, true
}

func (l *lazyDeadline) Done() <-chan struct{} { return l.ctx().Done() }

func (l *lazyDeadline) Err() error {
	if m := l.madeCtx(); m != nil {
		return m.Err()
	}
	if err := l.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(l.at) {
		return context.DeadlineExceeded
	}
	return nil
}

func (l *lazyDeadline) Value(key any) any {
	if m := l.madeCtx(); m != nil {
		return m.Value(key)
	}
	return l.parent.Value(key)
}

func (l *lazyDeadline) String() string { return "handlers.lazyDeadline" }

// sessionWriter saves the request's session, when it changed, just before
// the response's header is written (as a Response.Before hook would, which
// costs a closure and a list a request).
type sessionWriter struct {
	http.ResponseWriter
	st    *reqState
	wrote bool
}

func (w *sessionWriter) WriteHeader(code int) {
	if !w.wrote {
		w.wrote = true
		w.st.saveSession()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what was written so far (the session saved first).
func (w *sessionWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
