// Package ecssim is an ECS simulator that speaks ECS's RPC wire protocol
// (V3 signatures, JSON bodies, documented error codes and statuses), so the
// official SDK talks to it exactly as to Alibaba Cloud. The demo mode runs it
// on a loopback port; the tests use it as a strict fake.
package ecssim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Demo credentials: the simulator accepts only these; they unlock nothing
// anywhere else.
const (
	DemoAccessKeyID     = "LTAI5tDemoSimulatedKey"
	DemoAccessKeySecret = "demo-simulator-secret-not-a-real-key"
)

// Options shapes a simulator.
type Options struct {
	Regions    []string      // default: cn-hangzhou, cn-shanghai, ap-southeast-1
	Instances  int           // 0: the seeded demo fleet of about 60; more: a generated fleet of this size
	Zones      int           // zones per region, instances spread evenly over them; default 3
	StartDelay time.Duration // Starting -> Running; default 4s
	Latency    time.Duration // added to every answer
	RateLimit  int           // calls per second before Throttling.User; 0: no limit
	// RetryAfter is sent as x-acs-retry-after (milliseconds) with every
	// throttled answer, as ECS's gateway may; 0: not sent.
	RetryAfter time.Duration
	// RandomFaults injects codes into StartInstance at these rates (0..1),
	// e.g. {"InternalError": 0.05, "Throttling.User": 0.05}.
	RandomFaults map[string]float64
	Seed         uint64
	Now          func() time.Time
	// Staging seeds, instead of the demo fleet, a staging account's few
	// instances (staging-…, env=staging) in each region: the demo's second
	// account.
	Staging bool
}

// Server is the simulator; it is an http.Handler.
type Server struct {
	opts        Options
	now         func() time.Time
	credMu      sync.RWMutex
	credentials map[string]string   // AccessKey id -> secret
	tokens      map[string]stsToken // security token -> what it was issued for

	nonceMu     sync.Mutex
	nonces      map[string]time.Time
	noncePurged time.Time

	mu        sync.Mutex
	regions   []string
	instances map[string]*instance   // by id
	order     []string               // ids in a stable order
	byRegion  map[string][]string    // ids per region, in the same order
	indexes   map[string]*matchIndex // DescribeInstances' listings by filter (paging.go)
	retired   map[string]bool        // zones DescribeZones no longer lists (their instances remain)
	faults    map[string]*fault      // StartInstance faults by instance id
	rng       *mrand.Rand

	rateMu     sync.Mutex
	rateWindow time.Time
	rateCount  int

	calls sync.Map // action -> *atomic.Int64

	outage atomic.Value // string: a code every call answers, "" for none

	issuedMu sync.Mutex
	issued   []string // RequestIds of every StartInstance answer
}

type instance struct {
	ID, Name, Type, Family, Region, Zone, ChargeType, ExpiredTime string
	status                                                        string
	startedAt                                                     time.Time
	Locks                                                         []lock
	PrivateIP, PublicIP, EIP, VpcID, StartTime                    string
	LocalStorageAmount                                            int
	LocalStorageCapacity                                          int64
	Tags                                                          map[string]string
	Cpu, Memory                                                   int // vCPUs and MiB, the type's
	StoppedMode                                                   string
	ResourceGroupID, KeyPairName                                  string
	CreationTime                                                  string
	starts                                                        int
	initLocalDisk                                                 int
}

type lock struct{ reason, msg string }

type fault struct {
	code  string
	times int // how many more StartInstance calls it answers; <0: forever
}

