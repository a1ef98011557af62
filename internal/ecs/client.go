// Package ecs reaches Alibaba Cloud ECS through the official SDK: listing the
// fleet, checking an instance's state and starting it, with our own timeouts,
// bounded retries and errors in words.
package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/credentials-go/credentials"

	"ecsdash/internal/apperr"
)

// Options configures a Client.
type Options struct {
	Regions    []string
	Endpoint   string // one http(s)://host[:port] for every region; "" for ECS's own
	Credential credentials.Credential
	Timeout    time.Duration // one call's deadline; 10s when zero
	// Retry bounds our own retries (the SDK's are off).
	MaxAttempts int           // 3 when zero
	BaseDelay   time.Duration // 200ms when zero; doubled each attempt, fully jittered
	// Sleep waits between attempts; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Observe, when set, is told of every request: action, ECS's code ("" for
	// success), attempt number and duration.
	Observe func(action, code string, attempt int, d time.Duration)
	// ZoneConcurrency bounds how many zones of one region are listed at
	// once; 4 when zero.
	ZoneConcurrency int
	// Renew builds the credential again from its source (a role, a
	// profile), for when ECS refuses its security token as expired; nil
	// when the credential cannot be renewed.
	Renew func() (credentials.Credential, error)

	// Several accounts (--accounts): each is the Options of one account,
	// and the Client lists them all and sends each call to the account that
	// holds the instance. Empty: the one account of Credential.
	Accounts []Options
	// Account names this account (one of Accounts); AccountID is its UID.
	Account, AccountID string
	// RoleARN, when set, is assumed through STS for every call: under
	// ListingSession for the dashboard's own calls and under the user's
	// session name (As) for starts and dry runs. Credential is then unused.
	RoleARN, ExternalID string
	STS                 *STS
}

// Client talks to ECS in every configured region, one SDK client per region.
type Client struct {
	opts    Options
	regions []string
	byID    map[string]*sync.Pool // of *ecsapi.Client, per region
	zones   sync.Map              // region -> []string: the zones its last listing met
	cred    *renewable
	cfgs    map[string]*openapi.Config // per region, for clients of an assumed role's session
	multi   *accounts                  // set when Options.Accounts is
}

// New builds the per-region SDK clients. It makes no network call.
func New(opts Options) (*Client, error) {
	if len(opts.Accounts) > 0 {
		return newMulti(opts)
	}
	if len(opts.Regions) == 0 {
		return nil, fmt.Errorf("ecs: no regions configured")
	}
	if opts.RoleARN != "" && opts.STS == nil {
		return nil, fmt.Errorf("ecs: account %s: a role needs STS", opts.Account)
	}
	if opts.Credential == nil && opts.RoleARN == "" {
		return nil, fmt.Errorf("ecs: no credentials")
	}
	if opts.Credential == nil {
		opts.Credential = noCredential{} // every call signs with the role's session (sdkAs)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 200 * time.Millisecond
	}
	if opts.ZoneConcurrency <= 0 {
		opts.ZoneConcurrency = 4
	}
	if opts.Sleep == nil {
		opts.Sleep = sleepCtx
	}
	if opts.Observe == nil {
		opts.Observe = func(string, string, int, time.Duration) {}
	}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	var endpoint *url.URL
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("ecs: endpoint %q is not a URL", opts.Endpoint)
		}
		endpoint = u
	}
	regional := endpoint != nil && isLoopback(endpoint.Hostname())
	if regional {
		// A loopback endpoint is the simulator or a tunnel to ECS: each
		// region's requests are addressed to its own regional host name
		// (Host, signature, TLS name), as ECS's regional endpoints expect
		// and as the simulator checks (StartInstance names no region), and
		// every connection goes to the loopback address.
		addr := endpoint.Host
		if endpoint.Port() == "" {
			addr = net.JoinHostPort(endpoint.Hostname(), map[string]string{"https": "443"}[endpoint.Scheme])
		}
		dialer := &net.Dialer{Timeout: 5 * time.Second}
		transport.Proxy = nil
		transport.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}
	}
	httpc := &sdkHTTPClient{c: &http.Client{Transport: transport}}
	c := &Client{opts: opts, byID: map[string]*sync.Pool{}, cred: newRenewable(opts.Credential, opts.Renew), cfgs: map[string]*openapi.Config{}}
	for _, region := range opts.Regions {
		cfg := &openapi.Config{
			RegionId:       dara.String(region),
			Credential:     c.cred,
			ReadTimeout:    dara.Int(int(opts.Timeout / time.Millisecond)),
			ConnectTimeout: dara.Int(5000),
			HttpClient:     httpc,
			UserAgent:      dara.String("ecs-dashboard"),
		}
		switch {
		case regional:
			cfg.Endpoint, cfg.Protocol = dara.String(RegionalHost(region)), dara.String(endpoint.Scheme)
		case endpoint != nil:
			cfg.Endpoint, cfg.Protocol = dara.String(endpoint.Host), dara.String(endpoint.Scheme)
		}
		c.cfgs[region] = cfg
		first, err := ecsapi.NewClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("ecs: client for %s: %w", region, err)
		}
		// An SDK client is not safe for concurrent use: every RPC call
		// writes a field of it (openapi Client.GetRpcHeaders). So each call
		// takes a client of its own from the region's pool; building one is
		// cheap and makes no network call.
		pool := &sync.Pool{New: func() any {
			sdk, err := ecsapi.NewClient(cfg)
			if err != nil {
				return nil // it succeeded once with the same config; see sdk()
			}
			return sdk
		}}
		pool.Put(first)
		c.byID[region] = pool
		c.regions = append(c.regions, region)
	}
	sort.Strings(c.regions)
	return c, nil
}

