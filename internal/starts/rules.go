package starts

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
)

// The rules of what may happen, in one file: the service enforces them and
// pages show their answers, so a page never restates one.

// Answer is a rule's answer: OK, or why not in words, with the refusal's
// kind for when it is acted on.
type Answer struct {
	OK   bool
	Why  string      // why not, in words ("" when OK)
	Kind apperr.Kind // the refusal's kind (when not OK)
	// ByRole marks a refusal for the actor's role, which holds for every
	// instance alike: a page may say it once instead of on every row.
	ByRole bool
	// format and args made Why: WhyIn says it in another language.
	format string
	args   []any
}

// WhyIn is Why in l's language and zone.
func (x Answer) WhyIn(l *i18n.Localizer) string {
	if x.OK {
		return ""
	}
	return apperr.Words(x.Err(), l, x.Why)
}

// words are Why to say when shown.
func (x Answer) words() i18n.Said { return apperr.WordsOf(x.Err()) }

var yes = Answer{OK: true}

// What the service's actions need, read from the one action table
// (audit.Action): a new action's permission is its row there.
var (
	needStart       = audit.Needs(audit.ActionStartInstance)
	needCheck       = audit.Needs(audit.ActionCheck)
	needDecide      = audit.DecideNeeds                 // approving and rejecting alike
	needWithdrawAny = audit.Needs(audit.ActionWithdraw) // someone else's request; one's own needs none
)

func no(kind apperr.Kind, format string, args ...any) Answer {
	return Answer{Why: fmt.Sprintf(format, args...), Kind: kind, format: format, args: args}
}

// Err is the refusal as an *apperr.Error (nil when OK).
func (x Answer) Err() error {
	if x.OK {
		return nil
	}
	if x.format == "" {
		return apperr.New(x.Kind, "%s", x.Why)
	}
	return apperr.New(x.Kind, x.format, x.args...)
}

// MaxReason is the longest reason a start or a rejection may carry, in
// characters (runes: a reason in Chinese fits as many as one in English).
const MaxReason = 500

// MinRejectReason is the shortest reason a rejection may carry.
const MinRejectReason = 3

var idRe = regexp.MustCompile(`^i-[a-z0-9]{8,40}$`)

// ValidID reports whether id has the shape of an ECS instance id.
func ValidID(id string) bool { return idRe.MatchString(id) }

// validRef is where a start may be asked: an id of ECS's shape in a region
// this dashboard manages.
func (s *Service) validRef(region, id string) error {
	if !ValidID(id) {
		return apperr.New(apperr.Invalid, "%q is not an ECS instance ID (i- followed by letters and digits).", apperr.Quote(id))
	}
	if !s.ecs.HasRegion(region) {
		return apperr.New(apperr.Invalid, "%q is not a region this dashboard manages.", apperr.Quote(region))
	}
	return nil
}

// mayStartAny is the role a start (or a check) needs.
func mayStartAny(a Actor) Answer {
	if !a.Holds(needStart) {
		x := no(apperr.Forbidden, "Your role (%s) may not start instances; ask an operator.", roleNames(a.Roles()))
		x.ByRole = true
		return x
	}
	return yes
}

// mayStart is the role a start (or a check) needs, as an error.
func mayStart(a Actor) error { return mayStartAny(a).Err() }

// MayStart says whether a may start inst now, as far as the dashboard
// knows it (the shared cache, and held: the instance's open request, if
// any), and if not, why in a few words for a list row. A start in flight
// is not shown (the fleet shows the instance Starting soon after); the
// start itself is refused while one is, and asks ECS afresh with the same
// precondition (ecs.Check).
func (s *Service) MayStart(a Actor, inst ecs.Instance, held audit.OpenOp) Answer {
	if held.OpID != 0 && held.State == audit.StateAwaitingApproval {
		return no(apperr.Conflict, "Awaiting approval (request %d).", held.OpID)
	}
	if x := mayStartAny(a); !x.OK {
		return x
	}
	if x := May(a, needStart, inst); !x.OK {
		return x
	}
	if e := ecs.Check(inst, false, s.families, s.now()); e != nil {
		return briefly(e, inst)
	}
	return yes
}

// briefly says a precondition's refusal in a list row's few words.
func briefly(e *ecs.Error, inst ecs.Instance) Answer {
	switch e.Code {
	case ecs.CodeSecurityLocked:
		return no(apperr.Conflict, "Locked by security control.")
	case ecs.CodeExpired:
		if !inst.ExpiredTime.IsZero() {
			return no(apperr.Conflict, "Expired on %s — renew it first.", i18n.Day(inst.ExpiredTime))
		}
		return no(apperr.Conflict, "Locked for billing (financial lock) — renew it first.")
	case ecs.CodeNotStopped:
		return no(apperr.Conflict, "%s.", inst.Status)
	}
	return no(apperr.Conflict, "%s", e.SummaryWords())
}

// StartBlocked says, for a request awaiting approval, why its start would
// fail if approved now (nil when nothing known stands in its way).
func (s *Service) StartBlocked(inst ecs.Instance, initLocalDisk bool) i18n.Said {
	if e := ecs.Check(inst, initLocalDisk, s.families, s.now()); e != nil {
		return i18n.Wordsf("%s Approving now will fail.", e.SummaryWords())
	}
	return nil
}

