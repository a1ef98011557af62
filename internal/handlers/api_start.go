package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"ecsdash/internal/apperr"
	"ecsdash/internal/audit"
	"ecsdash/internal/ecs"
	"ecsdash/internal/idempotency"
	"ecsdash/internal/starts"
)

type apiStartRequest struct {
	Region        string `json:"region"`
	InitLocalDisk bool   `json:"init_local_disk"`
	Confirm       string `json:"confirm"` // the instance ID again, required with init_local_disk
	Reason        string `json:"reason"`
}

// apiStartAnswer is a start's answer: 200 when ECS accepted it, 202 when it
// awaits approval; when ECS refused or did not answer, error says so (with
// the status of the page that would explain it) and the operation is still
// named, as it is recorded.
type apiStartAnswer struct {
	OperationID int64         `json:"operation_id"`
	State       string        `json:"state"`
	RequestID   string        `json:"request_id"` // ECS's RequestId
	Error       *apiErrorBody `json:"error,omitempty"`
}

type apiCheckRequest struct {
	Region        string `json:"region"`
	InitLocalDisk bool   `json:"init_local_disk"`
}

type apiCheckAnswer struct {
	WouldStart bool   `json:"would_start"`
	Code       string `json:"code"` // ECS's code: DryRunOperation when it would start
	Message    string `json:"message"`
	RequestID  string `json:"request_id"` // ECS's RequestId of the dry run
}

type apiBatchRequest struct {
	Instances []string `json:"instances"` // REGION/ID, 1 to 100
	Reason    string   `json:"reason"`
}

type apiBatchAnswer struct {
	Results []apiBatchResult `json:"results"`
}

type apiBatchResult struct {
	InstanceID  string `json:"instance_id"`
	Outcome     string `json:"outcome"` // started, awaiting_approval, refused, failed, unknown
	OperationID int64  `json:"operation_id"`
	RequestID   string `json:"request_id"`
	Message     string `json:"message"`
}

// readJSON reads the request's JSON body into v, refusing unknown fields
// and trailing data; it returns the body's bytes too (for Idempotency-Key).
func readJSON(c echo.Context, v any) ([]byte, error) {
	raw, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "The request body could not be read (at most 64 KiB).")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "The request body is not the JSON object this endpoint takes (see /api/v1/openapi.json): %s", apperr.Quote(err.Error()))
	}
	if dec.More() {
		return nil, apperr.New(apperr.Invalid, "The request body holds more than one JSON value.")
	}
	return raw, nil
}

// apiStart starts one instance through the start service, as the page's
// form does: one validation, the fresh check, the approval policy, one
// open operation per instance, the start rate, the audit log.
func (a *App) apiStart(c echo.Context) error {
	if err := mayAct(c); err != nil {
		return err
	}
	var body apiStartRequest
	raw, err := readJSON(c, &body)
	if err != nil {
		return err
	}
	req := starts.Request{InstanceID: c.Param("id"), Region: body.Region, InitLocalDisk: body.InitLocalDisk, Confirm: body.Confirm, Reason: body.Reason}
	return a.idempotent(c, raw, func() (int, any, error) {
		res, err := a.starts.Request(c.Request().Context(), a.apiActor(c), req)
		if err != nil && res.OpID != 0 {
			// Recorded, then stopped (the audit log failed part way): the
			// key keeps this answer, and the operation tells the rest.
			status, msg := a.errorStatus(c, err)
			ans := apiStartAnswer{OperationID: res.OpID, State: audit.StateUnknown, RequestID: res.RequestID,
				Error: &apiErrorBody{Code: string(apperr.KindOf(err)), Message: msg, RequestID: requestID(c)}}
			return status, ans, nil
		}
		if err != nil {
			a.metrics.Start("refused")
			return 0, nil, err
		}
		ans := apiStartAnswer{OperationID: res.OpID, RequestID: res.RequestID}
		switch {
		case res.Awaiting:
			a.metrics.Start("awaiting_approval")
			ans.State = audit.StateAwaitingApproval
			return http.StatusAccepted, ans, nil
		case res.ECSError != nil:
			e := res.ECSError
			ans.State = audit.StateFailed
			if e.Kind == ecs.KindUnknownOutcome {
				ans.State = audit.StateUnknown
			}
			a.metrics.Start(ans.State)
			ans.Error = &apiErrorBody{Code: e.Code, Message: strings.TrimSpace(e.Summary + " " + e.Action), RequestID: requestID(c)}
			return statusOf[e.AppKind()], ans, nil
		}
		a.metrics.Start("succeeded")
		ans.State = audit.StateSucceeded
		return http.StatusOK, ans, nil
	})
}

