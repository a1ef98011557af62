package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	openapiclient "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/aliyun/credentials-go/credentials"
	"golang.org/x/sync/singleflight"
)

// DefaultSTSEndpoint is where AssumeRole is asked unless --sts-endpoint says otherwise.
const DefaultSTSEndpoint = "https://sts.aliyuncs.com"

// Assumed are temporary credentials of a role session.
type Assumed struct {
	AccessKeyID, AccessKeySecret, SecurityToken string
	Expires                                     time.Time
}

// STSOptions configure an STS.
type STSOptions struct {
	Endpoint   string // http(s)://host[:port]; DefaultSTSEndpoint when ""
	Credential credentials.Credential
	Timeout    time.Duration // one AssumeRole's deadline; 10s when zero
	Duration   time.Duration // the sessions' lifetime asked for; 1h when zero (STS allows 900 s to the role's maximum)
	Now        func() time.Time
}

// STS assumes RAM roles through the OpenAPI client, where the endpoint's
// scheme can be chosen (credentials-go's RAM-role provider always uses
// https). Credentials are cached per (role, session name) and asked for
// again only shortly before they expire; concurrent first calls share one
// AssumeRole.
type STS struct {
	opts     STSOptions
	endpoint *url.URL
	sf       singleflight.Group
	mu       sync.Mutex
	cache    map[string]Assumed
	calls    atomic.Int64
}

// NewSTS checks the endpoint (https, or http only to a loopback address).
func NewSTS(opts STSOptions) (*STS, error) {
	if opts.Endpoint == "" {
		opts.Endpoint = DefaultSTSEndpoint
	}
	u, err := url.Parse(opts.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("sts endpoint %q is not an http(s)://host[:port] URL", opts.Endpoint)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("sts endpoint %q: plain http is allowed only to a loopback address (the simulator, tests); use https", opts.Endpoint)
	}
	if opts.Credential == nil {
		return nil, fmt.Errorf("sts: no base credentials to assume roles with")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Duration <= 0 {
		opts.Duration = time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &STS{opts: opts, endpoint: u, cache: map[string]Assumed{}}, nil
}

// Calls is how many AssumeRole requests were sent.
func (s *STS) Calls() int64 { return s.calls.Load() }

// renewBefore is how long before its expiry a session is assumed again.
func (s *STS) renewBefore() time.Duration { return s.opts.Duration / 5 }

// Assume returns the credentials of roleARN's session, from the cache
// while they have more than a fifth of their lifetime left.
func (s *STS) Assume(ctx context.Context, roleARN, externalID, session string) (Assumed, error) {
	key := roleARN + "\x00" + externalID + "\x00" + session
	s.mu.Lock()
	a, ok := s.cache[key]
	s.mu.Unlock()
	if ok && s.opts.Now().Add(s.renewBefore()).Before(a.Expires) {
		return a, nil
	}
	ch := s.sf.DoChan(key, func() (any, error) {
		// Detached from one caller: others wait for the same answer.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		a, err := s.assumeRole(cctx, roleARN, externalID, session)
		if err != nil {
			return Assumed{}, err
		}
		s.mu.Lock()
		s.cache[key] = a
		s.mu.Unlock()
		return a, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return Assumed{}, r.Err
		}
		return r.Val.(Assumed), nil
	case <-ctx.Done():
		return Assumed{}, ctx.Err()
	}
}

var assumeRoleParams = &openapi.Params{
	Action: dara.String("AssumeRole"), Version: dara.String("2015-04-01"), Protocol: dara.String("HTTPS"),
	Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
	ReqBodyType: dara.String("formData"), BodyType: dara.String("string"),
}

func (s *STS) assumeRole(ctx context.Context, roleARN, externalID, session string) (Assumed, error) {
	cfg := &openapi.Config{
		Credential:  s.opts.Credential,
		Endpoint:    dara.String(s.endpoint.Host),
		Protocol:    dara.String(s.endpoint.Scheme),
		ReadTimeout: dara.Int(int(s.opts.Timeout / time.Millisecond)),
		UserAgent:   dara.String("ecs-dashboard"),
	}
	client, err := openapiclient.NewClient(cfg)
	if err != nil {
		return Assumed{}, fmt.Errorf("sts client: %w", err)
	}
	query := map[string]*string{
		"RoleArn":         dara.String(roleARN),
		"RoleSessionName": dara.String(session),
		"DurationSeconds": dara.String(fmt.Sprint(int(s.opts.Duration / time.Second))),
	}
	if externalID != "" {
		query["ExternalId"] = dara.String(externalID)
	}
	s.calls.Add(1)
	out, err := client.CallApiWithCtx(ctx, assumeRoleParams, &openapi.OpenApiRequest{Query: query},
		&dara.RuntimeOptions{ReadTimeout: dara.Int(int(s.opts.Timeout / time.Millisecond))})
	if e := fromSDK(err); e != nil {
		return Assumed{}, assumeError(roleARN, e)
	}
	var ans struct {
		Credentials struct{ AccessKeyId, AccessKeySecret, SecurityToken, Expiration string }
	}
	body, _ := out["body"].(string)
	if json.Unmarshal([]byte(body), &ans) != nil || ans.Credentials.AccessKeyId == "" || ans.Credentials.SecurityToken == "" {
		return Assumed{}, &Error{Kind: KindInternal, Code: CodeInvalidResponse, Summary: "STS's answer to AssumeRole could not be read."}
	}
	exp, err := time.Parse(time.RFC3339, ans.Credentials.Expiration)
	if err != nil {
		return Assumed{}, &Error{Kind: KindInternal, Code: CodeInvalidResponse, Summary: "STS's answer to AssumeRole has no readable expiry."}
	}
	return Assumed{AccessKeyID: ans.Credentials.AccessKeyId, AccessKeySecret: ans.Credentials.AccessKeySecret,
		SecurityToken: ans.Credentials.SecurityToken, Expires: exp}, nil
}

// assumeError says in words why a role could not be assumed.
func assumeError(roleARN string, e *Error) *Error {
	out := *e
	switch e.Kind {
	case KindUnknownOutcome:
		out.Kind, out.Summary = KindUnavailable, "STS did not answer AssumeRole for "+roleARN+" (timeout or network failure)."
		out.Action = "Check --sts-endpoint and the network; the dashboard tries again on the next call."
	default:
		out.Kind = KindAuth
		out.Summary = fmt.Sprintf("STS refused to let the dashboard assume the role %s (%s: %s).", roleARN, e.Code, e.Message)
		out.Action = "Check that the role exists, that its trust policy names the dashboard's RAM identity (and the external_id, if it requires one), and that the dashboard's identity may call sts:AssumeRole."
	}
	return &out
}

// Credential makes assumed credentials a credential for the SDK.
func (a Assumed) Credential() (credentials.Credential, error) {
	return stsCredential(a.AccessKeyID, a.AccessKeySecret, a.SecurityToken)
}
