package ecssim

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cloud is several simulated Alibaba Cloud accounts behind one endpoint,
// each with its own fleet and AccessKey pair, and STS AssumeRole
// (version 2015-04-01) to reach one account's roles with another's keys.
// A call is answered by the account its AccessKey belongs to, after the
// signature is checked as ECS and STS check it.
type Cloud struct {
	now         func() time.Time
	assumeCalls atomic.Int64

	mu       sync.Mutex
	accounts []*Account
	byKey    map[string]*Account // AccessKey id (own or STS) -> its account
	sessions map[string]string   // STS AccessKey id -> RoleSessionName
	refused  map[string]bool     // role ARNs whose trust policy refuses the caller
	external map[string]string   // role ARN -> the ExternalId its trust policy requires
	signed   []Signed
	assumed  []string // RoleSessionName of every AssumeRole answered
	issued   []string // the secret and the token of every session, for tests that look for them where they must not be
}

// Account is one simulated account.
type Account struct {
	Name, UID        string
	KeyID, KeySecret string
	Sim              *Server
}

// Signed is one StartInstance or StartInstances call as the cloud saw it:
// which account, with which AccessKey, under which role session.
type Signed struct {
	Account, Action, AccessKeyID, Session string
	DryRun                                bool
}

// NewCloud is a cloud with no accounts yet; now is its clock (nil: time.Now).
func NewCloud(now func() time.Time) *Cloud {
	if now == nil {
		now = time.Now
	}
	return &Cloud{now: now, byKey: map[string]*Account{}, sessions: map[string]string{}, refused: map[string]bool{}, external: map[string]string{}}
}

// AddAccount adds an account whose fleet is New(opts) and whose AccessKey
// pair is id and secret (made up when empty). The first account added also
// answers to the demo key.
func (c *Cloud) AddAccount(name, uid, id, secret string, opts Options) *Account {
	if opts.Now == nil {
		opts.Now = c.now
	}
	if id == "" {
		id, secret = "LTAI5t"+randomText(18), randomText(30)
	}
	a := &Account{Name: name, UID: uid, KeyID: id, KeySecret: secret, Sim: New(opts)}
	a.Sim.credMu.Lock()
	a.Sim.credentials[id] = secret
	a.Sim.credMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.accounts) == 0 {
		c.byKey[DemoAccessKeyID] = a
	}
	c.accounts = append(c.accounts, a)
	c.byKey[id] = a
	return a
}

// RoleARN is the ARN of the account's role name.
func (a *Account) RoleARN(role string) string { return "acs:ram::" + a.UID + ":role/" + role }

// RefuseRole makes STS refuse AssumeRole of arn (its trust policy does not
// name the caller).
func (c *Cloud) RefuseRole(arn string) {
	c.mu.Lock()
	c.refused[arn] = true
	c.mu.Unlock()
}

// RequireExternalID makes AssumeRole of arn need ExternalId id.
func (c *Cloud) RequireExternalID(arn, id string) {
	c.mu.Lock()
	c.external[arn] = id
	c.mu.Unlock()
}

// AssumeRoleCalls is how many AssumeRole requests arrived.
func (c *Cloud) AssumeRoleCalls() int64 { return c.assumeCalls.Load() }

// AssumedSessions lists the RoleSessionName of every role assumed, in order.
func (c *Cloud) AssumedSessions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.assumed...)
}

// signedKept bounds what Signed remembers: tests make far fewer calls, and
// a simulator left running must not grow without end.
const signedKept = 10_000

// Signed lists the StartInstance and StartInstances calls, in order: every
// one, up to signedKept; past it, at least the newest signedKept/2.
func (c *Cloud) Signed() []Signed {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Signed(nil), c.signed...)
}

// IssuedSecrets lists the AccessKey secret and the security token of every
// session STS issued.
func (c *Cloud) IssuedSecrets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.issued...)
}

// SessionOf is the RoleSessionName an STS AccessKey id was issued for.
func (c *Cloud) SessionOf(accessKeyID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessions[accessKeyID]
}

// ServeHTTP routes a call to the account of its AccessKey.
func (c *Cloud) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "the request body could not be read", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	q := r.URL.Query()
	if strings.Contains(r.Header.Get("content-type"), "x-www-form-urlencoded") {
		if form, err := parseForm(body); err == nil {
			for k, v := range form {
				q[k] = append(q[k], v...)
			}
		}
	}
	ak, action := q.Get("AccessKeyId"), q.Get("Action")
	if auth := r.Header.Get("Authorization"); auth != "" {
		action = r.Header.Get("x-acs-action")
		for _, part := range strings.Split(strings.TrimPrefix(auth, "ACS3-HMAC-SHA256 "), ",") {
			if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && k == "Credential" {
				ak = v
			}
		}
	}
	c.mu.Lock()
	a := c.byKey[ak]
	if a == nil && len(c.accounts) > 0 {
		a = c.accounts[0] // its own check names the unknown key
	}
	if a != nil && (action == "StartInstance" || action == "StartInstances") {
		if len(c.signed) >= signedKept { // a long-running `web simulator`: the newest half stays
			c.signed = append(c.signed[:0], c.signed[signedKept/2:]...)
		}
		c.signed = append(c.signed, Signed{Account: a.Name, Action: action, AccessKeyID: ak, Session: c.sessions[ak], DryRun: q.Get("DryRun") == "true"})
	}
	c.mu.Unlock()
	if a == nil {
		http.Error(w, "the simulated cloud has no accounts", http.StatusServiceUnavailable)
		return
	}
	if action == "AssumeRole" {
		c.assumeRole(w, r, body, q, a)
		return
	}
	a.Sim.ServeHTTP(w, r)
}

