package ecs

import (
	"context"
	"fmt"
	"slices"
	"time"

	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
)

// MaxBatch is the most instances one StartInstances call (and one
// DescribeInstances InstanceIds filter) takes.
const MaxBatch = 100

// DryRun asks ECS whether it would start the instance now (StartInstance
// with DryRun=true) and starts nothing. ECS's DryRunOperation answer means
// yes: the RequestId comes back with a nil error. Any other answer is the
// reason why not, as an *Error. It is retried like any call that has no
// effect.
func (c *Client) DryRun(ctx context.Context, region, id string, initLocalDisk bool) (string, error) {
	if c.multi != nil {
		a, err := c.multi.owner(ctx, region, id)
		if err != nil {
			return "", err
		}
		return a.DryRun(ctx, region, id, initLocalDisk)
	}
	sdk, release, e := c.sdk(ctx, region)
	if e != nil {
		return "", e
	}
	defer release()
	req := &ecsapi.StartInstanceRequest{InstanceId: dara.String(id), DryRun: dara.Bool(true)}
	if initLocalDisk {
		req.InitLocalDisk = dara.Bool(true)
	}
	var requestID string
	err := c.retry(ctx, func(ctx context.Context, n int) *Error {
		began := time.Now()
		_, err := sdk.StartInstanceWithContext(ctx, req, c.runtime())
		e := fromSDK(err)
		if e != nil && e.Code == "DryRunOperation" {
			requestID = e.RequestID
			c.observe("StartInstance", n, began, nil)
			return nil
		}
		if e := c.observe("StartInstance", n, began, e); e != nil {
			return e
		}
		// A dry run that ECS answers with success did not do what it says.
		return &Error{Kind: KindInternal, Code: CodeInvalidResponse, Summary: "ECS answered a dry run as if it had started the instance."}
	}, func(*Error) bool { return true })
	return requestID, err
}

// DescribeMany looks instances of one region up fresh, MaxBatch ids a call;
// ids ECS does not know are missing from the answer.
func (c *Client) DescribeMany(ctx context.Context, region string, ids []string) (map[string]Instance, error) {
	if c.multi != nil {
		return c.multi.describeMany(ctx, region, ids)
	}
	sdk, release, e := c.sdk(ctx, region)
	if e != nil {
		return nil, e
	}
	defer release()
	out := make(map[string]Instance, len(ids))
	for chunk := range slices.Chunk(ids, MaxBatch) {
		list := "["
		for i, id := range chunk {
			if i > 0 {
				list += ","
			}
			list += fmt.Sprintf("%q", id)
		}
		query := map[string]any{"RegionId": region, "InstanceIds": list + "]", "MaxResults": MaxBatch}
		var page wireAnswer
		if err := c.retry(ctx, func(ctx context.Context, n int) *Error {
			var e *Error
			page, e = c.describePage(ctx, sdk, n, query)
			return e
		}, func(*Error) bool { return true }); err != nil {
			return nil, err
		}
		for i := range page.Instances.Instance {
			in := c.fromWire(region, &page.Instances.Instance[i])
			out[in.ID] = in
		}
	}
	return out, nil
}

// InstanceOutcome is what StartInstances said of one instance.
type InstanceOutcome struct {
	InstanceID    string
	Started       bool   // ECS accepted its start
	Code, Message string // ECS's code and message when it did not
	CurrentStatus string
}

// BatchHooks record a StartInstances call's attempts: Before runs before a
// request leaves (an error aborts; nothing is sent), After with its outcome:
// per instance when ECS answered, or the call's error.
type BatchHooks struct {
	Before func(n int) error
	After  func(n int, requestID string, outcomes []InstanceOutcome, err *Error)
}

// Identify finds whose credentials a StartInstances of ids in region would
// sign with — their account, and in a role account the session of ctx (As)
// — and gives it to the caller of As, without calling ECS: a batch's intent
// entries, written before the call, then name them as its outcomes do. The
// assumed role is the one the call reuses (cached per session).
func (c *Client) Identify(ctx context.Context, region string, ids []string) error {
	if c.multi != nil {
		a, err := c.multi.ownerOfAll(ctx, region, ids)
		if err != nil {
			return err
		}
		return a.Identify(ctx, region, ids)
	}
	_, release, _, e := c.sdkAs(ctx, region)
	if e != nil {
		return e
	}
	release()
	return nil
}

// StartInstances starts up to MaxBatch instances of one region with one
// call, each on its own (BatchOptimization=SuccessFirst). It retries as
// StartInstance does (never a call whose fate is unknown) and returns ECS's
// RequestId and an outcome per instance ECS named.
func (c *Client) StartInstances(ctx context.Context, region string, ids []string, h BatchHooks) (string, []InstanceOutcome, error) {
	if len(ids) == 0 || len(ids) > MaxBatch {
		return "", nil, &Error{Kind: KindInvalid, Code: "Dashboard.BatchSize", Summary: fmt.Sprintf("A batch holds 1 to %d instances.", MaxBatch)}
	}
	if c.multi != nil {
		a, err := c.multi.ownerOfAll(ctx, region, ids)
		if err != nil {
			return "", nil, err
		}
		return a.StartInstances(ctx, region, ids, h)
	}
	sdk, release, e := c.sdk(ctx, region)
	if e != nil {
		return "", nil, e
	}
	defer release()
	req := &ecsapi.StartInstancesRequest{RegionId: dara.String(region), BatchOptimization: dara.String("SuccessFirst")}
	for _, id := range ids {
		req.InstanceId = append(req.InstanceId, dara.String(id))
	}
	var requestID string
	var outcomes []InstanceOutcome
	err := c.retry(ctx, func(ctx context.Context, n int) *Error {
		if e := intent(h.Before, n, "The starts were not sent: they could not be recorded in the audit log."); e != nil {
			return e
		}
		began := time.Now()
		resp, err := sdk.StartInstancesWithContext(ctx, req, c.runtime())
		e := c.observe("StartInstances", n, began, fromSDK(err))
		outcomes = outcomes[:0]
		if e == nil {
			if resp == nil || resp.Body == nil || resp.Body.InstanceResponses == nil {
				e = &Error{Kind: KindUnknownOutcome, Code: CodeInvalidResponse, Summary: "ECS's answer to StartInstances could not be read, so what it started is unknown."}
			} else {
				requestID = dara.StringValue(resp.Body.RequestId)
				for _, r := range resp.Body.InstanceResponses.InstanceResponse {
					code := dara.StringValue(r.Code)
					outcomes = append(outcomes, InstanceOutcome{InstanceID: dara.StringValue(r.InstanceId), Started: code == "200",
						Code: code, Message: dara.StringValue(r.Message), CurrentStatus: dara.StringValue(r.CurrentStatus)})
				}
			}
		}
		if h.After != nil {
			rid := requestID
			if e != nil {
				rid = e.RequestID
			}
			h.After(n, rid, outcomes, e)
		}
		return e
	}, func(e *Error) bool { return e.Kind != KindUnknownOutcome || sentNothing(e.Err) })
	if err != nil {
		return "", nil, err
	}
	return requestID, outcomes, nil
}
