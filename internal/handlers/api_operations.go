package handlers

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
)

type apiOperation struct {
	OperationID    int64  `json:"operation_id"`
	State          string `json:"state"` // the audit log's states
	InstanceID     string `json:"instance_id"`
	Region         string `json:"region"`
	RequestID      string `json:"request_id"` // ECS's RequestId of the start, once sent
	ErrorCode      string `json:"error_code"`
	ErrorMessage   string `json:"error_message"`
	Requester      string `json:"requester"`
	Approver       string `json:"approver"`
	InstanceStatus string `json:"instance_status"` // the instance's status as the dashboard last saw it
}

// maxWait bounds ?wait: under the request's own deadline.
const maxWait = 50 * time.Second

// apiOperation answers one start operation. With ?wait=DURATION it holds
// the answer while the operation is open (awaiting approval, or sent) or it
// succeeded and its instance is not Running yet, at most that long (and at
// most maxWait), so that a script needs no polling loop.
func (a *App) apiOperation(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return apperr.New(apperr.Invalid, "%q is not an operation id.", apperr.Quote(c.Param("id")))
	}
	var wait time.Duration
	if w := c.QueryParam("wait"); w != "" {
		if wait, err = time.ParseDuration(w); err != nil || wait < 0 {
			return apperr.New(apperr.Invalid, "wait wants a duration such as 30s, not %q.", apperr.Quote(w))
		}
		wait = min(wait, maxWait)
	}
	ctx := c.Request().Context()
	op, err := a.startOp(ctx, id)
	if err != nil {
		return err
	}
	if wait > 0 && a.settling(op) {
		wctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		op, err = a.waitOp(wctx, op)
		if err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, a.operationView(op))
}

// startOp reads a start operation; anything else is not found.
func (a *App) startOp(ctx context.Context, id int64) (audit.Op, error) {
	op, err := a.auditLog.Operation(ctx, id)
	if errors.Is(err, audit.ErrNotFound) || (err == nil && !audit.IsRequest(op)) {
		return op, apperr.New(apperr.NotFound, "There is no start operation %d.", id)
	}
	if err != nil {
		return op, apperr.Wrap(err, apperr.Unavailable, "The operation could not be read: the audit log did not answer. Try again in a moment.")
	}
	return op, nil
}

// settling reports whether a wait may yet see the operation change: it is
// open, or it succeeded and the instance is still on its way to Running.
func (a *App) settling(op audit.Op) bool {
	switch op.Last.State {
	case audit.StateAwaitingApproval:
		return !a.starts.Expired(op)
	case audit.StateSent:
		return true
	case audit.StateSucceeded:
		in, ok := a.fleet.Lookup(op.First.Region, op.First.InstanceID)
		return ok && in.Status != ecs.StatusRunning
	}
	return false
}

// waitOp looks again each time the audit log grew (on this replica or,
// followed, on another) or the fleet cache may have seen the instance move,
// until the operation settles or ctx ends; the last view is the answer.
func (a *App) waitOp(ctx context.Context, op audit.Op) (audit.Op, error) {
	seen := a.lastSeq.Load()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for a.settling(op) {
		select {
		case <-ctx.Done():
			return op, nil
		case <-tick.C:
		}
		if now := a.lastSeq.Load(); now != seen {
			seen = now
			next, err := a.startOp(context.WithoutCancel(ctx), op.ID())
			if err != nil {
				return op, err
			}
			op = next
		}
	}
	return op, nil
}

func (a *App) operationView(op audit.Op) apiOperation {
	first, last := op.First, op.Last
	v := apiOperation{OperationID: op.ID(), State: last.State, InstanceID: first.InstanceID, Region: first.Region,
		RequestID: last.RequestID, ErrorCode: last.ErrorCode, ErrorMessage: last.ErrorMessage, Requester: first.User, Approver: last.Approver}
	if a.starts.Expired(op) {
		v.State = audit.StateExpired
	}
	if in, ok := a.fleet.Lookup(first.Region, first.InstanceID); ok {
		v.InstanceStatus = in.Status
	}
	return v
}
