package handlers

import (
	"testing"

	"ecsdash/internal/apperr"
	"ecsdash/internal/ecs"
)

// One table gives the status of every error, the ECS failure page's
// included: each ECS kind reaches it through its application kind.
func TestEveryECSKindHasItsStatusInTheOneTable(t *testing.T) {
	want := map[ecs.ErrorKind]int{
		ecs.KindPrecondition: 409, ecs.KindForbidden: 409, ecs.KindNotFound: 404, ecs.KindInvalid: 422,
		ecs.KindThrottled: 503, ecs.KindUnavailable: 503, ecs.KindInternal: 503, ecs.KindAuth: 502,
		ecs.KindUnknownOutcome: 504,
	}
	for k, status := range want {
		if got := statusOf[apperr.KindOf(&ecs.Error{Kind: k})]; got != status {
			t.Errorf("%s: %d, want %d", k, got, status)
		}
	}
	for _, k := range []apperr.Kind{apperr.Invalid, apperr.Unprocessable, apperr.NotFound, apperr.Conflict, apperr.Forbidden,
		apperr.Unauthorized, apperr.Unavailable, apperr.BadGateway, apperr.Timeout, apperr.Internal} {
		if statusOf[k] == 0 {
			t.Errorf("kind %s has no status", k)
		}
	}
}
