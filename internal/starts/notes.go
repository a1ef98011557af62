package starts

import (
	"context"

	"ecsdash/internal/audit"
)

// The webhooks are told of the requests that need approval: each event of
// such a request, read from the audit log (the notifications' outbox,
// internal/notify). This file is the one place that decides which entry
// stands for which events.

// MayNote reports whether entry e can stand for an event at all (Notes
// needs its operation's timeline): a request awaiting approval, a
// decision, or an entry of an approved start (which carries its approver).
func MayNote(e audit.Event) bool {
	a, ok := audit.Action(e.Action)
	switch {
	case !ok || !a.Request:
		return false
	case a.Decides:
		return true
	case !a.Holds && a.Note == "":
		return false // a follow-up that tells nothing (reconcile)
	}
	return (e.Seq == e.OpID && e.State == audit.StateAwaitingApproval) || (e.Approver != "" && e.State != audit.StateSent)
}

// Notes are the notification events of entry e of operation op (its
// whole timeline): awaiting_approval for the request, approved, rejected,
// withdrawn or expired for the decision (an approval that failed at once
// is approved and failed), and the approved start's outcome (succeeded,
// failed, unknown: the last of its attempts; a lost one recovered as
// unknown). Nothing for a start that needed no approval, nor for the
// intents, checks and follow-ups. settled false: e is an outcome after
// which the call may still try again (its process holds it, or it is
// another replica's and younger than CallLimit), so it cannot be judged
// yet.
func (s *Service) Notes(ctx context.Context, op audit.Op, e audit.Event) (notes []string, settled bool, err error) {
	first := op.First
	if !audit.IsRequest(op) || first.State != audit.StateAwaitingApproval {
		return nil, true, nil
	}
	if e.Seq == first.Seq {
		return []string{NoteAwaiting}, true, nil
	}
	a, _ := audit.Action(e.Action)
	switch {
	case a.Name == audit.ActionApprove && e.State == audit.StateFailed:
		return []string{NoteApproved, NoteFailed}, true, nil // failed at once
	case a.Note != "":
		return []string{a.Note}, true, nil
	case !a.Holds || e.State == audit.StateSent:
		return nil, true, nil // not an attempt's outcome
	}
	// An attempt's outcome: told when it is the call's last.
	for _, later := range op.Events {
		if later.Seq > e.Seq && later.Action == e.Action {
			return nil, true, nil // another attempt followed
		}
	}
	if e.State != audit.StateSucceeded {
		ended, err := s.callEnded(ctx, e)
		if err != nil || !ended {
			return nil, false, err
		}
	}
	return []string{noteOf(e.State)}, true, nil
}

// callEnded reports whether the call of outcome e can no longer try again.
func (s *Service) callEnded(ctx context.Context, e audit.Event) (bool, error) {
	if e.Replica == s.log.Replica() {
		return !s.out.holding(e.OpID), nil
	}
	limit := s.callLimit
	if s.now().Sub(e.Time) > limit {
		return true, nil
	}
	return s.log.LeaseEnded(ctx, e.Replica)
}
