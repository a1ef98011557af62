package handlers

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// openState is what every page needs of the open requests: which request
// holds each instance (its row offers no Start), and who waits for whom (the
// navigation's count). It is read again from audit_ops only when the log has
// grown since, so a page view costs no query while nothing happens.
type openState struct {
	gen        int64 // the audit event count it was read at
	heldGen    int64 // changes only when which instances are held changes: the list pages' cache key
	byInstance map[string]audit.OpenOp
	awaiting   []audit.OpenOp // not past their time
}

// sameHeld reports whether two states hold the same instances for the same
// requests awaiting approval (what the list's rows show).
func sameHeld(x, y *openState) bool {
	n := 0
	for id, o := range x.byInstance {
		if o.State != audit.StateAwaitingApproval {
			continue
		}
		n++
		if p, ok := y.byInstance[id]; !ok || p.OpID != o.OpID || p.State != o.State {
			return false
		}
	}
	return n == len(y.awaiting)
}

type openCache struct {
	mu  sync.Mutex
	cur atomic.Pointer[openState]
}

// open returns the open requests as of now.
func (a *App) open(ctx context.Context) *openState {
	gen := a.appended.n.Load()
	if s := a.opens.cur.Load(); s != nil && s.gen == gen {
		return s
	}
	a.opens.mu.Lock()
	defer a.opens.mu.Unlock()
	if s := a.opens.cur.Load(); s != nil && s.gen == gen {
		return s
	}
	ops, err := a.auditLog.OpenOps(ctx)
	if err != nil {
		a.log.Warn("open requests could not be read", "err", err)
		if s := a.opens.cur.Load(); s != nil {
			return s
		}
		return &openState{gen: -1, byInstance: map[string]audit.OpenOp{}}
	}
	s := &openState{gen: gen, byInstance: make(map[string]audit.OpenOp, len(ops))}
	for _, o := range ops {
		if o.State == audit.StateAwaitingApproval && a.starts.PastTime(o.Time) {
			continue // past its time: it holds nothing (its expiry is recorded by the ticker)
		}
		s.byInstance[o.InstanceID] = o
		if o.State == audit.StateAwaitingApproval {
			s.awaiting = append(s.awaiting, o)
		}
	}
	s.heldGen = 1
	if prev := a.opens.cur.Load(); prev != nil {
		s.heldGen = prev.heldGen
		if !sameHeld(s, prev) {
			s.heldGen++
		}
	}
	a.opens.cur.Store(s)
	return s
}

// waitingFor counts the requests that wait for this user's decision: the
// rights check, with each instance as the shared cache describes it.
func (s *openState) waitingFor(a starts.Actor, snap *ecs.Snapshot) int {
	if !a.Holds(audit.DecideNeeds) {
		return 0
	}
	var known map[string]*ecs.Instance
	if !a.Unscoped(audit.DecideNeeds) && len(s.awaiting) > 0 {
		// A scoped approver: each request's instance, by id (ids are
		// unique), in one walk of the cache.
		known = make(map[string]*ecs.Instance, len(s.awaiting))
		for _, o := range s.awaiting {
			known[o.InstanceID] = nil
		}
		if snap != nil {
			for _, in := range snap.Instances {
				if _, ok := known[in.ID]; ok {
					known[in.ID] = in
				}
			}
		}
	}
	n := 0
	for _, o := range s.awaiting {
		inst := ecs.Instance{ID: o.InstanceID}
		if p := known[o.InstanceID]; p != nil {
			inst = *p
		}
		if starts.MayDecideOn(a, o.User, inst) {
			n++
		}
	}
	return n
}

// outcomes tells a requester what became of their requests since their last
// page: approved and started, rejected with the reason, expired, failed,
// withdrawn by someone else. The session remembers the last entry told
// ("told").
func (a *App) outcomes(c echo.Context, s *session, u users.User) []templates.Flash {
	told := s.num("told")
	if told == 0 {
		if head := a.lastSeq.Load(); head > 0 {
			s.set("told", head) // a session starts from now, not from the log's beginning
		}
		return nil
	}
	// Most page views: nothing ended for this user since they were last
	// told; known from memory, without a query or a new cookie.
	latest, _ := a.endings.Load(u.Name)
	if n, _ := latest.(int64); n <= told {
		return nil
	}
	head := a.lastSeq.Load()
	events, err := a.auditLog.Outcomes(c.Request().Context(), u.Name, told, 10)
	if err != nil {
		a.log.Warn("outcomes could not be read", "request_id", requestID(c), "err", err)
		return nil
	}
	s.set("told", head)
	var out []templates.Flash
	l := a.loc(c)
	for _, e := range events {
		if starts.OwnWithdrawal(e) {
			continue // their own doing
		}
		what := l.T("outcome.what", "Op", e.OpID, "Name", e.InstanceName, "ID", e.InstanceID, "Region", e.Region)
		data := []any{"What", what, "Approver", e.Approver, "RequestID", e.RequestID, "Reason", starts.Reason(e).In(l),
			"Error", strings.TrimSpace(e.ErrorCode + " " + recordedWords(l, e))}
		switch e.State {
		case audit.StateSucceeded:
			out = append(out, templates.Flash{Text: l.T("outcome.succeeded", data...)})
		case audit.StateRejected:
			out = append(out, templates.Flash{Error: true, Text: l.T("outcome.rejected", data...)})
		case audit.StateExpired:
			out = append(out, templates.Flash{Error: true, Text: l.T("outcome.expired", data...)})
		case audit.StateWithdrawn:
			out = append(out, templates.Flash{Error: true, Text: l.T("outcome.withdrawn", data...)})
		case audit.StateUnknown:
			out = append(out, templates.Flash{Error: true, Text: l.T("outcome.unknown", data...)})
		default:
			out = append(out, templates.Flash{Error: true, Text: l.T("outcome.failed", data...)})
		}
	}
	return out
}

// noteEnding remembers, per requester, the newest entry that ended one of
// their requests for approval: a rejection, expiry or withdrawal, or the
// outcome of an approved start (it names its approver). A start without
// approval, a check or a sign-in is not one: its user saw its outcome.
func (a *App) noteEnding(e audit.Event) {
	if !audit.Is(e, func(a audit.ActionInfo) bool { return a.Request }) {
		return
	}
	switch e.State {
	case audit.StateRejected, audit.StateExpired, audit.StateWithdrawn:
	case audit.StateSucceeded, audit.StateFailed, audit.StateUnknown:
		if e.Approver == "" {
			return
		}
	default:
		return
	}
	a.endings.Store(e.User, e.Seq)
}

// ago says how long ago t was, roughly.
func ago(l *i18n.Localizer, d time.Duration) string {
	switch {
	case d < time.Minute:
		return l.T("list.age_now")
	case d < time.Hour:
		return l.N("ago.minutes", int(d.Minutes()))
	case d < 48*time.Hour:
		return l.N("ago.hours", int(d.Hours()), "Minutes", int(d.Minutes())%60)
	}
	return l.N("ago.days", int(d.Hours()/24))
}

// within says how long until t, roughly.
func within(l *i18n.Localizer, d time.Duration) string {
	switch {
	case d <= 0:
		return l.T("within.now")
	case d < time.Hour:
		return l.N("within.minutes", int(d.Minutes())+1)
	}
	return l.N("within.hours", int(d.Hours()), "Minutes", int(d.Minutes())%60)
}