// RegionalHost is ECS's endpoint host for region.
func RegionalHost(region string) string { return "ecs." + region + ".aliyuncs.com" }

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sdkHTTPClient lets our transport (pooled, with its own timeouts) carry the
// SDK's requests; the SDK's per-call transport argument is ignored.
type sdkHTTPClient struct{ c *http.Client }

func (h *sdkHTTPClient) Call(r *http.Request, _ *http.Transport) (*http.Response, error) {
	resp, err := h.c.Do(r)
	if resp != nil {
		noteRetryAfter(r.Context(), resp.Header.Get("x-acs-retry-after"))
	}
	return resp, err
}

// retryAfterKey carries, in a request's context, where the answer's
// x-acs-retry-after goes: the SDK's error has no headers.
type retryAfterKey struct{}

// withRetryAfter returns a context whose requests note ECS's
// x-acs-retry-after in *d.
func withRetryAfter(ctx context.Context, d *time.Duration) context.Context {
	return context.WithValue(ctx, retryAfterKey{}, d)
}

// noteRetryAfter records v (milliseconds, as ECS's gateway and the aliyun
// CLI read it) where the context asks; a malformed value is ignored.
func noteRetryAfter(ctx context.Context, v string) {
	d, ok := ctx.Value(retryAfterKey{}).(*time.Duration)
	if !ok || v == "" {
		return
	}
	if ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && ms > 0 && ms <= 10*60*1000 {
		*d = time.Duration(ms) * time.Millisecond
	}
}

// Regions lists the configured regions, sorted.
func (c *Client) Regions() []string { return c.regions }

// HasRegion reports whether region is configured.
func (c *Client) HasRegion(region string) bool {
	if c.multi != nil {
		return c.multi.hasRegion(region)
	}
	_, ok := c.byID[region]
	return ok
}

// sdk lends a region's SDK client for one call; release gives it back.
// In a role account it signs with the session of ctx (As), or with
// ListingSession.
func (c *Client) sdk(ctx context.Context, region string) (*ecsapi.Client, func(), *Error) {
	sdk, release, _, e := c.sdkAs(ctx, region)
	return sdk, release, e
}