// New builds a simulator with its seeded fleet.
func New(opts Options) *Server {
	if len(opts.Regions) == 0 {
		opts.Regions = []string{"cn-hangzhou", "cn-shanghai", "ap-southeast-1"}
	}
	if opts.Zones <= 0 {
		opts.Zones = 3
	}
	if opts.StartDelay == 0 {
		opts.StartDelay = 4 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:        opts,
		now:         opts.Now,
		credentials: map[string]string{DemoAccessKeyID: DemoAccessKeySecret},
		tokens:      map[string]stsToken{},
		nonces:      map[string]time.Time{},
		regions:     opts.Regions,
		instances:   map[string]*instance{},
		byRegion:    map[string][]string{},
		retired:     map[string]bool{},
		faults:      map[string]*fault{},
		rng:         mrand.New(mrand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
	}
	switch {
	case opts.Instances > 0:
		s.seedScale(opts.Instances)
	case opts.Staging:
		s.seedStaging()
	default:
		s.seedDemo()
	}
	return s
}

// Regions lists the simulated regions.
func (s *Server) Regions() []string { return append([]string(nil), s.regions...) }

// Calls reports how many requests of action were answered (any outcome).
func (s *Server) Calls(action string) int64 {
	if v, ok := s.calls.Load(action); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// SetOutage makes every call answer code (a documented error code), as during an
// ECS outage; "" ends it.
func (s *Server) SetOutage(code string) error {
	if _, ok := faultTable[code]; code != "" && !ok {
		return fmt.Errorf("ecssim: no such fault code %q", code)
	}
	s.outage.Store(code)
	return nil
}

// IssuedStartRequestIDs lists the RequestId of every StartInstance answer
// the simulator gave (success or error), in order.
func (s *Server) IssuedStartRequestIDs() []string {
	s.issuedMu.Lock()
	defer s.issuedMu.Unlock()
	return append([]string(nil), s.issued...)
}

// InjectFault makes the next `times` StartInstance calls for id answer code
// (times < 0: every call).
func (s *Server) InjectFault(id, code string, times int) error {
	if _, ok := faultTable[code]; !ok {
		return fmt.Errorf("ecssim: no such fault code %q", code)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[id] = &fault{code: code, times: times}
	return nil
}

// Fault names the error the next StartInstance of id will answer, or ""
// when it will be started (the demo fleet's failing instances, for tests).
func (s *Server) Fault(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.faults[id]; f != nil && f.times != 0 {
		return f.code
	}
	return ""
}

// SetStatus forces an instance's status (tests and demos).
func (s *Server) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[id]; ok {
		in.status, in.startedAt = status, time.Time{}
	}
}

// SetTags replaces an instance's tags and, when group is not "", moves it
// to that resource group: a team's machine handed to another team.
func (s *Server) SetTags(id string, tags map[string]string, group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[id]; ok {
		in.Tags = maps.Clone(tags)
		if group != "" {
			in.ResourceGroupID = group
		}
	}
}

// Add creates a Stopped or Running instance in region (its zone taken in
// turn, like the seeded ones) and returns its id: instances that appear
// while a dashboard lists the region.
func (s *Server) Add(region, name, typ, status string) (string, error) {
	if !slices.Contains(s.regions, region) {
		return "", fmt.Errorf("ecssim: no region %q", region)
	}
	if len(strings.Split(typ, ".")) < 2 {
		return "", fmt.Errorf("ecssim: instance type %q is not ecs.FAMILY.SIZE", typ)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(region, name, typ, status).ID, nil
}

// InstanceIDs lists region's instance ids, oldest first.
func (s *Server) InstanceIDs(region string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.byRegion[region])
}

// RetireZone makes DescribeZones stop listing zone, as ECS does for a zone
// that sells nothing more; its instances are still there and still listed by
// DescribeInstances, with or without the zone as a filter.
func (s *Server) RetireZone(zone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retired[zone] = true
}

// Starts reports how many StartInstance calls ECS accepted for id, and how
// many of them initialised local disks.
func (s *Server) Starts(id string) (starts, initLocalDisk int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[id]; ok {
		return in.starts, in.initLocalDisk
	}
	return 0, 0
}

// Status reports an instance's current status ("" if unknown).
func (s *Server) Status(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.instances[id]; ok {
		return s.statusOf(in)
	}
	return ""
}

// statusOf advances Starting to Running once the start delay has passed. s.mu is held.
func (s *Server) statusOf(in *instance) string {
	if in.status == "Starting" && s.now().Sub(in.startedAt) >= s.opts.StartDelay {
		in.status = "Running"
	}
	return in.status
}

// ServeHTTP answers one RPC call, signed either way ECS accepts: the V3
// signature (ACS3-HMAC-SHA256 in the Authorization header, as the current
// SDKs sign) or the RPC signature (HMAC-SHA1 in the Signature parameter, as
// the legacy SDK, the aliyun CLI and Terraform sign).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Latency > 0 {
		// Not cut short when the caller goes away: like ECS, a request that
		// arrived is carried out whether or not anyone hears the answer.
		time.Sleep(s.opts.Latency)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.fail(w, 400, "InvalidParameter", "The request body could not be read.")
		return
	}
	q := r.URL.Query()
	if strings.Contains(r.Header.Get("content-type"), "x-www-form-urlencoded") {
		if form, err := parseForm(body); err == nil {
			for k, v := range form {
				q[k] = append(q[k], v...)
			}
		}
	}
	// An RPC-signed request carries its signature as a parameter and no
	// Authorization header (it may carry x-acs-* headers all the same).
	v3 := !(r.Header.Get("Authorization") == "" && q.Has("Signature"))
	action := r.Header.Get("x-acs-action")
	if !v3 {
		action = q.Get("Action")
	}
	counter, _ := s.calls.LoadOrStore(action, new(atomic.Int64))
	counter.(*atomic.Int64).Add(1)
	if action == "StartInstance" || action == "StartInstances" {
		defer func() {
			if id := w.Header().Get("x-acs-request-id"); id != "" {
				s.issuedMu.Lock()
				s.issued = append(s.issued, id)
				s.issuedMu.Unlock()
			}
		}()
	}

	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		s.fail(w, 405, "UnsupportedHTTPMethod", "The HTTP method is not supported.")
		return
	}
	if !s.authenticate(w, r, body, q, v3, "ECS", "2014-05-26") {
		return
	}
	if !s.allow() {
		s.fail(w, 400, "Throttling.User", "Request was denied due to user flow control.")
		return
	}
	if code, _ := s.outage.Load().(string); code != "" {
		s.failCode(w, code)
		return
	}
	switch action {
	case "DescribeInstances":
		s.describeInstances(w, q)
	case "DescribeInstanceStatus":
		s.describeInstanceStatus(w, q)
	case "DescribeRegions":
		s.describeRegions(w)
	case "DescribeZones":
		s.describeZones(w, q)
	case "StartInstance":
		s.startInstance(w, q, regionOfHost(r.Host))
	case "StartInstances":
		s.startInstances(w, q, regionOfHost(r.Host))
	default:
		s.fail(w, 404, "InvalidAction.NotFound", fmt.Sprintf("Specified api %q is not found; the simulator knows DescribeInstances, DescribeInstanceStatus, DescribeRegions, DescribeZones, StartInstance and StartInstances.", action))
	}
}