// checkReason is the rule for a start's reason: at most MaxReason
// characters, and given when the start waits for an approver (every start,
// or a wipe of local disks); a check, which needs no approval, takes none.
func (s *Service) checkReason(reason string, initLocalDisk bool) error {
	if n := utf8.RuneCountInString(reason); n > MaxReason {
		return apperr.New(apperr.Invalid, "The reason has %d characters; at most %d fit.", n, MaxReason)
	}
	if initLocalDisk && s.approval.NeedsApproval(true) && strings.TrimSpace(reason) == "" {
		return apperr.Wrap(ErrWipeReason, apperr.Unprocessable, "Give a reason for the wipe: a second person approves it and needs to know why. Nothing was started.")
	}
	if s.approval == PolicyAll && strings.TrimSpace(reason) == "" {
		return apperr.New(apperr.Unprocessable, "Give a reason: every start here waits for a second person, who needs to know why.")
	}
	return nil
}

// checkRejectReason is the rule for a rejection's reason: between
// MinRejectReason and MaxReason characters.
func checkRejectReason(reason string) error {
	if n := utf8.RuneCountInString(reason); n < MinRejectReason || n > MaxReason {
		return apperr.Wrap(ErrRejectReason, apperr.Invalid, "The reason has %d characters; a rejection needs %d to %d, so the requester learns why.", n, MinRejectReason, MaxReason)
	}
	return nil
}

// mayDecide is who may approve or reject a request of requester: an
// approver or admin, never the requester.
func mayDecide(a Actor, requester string) Answer {
	if !a.Holds(needDecide) {
		x := no(apperr.Forbidden, "Your role (%s) may not approve or reject starts.", roleNames(a.Roles()))
		x.ByRole = true
		return x
	}
	if a.User == requester {
		return no(apperr.Forbidden, "You requested this start; a second person must decide on it.")
	}
	return yes
}

// MayDecideOn says whether a may decide a request of requester for inst
// (the approval queue and its count ask this of every open request, with
// the instance as the shared cache describes it; the decision itself asks
// again with ECS's description).
func MayDecideOn(a Actor, requester string, inst ecs.Instance) bool {
	return mayDecide(a, requester).OK && May(a, needDecide, inst).OK
}

// MayDecide says whether a may approve or reject op now, and if not why;
// inst is the request's instance as last described.
func (s *Service) MayDecide(a Actor, op audit.Op, inst ecs.Instance) Answer {
	if x := s.awaitingNow(op); !x.OK {
		return x
	}
	if x := mayDecide(a, op.First.User); !x.OK {
		return x
	}
	return May(a, needDecide, inst)
}

// Described is the instance of an audit entry as the shared cache knows it,
// or only its region and id when the cache does not (then only a grant over
// every instance, or over its region, covers it).
func (s *Service) Described(region, id string) ecs.Instance {
	if inst, ok := s.fleet.Lookup(region, id); ok {
		return inst
	}
	return ecs.Instance{Region: region, ID: id}
}

// MayWithdraw says whether a may withdraw op now: its requester, or an
// admin, while it awaits approval.
func (s *Service) MayWithdraw(a Actor, op audit.Op) Answer {
	if !audit.IsRequest(op) {
		return no(apperr.NotFound, "There is no request %d.", op.ID())
	}
	if a.User != op.First.User && !a.Unscoped(needWithdrawAny) {
		return no(apperr.Forbidden, "Only %s, who asked, or an admin may withdraw request %d.", op.First.User, op.ID())
	}
	if x := s.awaitingNow(op); !x.OK {
		x = no(x.Kind, "Request %d is no longer awaiting approval (it is %s); there is nothing to withdraw.", op.ID(), s.State(op))
		return x
	}
	return yes
}

// awaitingNow says whether op still awaits a decision: not decided, not
// past its time.
func (s *Service) awaitingNow(op audit.Op) Answer {
	if s.Expired(op) {
		return no(apperr.Conflict, "Expired: not approved in time.")
	}
	if op.Last.State != audit.StateAwaitingApproval {
		return no(apperr.Conflict, "Request %d is no longer awaiting approval (it is %s).", op.ID(), op.Last.State)
	}
	return yes
}

// Expired reports whether a request awaiting approval is past its time. Its
// expiry is recorded by ExpireDue or by the next decision on it; a page
// shows it as expired meanwhile.
func (s *Service) Expired(op audit.Op) bool {
	return op.Last.State == audit.StateAwaitingApproval && s.PastTime(op.First.Time)
}

// PastTime reports whether a request asked at asked, if it still awaits
// approval, is past its time.
func (s *Service) PastTime(asked time.Time) bool { return s.now().Sub(asked) >= s.ttl }

// State is op's state as a page shows it: a request past its time is
// expired, though its expiry may not be recorded yet.
func (s *Service) State(op audit.Op) string {
	if s.Expired(op) {
		return audit.StateExpired
	}
	return op.Last.State
}

// batchOffered is the rule of a nil Batch: neither batch starts nor checks
// are offered.
func (s *Service) batchOffered() error {
	if s.batch == nil {
		return apperr.New(apperr.Unavailable, "Batch starts and checks are not available on this dashboard; start instances one at a time.")
	}
	return nil
}