// sdkAs is sdk, and says whose credentials the client signs with; the
// caller of As learns it too.
func (c *Client) sdkAs(ctx context.Context, region string) (*ecsapi.Client, func(), Identity, *Error) {
	id := Identity{Account: c.opts.Account, AccountID: c.opts.AccountID}
	if c.opts.RoleARN != "" {
		if _, ok := c.byID[region]; !ok {
			_, _, e := c.pooled(region)
			return nil, nil, id, e
		}
		id.SessionName = sessionOf(ctx)
		a, err := c.opts.STS.Assume(ctx, c.opts.RoleARN, c.opts.ExternalID, id.SessionName)
		if err != nil {
			return nil, nil, id, asError(err)
		}
		id.AccessKeyID = a.AccessKeyID
		tell(ctx, id)
		cred, err := a.Credential()
		if err != nil {
			return nil, nil, id, &Error{Kind: KindInternal, Code: "Dashboard.ClientUnavailable", Summary: "The ECS client could not be built.", Err: err}
		}
		cfg := *c.cfgs[region]
		cfg.Credential = cred
		sdk, err := ecsapi.NewClient(&cfg)
		if err != nil {
			return nil, nil, id, &Error{Kind: KindInternal, Code: "Dashboard.ClientUnavailable", Summary: "The ECS client could not be built.", Err: err}
		}
		return sdk, func() {}, id, nil
	}
	if m, err := c.cred.GetCredential(); err == nil && m != nil {
		id.AccessKeyID = dara.StringValue(m.AccessKeyId)
	}
	tell(ctx, id)
	sdk, release, e := c.pooled(region)
	return sdk, release, id, e
}

func (c *Client) pooled(region string) (*ecsapi.Client, func(), *Error) {
	pool, ok := c.byID[region]
	if !ok {
		return nil, nil, &Error{Kind: KindInvalid, Code: CodeUnknownRegion, Summary: fmt.Sprintf("The region %q is not one this dashboard manages.", region),
			SummaryFormat: "The region %q is not one this dashboard manages.", SummaryArgs: []any{region},
			Action: "Pick an instance from the list."}
	}
	sdk, _ := pool.Get().(*ecsapi.Client)
	if sdk == nil {
		return nil, nil, &Error{Kind: KindInternal, Code: "Dashboard.ClientUnavailable", Summary: "The ECS client could not be built."}
	}
	return sdk, func() { pool.Put(sdk) }, nil
}

func (c *Client) runtime() *dara.RuntimeOptions {
	return &dara.RuntimeOptions{ReadTimeout: dara.Int(int(c.opts.Timeout / time.Millisecond))}
}

// Describe looks one instance up fresh. An unknown id is a KindNotFound error.
func (c *Client) Describe(ctx context.Context, region, id string) (Instance, error) {
	if c.multi != nil {
		return c.multi.describe(ctx, region, id)
	}
	sdk, release, e := c.sdk(ctx, region)
	if e != nil {
		return Instance{}, e
	}
	defer release()
	query := map[string]any{"RegionId": region, "InstanceIds": fmt.Sprintf("[%q]", id), "MaxResults": 10}
	var page wireAnswer
	if err := c.retry(ctx, func(ctx context.Context, n int) *Error {
		var e *Error
		page, e = c.describePage(ctx, sdk, n, query)
		return e
	}, func(*Error) bool { return true }); err != nil {
		return Instance{}, err
	}
	for i := range page.Instances.Instance {
		if page.Instances.Instance[i].InstanceId == id {
			return c.fromWire(region, &page.Instances.Instance[i]), nil
		}
	}
	x := explanations["InvalidInstanceId.NotFound"]
	return Instance{}, &Error{Kind: KindNotFound, Code: "InvalidInstanceId.NotFound", Summary: x.summary, Action: x.action,
		RequestID: page.RequestId}
}

// statusPage is the most ids DescribeInstanceStatus answers for at once
// (its PageSize is at most 50).
const statusPage = 50