// regionOfHost is the region of a regional endpoint's host name
// (ecs.cn-hangzhou.aliyuncs.com), "" for any other host (the simulator's
// own address stands for the central endpoint, which serves every region).
func regionOfHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	region, ok := strings.CutSuffix(strings.TrimPrefix(strings.ToLower(host), "ecs."), ".aliyuncs.com")
	if !ok || !strings.HasPrefix(strings.ToLower(host), "ecs.") || strings.Contains(region, ".") {
		return ""
	}
	return region
}

func (s *Server) allow() bool {
	if s.opts.RateLimit <= 0 {
		return true
	}
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	now := s.now().Truncate(time.Second)
	if !now.Equal(s.rateWindow) {
		s.rateWindow, s.rateCount = now, 0
	}
	s.rateCount++
	return s.rateCount <= s.opts.RateLimit
}

func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	h := strings.ToUpper(hex.EncodeToString(b[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (s *Server) reply(w http.ResponseWriter, status int, v map[string]any) {
	id := newRequestID()
	v["RequestId"] = id
	w.Header().Set("x-acs-request-id", id)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}

func (s *Server) fail(w http.ResponseWriter, status int, code, message string) {
	if s.opts.RetryAfter > 0 && strings.HasPrefix(code, "Throttling") {
		w.Header().Set("x-acs-retry-after", strconv.FormatInt(s.opts.RetryAfter.Milliseconds(), 10))
	}
	s.reply(w, status, map[string]any{
		"HostId":    "ecs.simulator.local",
		"Code":      code,
		"Message":   message,
		"Recommend": "https://api.alibabacloud.com/troubleshoot?q=" + code,
	})
}

// Serve runs the simulator on a loopback listener until ctx ends; it returns
// the endpoint URL once listening.
func Serve(ctx context.Context, s http.Handler, addr string) (string, <-chan error, error) {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	ln, err := listen(addr)
	if err != nil {
		return "", nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if err == http.ErrServerClosed {
			err = nil
		}
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx) // best effort on exit
	}()
	return "http://" + ln.Addr().String(), done, nil
}

// authenticate checks a request's API version and its signature (V3 or
// RPC), answering the error itself; it reports whether the request may go on.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, body []byte, q url.Values, v3 bool, product, want string) bool {
	version := r.Header.Get("x-acs-version")
	if !v3 {
		version = q.Get("Version")
	}
	if version != want {
		s.fail(w, 400, "InvalidVersion", fmt.Sprintf("Specified parameter Version %q is not valid; %s expects %s.", version, product, want))
		return false
	}
	var e *authError
	if v3 {
		e = s.verify(r, body)
	} else {
		e = s.verifyRPC(r.Method, q)
	}
	if e != nil {
		s.fail(w, e.status, e.code, e.message)
		return false
	}
	return true
}
