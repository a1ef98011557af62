package starts

import (
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
)

// An attempt of a call is an intent (sent) before it leaves and an outcome
// after; the single start and the batch's call write both the same way.

// asIntent is ev, the newest entry of an operation, as the intent of its
// attempt n: nothing of an earlier attempt's answer is carried on.
func asIntent(ev audit.Event, n int) audit.Event {
	ev.State, ev.Attempt = audit.StateSent, n
	ev.RequestID, ev.ErrorCode, ev.ErrorMessage, ev.HTTPStatus, ev.DurationMS = "", "", "", 0, 0
	return ev
}

// withOutcome sets ev's outcome from ECS's answer to the call: e nil is
// success; an unknown outcome reads unknownWords; a refusal is failed, in
// ECS's words, with its HTTP status.
func withOutcome(ev *audit.Event, e *ecs.Error, unknownWords string) {
	switch {
	case e == nil:
		ev.State, ev.HTTPStatus = audit.StateSucceeded, 200
	case e.Kind == ecs.KindUnknownOutcome:
		ev.State, ev.ErrorCode, ev.ErrorMessage = audit.StateUnknown, e.Code, unknownWords
	default:
		ev.State, ev.ErrorCode, ev.ErrorMessage, ev.HTTPStatus = audit.StateFailed, e.Code, e.Message, e.HTTPStatus
	}
}