// apiCheck asks ECS whether it would start the instance (a dry run).
func (a *App) apiCheck(c echo.Context) error {
	if err := mayAct(c); err != nil {
		return err
	}
	var body apiCheckRequest
	if _, err := readJSON(c, &body); err != nil {
		return err
	}
	req := starts.Request{InstanceID: c.Param("id"), Region: body.Region, InitLocalDisk: body.InitLocalDisk, Confirm: c.Param("id")}
	res, err := a.starts.Check(c.Request().Context(), a.apiActor(c), req)
	if err != nil {
		return err
	}
	ans := apiCheckAnswer{WouldStart: res.Would, RequestID: res.RequestID, Code: "DryRunOperation", Message: "ECS would start it now."}
	if e := res.ECSError; e != nil {
		ans.Code, ans.Message = e.Code, strings.TrimSpace(e.Summary+" "+e.Action)
	}
	return c.JSON(http.StatusOK, ans)
}

// apiStartBatch starts up to 100 instances, as the list's batch form does.
func (a *App) apiStartBatch(c echo.Context) error {
	if err := mayAct(c); err != nil {
		return err
	}
	var body apiBatchRequest
	raw, err := readJSON(c, &body)
	if err != nil {
		return err
	}
	return a.idempotent(c, raw, func() (int, any, error) {
		b, err := a.starts.StartBatch(c.Request().Context(), a.apiActor(c), body.Instances, body.Reason)
		if err != nil {
			a.metrics.Start("refused")
			return 0, nil, err
		}
		ans := apiBatchAnswer{Results: []apiBatchResult{}}
		for _, r := range b.Rows {
			a.metrics.Start(r.Outcome)
			id := r.Ref.ID
			if id == "" {
				id = r.Raw
			}
			ans.Results = append(ans.Results, apiBatchResult{InstanceID: id, Outcome: r.Outcome, OperationID: r.OpID, RequestID: r.RequestID, Message: r.Words})
		}
		return http.StatusOK, ans, nil
	})
}

// idempotent runs a start once per Idempotency-Key (when the request sends
// one): a repeat of the key by the same user within 24 h, even while the
// first still runs, gets the first answer and nothing is done again; the
// key with another request is refused. A refusal before anything was done
// (run's error) gives the key back, so the request may be sent again.
func (a *App) idempotent(c echo.Context, body []byte, run func() (int, any, error)) error {
	key := c.Request().Header.Get("Idempotency-Key")
	if key == "" {
		status, v, err := run()
		if err != nil {
			return err
		}
		return c.JSON(status, v)
	}
	if len(key) > idempotency.MaxKey || strings.ContainsFunc(key, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return apperr.New(apperr.Invalid, "The Idempotency-Key is at most %d visible ASCII characters.", idempotency.MaxKey)
	}
	h := sha256.New()
	h.Write([]byte(c.Request().Method + " " + c.Request().URL.Path + "\n"))
	h.Write(body)
	uid := currentUser(c).ID
	ctx := c.Request().Context()
	prev, err := a.idem.Claim(ctx, uid, key, hex.EncodeToString(h.Sum(nil)))
	switch {
	case errors.Is(err, idempotency.ErrMismatch):
		return apperr.New(apperr.Unprocessable, "This Idempotency-Key was used with another request; nothing was done. Use a new key for a new request.")
	case errors.Is(err, idempotency.ErrRunning):
		return apperr.New(apperr.Conflict, "The first request with this Idempotency-Key has not finished; nothing more was done. Ask again later, or read the operation.")
	case err != nil:
		return apperr.Wrap(err, apperr.Unavailable, "Nothing was done: the Idempotency-Key could not be recorded (the database did not answer). Try again in a moment.")
	case prev != nil:
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.JSONBlob(prev.Status, prev.Body)
	}
	status, v, err := run()
	if err != nil {
		if rerr := a.idem.Release(ctx, uid, key); rerr != nil {
			a.log.Error("idempotency key not released", "request_id", requestID(c), "err", rerr)
		}
		return err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return apperr.Wrap(err, apperr.Internal, "encode")
	}
	if err := a.idem.Finish(ctx, uid, key, idempotency.Answer{Status: status, Body: out}); err != nil {
		a.log.Error("idempotency answer not stored", "request_id", requestID(c), "err", err)
	}
	return c.JSONBlob(status, out)
}