var (
	simRoleARN     = regexp.MustCompile(`^acs:ram::([0-9]+):role/([A-Za-z0-9.@_-]{1,64})$`)
	simSessionName = regexp.MustCompile(`^[A-Za-z0-9.@_-]{2,64}$`)
)

// assumeRole answers STS AssumeRole, signed with caller's keys.
func (c *Cloud) assumeRole(w http.ResponseWriter, r *http.Request, body []byte, q url.Values, caller *Account) {
	c.assumeCalls.Add(1)
	s := caller.Sim
	v3 := !(r.Header.Get("Authorization") == "" && q.Has("Signature"))
	if !s.authenticate(w, r, body, q, v3, "STS", "2015-04-01") {
		return
	}
	arn, session := q.Get("RoleArn"), q.Get("RoleSessionName")
	m := simRoleARN.FindStringSubmatch(arn)
	switch {
	case arn == "":
		s.fail(w, 400, "MissingRoleArn", "RoleArn is mandatory for this action.")
		return
	case m == nil:
		s.fail(w, 400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
		return
	case session == "":
		s.fail(w, 400, "MissingRoleSessionName", "RoleSessionName is mandatory for this action.")
		return
	case !simSessionName.MatchString(session):
		s.fail(w, 400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed: 2 to 64 letters, digits and .@-_.")
		return
	}
	ttl := time.Hour
	if d := q.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 || n > 3600 {
			s.fail(w, 400, "InvalidParameter.DurationSeconds", "The parameter DurationSeconds must be from 900 to the role's maximum session duration (3600).")
			return
		}
		ttl = time.Duration(n) * time.Second
	}
	c.mu.Lock()
	var target *Account
	for _, a := range c.accounts {
		if a.UID == m[1] {
			target = a
		}
	}
	refused, ext, wantExt := c.refused[arn], c.external[arn], c.external[arn] != ""
	c.mu.Unlock()
	switch {
	case target == nil:
		s.fail(w, 404, "EntityNotExist.Role", "The role not exists: "+arn+".")
		return
	case refused || (wantExt && q.Get("ExternalId") != ext):
		s.fail(w, 403, "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.")
		return
	}
	id, secret, token := target.Sim.IssueSTS(ttl)
	c.mu.Lock()
	c.byKey[id], c.sessions[id] = target, session
	c.assumed = append(c.assumed, session)
	c.issued = append(c.issued, secret, token)
	c.mu.Unlock()
	s.reply(w, 200, map[string]any{
		"AssumedRoleUser": map[string]any{"AssumedRoleId": "3" + target.UID[:min(len(target.UID), 8)] + ":" + session, "Arn": arn + "/" + session},
		"Credentials": map[string]any{"AccessKeyId": id, "AccessKeySecret": secret, "SecurityToken": token,
			"Expiration": target.Sim.now().Add(ttl).UTC().Format("2006-01-02T15:04:05Z")},
	})
}

// The demo's two accounts (demo mode, and `web simulator`): their UIDs,
// the role the dashboard assumes in prod, and staging's own key pair,
// public like the demo key: they unlock nothing anywhere else.
const (
	DemoProdUID                = "1234567890123456"
	DemoStagingUID             = "6543210987654321"
	DemoRole                   = "ecs-dashboard"
	DemoStagingAccessKeyID     = "LTAI5tDemoStagingKey"
	DemoStagingAccessKeySecret = "demo-staging-secret-not-a-real-key"
)

// NewDemoCloud is the demo's two accounts, as a Resource Directory would
// have them: prod, the fleet of opts, which answers to the demo key (its
// role DemoRole is assumed with it), and staging, a few staging-…
// instances in the first region, with keys of its own.
func NewDemoCloud(opts Options) (c *Cloud, prod, staging *Account) {
	c = NewCloud(opts.Now)
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	prod = c.AddAccount("prod", DemoProdUID, "", "", opts)
	first := prod.Sim.Regions()[:1]
	staging = c.AddAccount("staging", DemoStagingUID, DemoStagingAccessKeyID, DemoStagingAccessKeySecret,
		Options{Regions: first, Staging: true, Seed: opts.Seed + 1, Now: opts.Now, StartDelay: opts.StartDelay})
	return c, prod, staging
}