// Statuses asks ECS for the status of ids in region with
// DescribeInstanceStatus, one call per 50 ids. An id ECS does not know is
// missing from the answer.
func (c *Client) Statuses(ctx context.Context, region string, ids []string) (map[string]string, error) {
	if c.multi != nil {
		return c.multi.statuses(ctx, region, ids)
	}
	sdk, release, e := c.sdk(ctx, region)
	if e != nil {
		return nil, e
	}
	defer release()
	out := make(map[string]string, len(ids))
	for chunk := range slices.Chunk(ids, statusPage) {
		req := &ecsapi.DescribeInstanceStatusRequest{RegionId: dara.String(region), PageSize: dara.Int32(statusPage)}
		for _, id := range chunk {
			req.InstanceId = append(req.InstanceId, dara.String(id))
		}
		err := c.retry(ctx, func(ctx context.Context, n int) *Error {
			began := time.Now()
			resp, err := sdk.DescribeInstanceStatusWithContext(ctx, req, c.runtime())
			if e := c.observe("DescribeInstanceStatus", n, began, fromSDK(err)); e != nil {
				return e
			}
			if resp == nil || resp.Body == nil || resp.Body.InstanceStatuses == nil {
				return &Error{Kind: KindInternal, Code: CodeInvalidResponse, Summary: "ECS's answer to DescribeInstanceStatus could not be read."}
			}
			for _, st := range resp.Body.InstanceStatuses.InstanceStatus {
				out[dara.StringValue(st.InstanceId)] = dara.StringValue(st.Status)
			}
			return nil
		}, func(*Error) bool { return true })
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// describeParams are DescribeInstances' call parameters as the SDK's typed
// method sets them, except that the answer comes back as text: the SDK's
// "json" body type decodes each page into a map and converts it through a
// JSON round trip, the largest part of a refresh's CPU; decoding the text
// once into wireAnswer costs a fraction of that.
var describeParams = &openapi.Params{
	Action: dara.String("DescribeInstances"), Version: dara.String("2014-05-26"), Protocol: dara.String("HTTPS"),
	Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
	ReqBodyType: dara.String("formData"), BodyType: dara.String("string"),
}

// wireAnswer is the part of DescribeInstances' answer the dashboard reads.
type wireAnswer struct {
	RequestId  string
	NextToken  string
	TotalCount int // meaningful only for PageNumber/PageSize paging
	Instances  struct{ Instance []wireInstance }
}

type wireInstance struct {
	InstanceId, InstanceName, InstanceType, InstanceTypeFamily string
	Status, ZoneId, InstanceChargeType, ExpiredTime            string
	OperationLocks                                             struct {
		LockReason []struct{ LockReason, LockMsg string }
	}
	VpcAttributes        struct{ PrivateIpAddress struct{ IpAddress []string } }
	PublicIpAddress      struct{ IpAddress []string }
	EipAddress           struct{ IpAddress string }
	LocalStorageAmount   int
	LocalStorageCapacity int64
	StoppedMode          string
	ResourceGroupId      string
	Tags                 struct {
		Tag []struct{ TagKey, TagValue string }
	}
}

// Advise makes a start's failure advice fit the instance: DiskError's
// remedy of initializing local disks applies only to local-disk families;
// NoStock after economical mode says why the instance needs stock at all.
func Advise(e *Error, inst Instance, localDisk Families) *Error {
	if e != nil && e.Code == "OperationDenied.NoStock" && strings.EqualFold(inst.StoppedMode, ModeStopCharging) {
		adv := *e
		adv.Summary = "The zone has no stock of this instance type right now, and the instance needs it: it was stopped in economical mode, which released its vCPUs and memory."
		return &adv
	}
	if e == nil || e.Code != "DiskError" {
		return e
	}
	adv := *e
	if localDisk.Contains(inst.Family) {
		adv.Action = "If a local disk failed, start again with 'Initialize local disks', which wipes ALL data on this instance's local disks; otherwise check its disks in the console (attaching, detaching or failed)."
	} else {
		adv.ActionFormat = "Check the instance's cloud disks in the console (attaching, detaching or failed) and wait until they settle; %s has no local disks, so initializing them does not apply. If the disks look normal, contact Alibaba Cloud support with the RequestId."
		adv.ActionArgs = []any{inst.Family}
		adv.Action = fmt.Sprintf(adv.ActionFormat, adv.ActionArgs...)
	}
	return &adv
}

// describePage sends one DescribeInstances through the SDK's generic CallApi
// (its signing, transport and errors) and decodes the answer.
func (c *Client) describePage(ctx context.Context, sdk *ecsapi.Client, attempt int, query map[string]any) (wireAnswer, *Error) {
	began := time.Now()
	out, err := sdk.CallApiWithCtx(ctx, describeParams, &openapi.OpenApiRequest{Query: openapi.Query(query)}, c.runtime())
	if e := c.observe("DescribeInstances", attempt, began, fromSDK(err)); e != nil {
		return wireAnswer{}, e
	}
	var ans wireAnswer
	body, ok := out["body"].(string)
	if !ok || json.Unmarshal([]byte(body), &ans) != nil {
		return wireAnswer{}, &Error{Kind: KindInternal, Code: CodeInvalidResponse, Summary: "ECS's answer to DescribeInstances could not be read."}
	}
	return ans, nil
}

// Check is the precondition StartInstance has, decided fresh against ECS
// before anything is sent: the instance must be Stopped, carry no security
// lock, not be expired or locked for billing, and InitLocalDisk needs a
// local-disk family.
func Check(inst Instance, initLocalDisk bool, localDisk Families, now time.Time) *Error {
	switch {
	case inst.SecurityLocked():
		x := explanations["InstanceLockedForSecurity"]
		return &Error{Kind: KindPrecondition, Code: CodeSecurityLocked, Summary: x.summary, Action: x.action}
	case inst.Expired(now):
		const why = "%s, so ECS will not start it (it answers InstanceExpired)."
		return &Error{Kind: KindPrecondition, Code: CodeExpired,
			Summary: fmt.Sprintf(why, inst.ExpiryWords()), SummaryFormat: why, SummaryArgs: []any{inst.ExpiryWords()},
			Action: "Renew the subscription or settle the account's overdue payment, then start it again."}
	case inst.Status != StatusStopped:
		return &Error{Kind: KindPrecondition, Code: CodeNotStopped,
			Summary:       fmt.Sprintf("The instance is %s, not Stopped, so it cannot be started now.", inst.Status),
			SummaryFormat: "The instance is %s, not Stopped, so it cannot be started now.", SummaryArgs: []any{apperr.Word(inst.Status)},
			Action: "Wait until it shows Stopped, then start it."}
	case initLocalDisk:
		return NoLocalDisk(inst, localDisk)
	}
	return nil
}

// NoLocalDisk refuses InitLocalDisk for an instance outside the local-disk
// families (nil when it is in one).
func NoLocalDisk(inst Instance, localDisk Families) *Error {
	if localDisk.Contains(inst.Family) {
		return nil
	}
	return &Error{Kind: KindInvalid, Code: CodeNoLocalDisk,
		Summary:       fmt.Sprintf("Initializing local disks applies only to the local-disk families (%s); this instance is %s.", strings.Join(localDisk, ", "), inst.Family),
		SummaryFormat: "Initializing local disks applies only to the local-disk families (%s); this instance is %s.", SummaryArgs: []any{strings.Join(localDisk, ", "), inst.Family},
		Action: "Start it without initializing local disks."}
}

// Attempt is one StartInstance request and what came of it.
type Attempt struct {
	N         int
	RequestID string
	Err       *Error // nil when ECS accepted the start
	Duration  time.Duration
}

// Hooks let the caller record each attempt: Before runs before a request
// leaves the process (an error aborts and nothing is sent); After runs with
// its outcome.
type Hooks struct {
	Before func(n int) error
	After  func(a Attempt)
}

// intent runs a start's Before hook for attempt n (nil: none): when it
// fails, nothing may be sent, and the error says so in words.
func intent(before func(int) error, n int, words string) *Error {
	if before == nil {
		return nil
	}
	if err := before(n); err != nil {
		return notRecorded(words, err)
	}
	return nil
}

// StartInstance sends StartInstance, retrying throttling, ECS's internal
// errors and failed connections (never a request whose fate is unknown), at
// most MaxAttempts times inside ctx's deadline. It returns ECS's RequestId.
func (c *Client) StartInstance(ctx context.Context, region, id string, initLocalDisk bool, h Hooks) (string, error) {
	if c.multi != nil {
		a, err := c.multi.owner(ctx, region, id)
		if err != nil {
			return "", err
		}
		return a.StartInstance(ctx, region, id, initLocalDisk, h)
	}
	sdk, release, e := c.sdk(ctx, region)
	if e != nil {
		return "", e
	}
	defer release()
	req := &ecsapi.StartInstanceRequest{InstanceId: dara.String(id)}
	if initLocalDisk {
		req.InitLocalDisk = dara.Bool(true)
	}
	var requestID string
	err := c.retry(ctx, func(ctx context.Context, n int) *Error {
		if e := intent(h.Before, n, "The start was not sent: it could not be recorded in the audit log."); e != nil {
			return e
		}
		began := time.Now()
		resp, err := sdk.StartInstanceWithContext(ctx, req, c.runtime())
		e := c.observe("StartInstance", n, began, fromSDK(err))
		a := Attempt{N: n, Err: e, Duration: time.Since(began)}
		if e == nil {
			if resp != nil && resp.Body != nil {
				requestID = dara.StringValue(resp.Body.RequestId)
			}
			a.RequestID = requestID
		} else {
			a.RequestID = e.RequestID
		}
		if h.After != nil {
			h.After(a)
		}
		return e
	}, func(e *Error) bool { return e.Kind != KindUnknownOutcome || sentNothing(e.Err) })
	if err != nil {
		return "", err
	}
	return requestID, nil
}

// notRecorded is the error of a call that was not sent because its intent
// could not be recorded.
func notRecorded(summary string, err error) *Error {
	return &Error{Kind: KindInternal, Code: CodeAuditFailed, Summary: summary,
		Action: "Try again; if it persists, the dashboard's database needs attention.", Err: err}
}

// retry runs call until it succeeds, fails for good, the attempts run out or
// the next backoff would not fit in ctx's deadline. safe says whether a
// retryable-looking failure may be retried for this call.
func (c *Client) retry(ctx context.Context, call func(ctx context.Context, n int) *Error, safe func(*Error) bool) error {
	renewed := false
	for n := 1; ; n++ {
		var after time.Duration
		cctx, cancel := context.WithTimeout(withRetryAfter(ctx, &after), c.opts.Timeout)
		e := call(cctx, n)
		cancel()
		if e == nil {
			return nil
		}
		// ECS refused the security token as expired, so nothing was done:
		// renew the credential from its source and try once more at once.
		if e.Code == "InvalidSecurityToken.Expired" && !renewed && n < c.opts.MaxAttempts && c.cred.renew() {
			renewed = true
			continue
		}
		retryable := e.Retryable() || (e.Kind == KindUnknownOutcome && sentNothing(e.Err))
		if !retryable || !safe(e) || n >= c.opts.MaxAttempts || ctx.Err() != nil {
			return e
		}
		backoff := c.opts.BaseDelay << (n - 1)
		delay := time.Duration(rand.Int64N(int64(backoff)) + 1)
		if e.Kind == KindThrottled {
			// ECS's gateway said how long to wait: not sooner (the CLI waits too).
			delay = max(delay, after)
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < delay+c.opts.Timeout/10 {
			return e
		}
		if err := c.opts.Sleep(ctx, delay); err != nil {
			return e
		}
	}
}

// observe reports one request to Options.Observe and passes its error on.
func (c *Client) observe(action string, attempt int, began time.Time, e *Error) *Error {
	code := ""
	if e != nil {
		code = e.Code
	}
	c.opts.Observe(action, code, attempt, time.Since(began))
	return e
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fromWire is the package's fromWire, with the client's account.
func (c *Client) fromWire(region string, w *wireInstance) Instance {
	in := fromWire(region, w)
	in.Account = c.opts.Account
	return in
}

// fromWire makes an Instance of one instance of DescribeInstances' answer.
func fromWire(region string, w *wireInstance) Instance {
	inst := Instance{
		ID:                   w.InstanceId,
		Name:                 w.InstanceName,
		Type:                 w.InstanceType,
		Family:               strings.ToLower(w.InstanceTypeFamily),
		Status:               w.Status,
		Region:               region,
		Zone:                 w.ZoneId,
		ChargeType:           w.InstanceChargeType,
		LocalStorageAmount:   w.LocalStorageAmount,
		LocalStorageCapacity: w.LocalStorageCapacity,
		PrivateIPs:           nonEmpty(w.VpcAttributes.PrivateIpAddress.IpAddress),
		PublicIPs:            nonEmpty(w.PublicIpAddress.IpAddress),
		StoppedMode:          w.StoppedMode,
		ResourceGroupID:      w.ResourceGroupId,
	}
	for _, t := range w.Tags.Tag {
		if inst.Tags == nil {
			inst.Tags = make(map[string]string, len(w.Tags.Tag))
		}
		inst.Tags[t.TagKey] = t.TagValue
	}
	if inst.Family == "" {
		inst.Family = FamilyOf(inst.Type)
	}
	// Only a subscription expires: ECS sends pay-as-you-go instances a
	// placeholder (2099-12-31T15:59Z), not an expiry.
	if t, err := time.Parse("2006-01-02T15:04Z", w.ExpiredTime); err == nil && strings.EqualFold(w.InstanceChargeType, "PrePaid") && t.Year() < 2099 {
		inst.ExpiredTime = t
	}
	for _, l := range w.OperationLocks.LockReason {
		if r := strings.ToLower(l.LockReason); r != "" {
			inst.LockReasons = append(inst.LockReasons, r)
		}
		if l.LockMsg != "" {
			inst.LockNotes = append(inst.LockNotes, l.LockMsg)
		}
	}
	if w.EipAddress.IpAddress != "" {
		inst.PublicIPs = append(inst.PublicIPs, w.EipAddress.IpAddress)
	}
	return inst
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// DiscoverRegions asks ECS which regions the account can use (DescribeRegions
// against cn-hangzhou, or opts.Endpoint), for when none are configured.
func DiscoverRegions(ctx context.Context, opts Options) ([]string, error) {
	opts.Regions = []string{"cn-hangzhou"}
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	sdk, release, e := c.sdk(ctx, "cn-hangzhou")
	if e != nil {
		return nil, e
	}
	defer release()
	var regions []string
	err = c.retry(ctx, func(ctx context.Context, n int) *Error {
		began := time.Now()
		resp, err := sdk.DescribeRegionsWithContext(ctx, &ecsapi.DescribeRegionsRequest{}, c.runtime())
		if e := c.observe("DescribeRegions", n, began, fromSDK(err)); e != nil {
			return e
		}
		regions = regions[:0]
		if resp != nil && resp.Body != nil && resp.Body.Regions != nil {
			for _, r := range resp.Body.Regions.Region {
				if id := dara.StringValue(r.RegionId); id != "" {
					regions = append(regions, id)
				}
			}
		}
		return nil
	}, func(*Error) bool { return true })
	if err != nil {
		return nil, err
	}
	if len(regions) == 0 {
		return nil, &Error{Kind: KindForbidden, Code: "Dashboard.NoRegions", Summary: "ECS listed no regions for these credentials.",
			Action: "Give the dashboard --regions, or allow its RAM identity ecs:DescribeRegions."}
	}
	sort.Strings(regions)
	return regions, nil
}
