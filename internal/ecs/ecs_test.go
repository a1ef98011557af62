package ecs_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

func TestMain(m *testing.M) {
	// Never let the credential chain reach the metadata service from a test.
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

type rig struct {
	sim    *ecssim.Server
	client *ecs.Client
	url    string
}

func newRig(t *testing.T, simOpts ecssim.Options, mod func(*ecs.Options)) rig {
	t.Helper()
	sim := ecssim.New(simOpts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return rig{sim: sim, client: clientFor(t, srv.URL, sim.Regions(), ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret, mod), url: srv.URL}
}

func clientFor(t *testing.T, url string, regions []string, id, secret string, mod func(*ecs.Options)) *ecs.Client {
	t.Helper()
	cred, err := ecs.StaticCredential(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	opts := ecs.Options{Regions: regions, Endpoint: url, Credential: cred, Timeout: 2 * time.Second,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	if mod != nil {
		mod(&opts)
	}
	c, err := ecs.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func findByName(t *testing.T, c *ecs.Client, region, name string) ecs.Instance {
	t.Helper()
	list, _, err := c.ListRegion(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("no instance named %s in %s", name, region)
	return ecs.Instance{}
}

func ecsErr(t *testing.T, err error) *ecs.Error {
	t.Helper()
	var e *ecs.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *ecs.Error, got %T %v", err, err)
	}
	return e
}

func TestSDKSignatureIsAcceptedBySimulator(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	list, calls, err := r.client.ListRegion(context.Background(), "cn-hangzhou")
	if err != nil {
		t.Fatalf("signed request refused: %v", err)
	}
	if len(list) == 0 || calls != 1 {
		t.Fatalf("got %d instances in %d calls", len(list), calls)
	}
}

func TestWrongSecretIsRefusedWithSignatureDoesNotMatch(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	bad := clientFor(t, r.url, r.sim.Regions(), ecssim.DemoAccessKeyID, "not-the-secret", nil)
	_, _, err := bad.ListRegion(context.Background(), "cn-hangzhou")
	e := ecsErr(t, err)
	if e.Code != "SignatureDoesNotMatch" || e.Kind != ecs.KindAuth || e.HTTPStatus != 400 || e.RequestID == "" {
		t.Fatalf("got %+v", e)
	}
}

func TestUnknownAccessKeyIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	bad := clientFor(t, r.url, r.sim.Regions(), "LTAI-nobody", "x", nil)
	_, _, err := bad.ListRegion(context.Background(), "cn-hangzhou")
	if e := ecsErr(t, err); e.Code != "InvalidAccessKeyId.NotFound" || e.Kind != ecs.KindAuth {
		t.Fatalf("got %+v", e)
	}
}

func TestSmallRegionIsListedInOneCall(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	list, calls, err := r.client.ListRegion(context.Background(), "cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	if want := len(r.sim.InstanceIDs("cn-hangzhou")); len(list) != want || calls != 1 {
		t.Fatalf("got %d instances in %d calls, want %d in 1", len(list), calls, want)
	}
	if z := r.sim.Calls("DescribeZones"); z != 0 {
		t.Fatalf("a region of one page asked for its zones (%d calls)", z)
	}
}

func TestListingConvertsLocksFamiliesAndExpiry(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	locked := findByName(t, r.client, "cn-hangzhou", "legacy-billing-01")
	if !locked.SecurityLocked() {
		t.Fatalf("security lock lost: %+v", locked.LockReasons)
	}
	expired := findByName(t, r.client, "cn-hangzhou", "promo-site-2019")
	if expired.ExpiredTime.IsZero() || !expired.HasLock("FINANCIAL") {
		t.Fatalf("expiry/lock lost: %+v", expired)
	}
	d1 := findByName(t, r.client, "cn-hangzhou", "hadoop-data-01")
	if d1.Family != "ecs.d1" || d1.LocalStorageAmount == 0 {
		t.Fatalf("family/local storage lost: %+v", d1)
	}
}

func TestDescribeUnknownInstanceIsNotFound(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	_, err := r.client.Describe(context.Background(), "cn-hangzhou", "i-doesnotexist00000")
	if e := ecsErr(t, err); e.Kind != ecs.KindNotFound {
		t.Fatalf("got %+v", e)
	}
}

func TestStartMovesStoppedToStartingThenRunning(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return now.Add(time.Duration(offset.Load())) }
	r := newRig(t, ecssim.Options{StartDelay: time.Minute, Now: clock}, nil)
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	id, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{})
	if err != nil || id == "" {
		t.Fatalf("start: %q %v", id, err)
	}
	got, _ := r.client.Describe(context.Background(), in.Region, in.ID)
	if got.Status != ecs.StatusStarting {
		t.Fatalf("status %s, want Starting", got.Status)
	}
	offset.Store(int64(2 * time.Minute))
	got, _ = r.client.Describe(context.Background(), in.Region, in.ID)
	if got.Status != ecs.StatusRunning {
		t.Fatalf("status %s, want Running", got.Status)
	}
	// A second start of a running instance is refused by ECS.
	_, err = r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{})
	if e := ecsErr(t, err); e.Code != "IncorrectInstanceStatus" || e.HTTPStatus != 403 || e.RequestID == "" {
		t.Fatalf("got %+v", e)
	}
}

func TestEverySeedErrorCodeMapsToKindWordsAndRequestID(t *testing.T) {
	t.Parallel()
	cases := map[string]ecs.ErrorKind{
		"IncorrectInstanceStatus": ecs.KindPrecondition,
		"DiskError":               ecs.KindPrecondition,
		"InstanceExpired":         ecs.KindForbidden,
		"InstanceNotReady":        ecs.KindPrecondition,
		"InvalidParameter.KMSKeyId.KMSUnauthorized": ecs.KindForbidden,
		"InternalError":              ecs.KindInternal,
		"InvalidInstanceId.NotFound": ecs.KindNotFound,
		"Throttling.User":            ecs.KindThrottled,
		"ServiceUnavailable":         ecs.KindUnavailable,
		"OperationDenied.NoStock":    ecs.KindUnavailable,
	}
	for code, kind := range cases {
		t.Run(code, func(t *testing.T) {
			r := newRig(t, ecssim.Options{}, func(o *ecs.Options) { o.MaxAttempts = 1 })
			in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
			if err := r.sim.InjectFault(in.ID, code, -1); err != nil {
				t.Fatal(err)
			}
			_, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{})
			e := ecsErr(t, err)
			if e.Code != code || e.Kind != kind || e.RequestID == "" || e.Summary == "" || e.Action == "" || e.Message == "" {
				t.Fatalf("got %+v", e)
			}
			if strings.Contains(e.Summary, code) {
				t.Fatalf("summary should be words, not the code: %q", e.Summary)
			}
		})
	}
}

func TestRetriesAreBoundedAndEachAttemptReported(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	r.sim.InjectFault(in.ID, "InternalError", -1)
	var before, after []int
	var ids []string
	_, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{
		Before: func(n int) error { before = append(before, n); return nil },
		After:  func(a ecs.Attempt) { after = append(after, a.N); ids = append(ids, a.RequestID) },
	})
	if e := ecsErr(t, err); e.Code != "InternalError" {
		t.Fatalf("got %+v", e)
	}
	if len(before) != 3 || len(after) != 3 || r.sim.Calls("StartInstance") != 3 {
		t.Fatalf("attempts before=%v after=%v calls=%d, want 3 each", before, after, r.sim.Calls("StartInstance"))
	}
	if ids[0] == "" || ids[0] == ids[1] || ids[1] == ids[2] {
		t.Fatalf("each attempt needs its own RequestId: %v", ids)
	}
}

func TestThrottledStartSucceedsOnRetry(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	r.sim.InjectFault(in.ID, "Throttling.User", 1)
	id, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{})
	if err != nil || id == "" {
		t.Fatalf("got %q %v", id, err)
	}
	if n, _ := r.sim.Starts(in.ID); n != 1 {
		t.Fatalf("started %d times", n)
	}
}

func TestPreconditionErrorsAreNotRetried(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	in := findByName(t, r.client, "cn-hangzhou", "web-prod-01")
	_, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{})
	if e := ecsErr(t, err); e.Code != "IncorrectInstanceStatus" {
		t.Fatalf("got %+v", e)
	}
	if got := r.sim.Calls("StartInstance"); got != 1 {
		t.Fatalf("%d calls, want 1", got)
	}
}

func TestStalledECSTimesOutAsUnknownOutcomeWithoutRetry(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		<-r.Context().Done()
	}))
	defer stall.Close()
	c := clientFor(t, stall.URL, []string{"cn-hangzhou"}, "ak", "sk", func(o *ecs.Options) { o.Timeout = 300 * time.Millisecond })
	began := time.Now()
	_, err := c.StartInstance(context.Background(), "cn-hangzhou", "i-x", false, ecs.Hooks{})
	e := ecsErr(t, err)
	if e.Kind != ecs.KindUnknownOutcome {
		t.Fatalf("got %+v", e)
	}
	if calls.Load() != 1 {
		t.Fatalf("an unknown outcome must not be retried; %d calls", calls.Load())
	}
	if time.Since(began) > 5*time.Second {
		t.Fatalf("the timeout did not bound the call")
	}
}

func TestDroppedConnectionIsUnknownOutcome(t *testing.T) {
	t.Parallel()
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer drop.Close()
	c := clientFor(t, drop.URL, []string{"cn-hangzhou"}, "ak", "sk", nil)
	_, err := c.StartInstance(context.Background(), "cn-hangzhou", "i-x", false, ecs.Hooks{})
	if e := ecsErr(t, err); e.Kind != ecs.KindUnknownOutcome || e.RequestID != "" {
		t.Fatalf("got %+v", e)
	}
}

func TestRefusedConnectionIsRetriedBecauseNothingWasSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := clientFor(t, "http://"+addr, []string{"cn-hangzhou"}, "ak", "sk", nil)
	attempts := 0
	_, err = c.StartInstance(context.Background(), "cn-hangzhou", "i-x", false, ecs.Hooks{After: func(ecs.Attempt) { attempts++ }})
	if ecsErr(t, err).Kind != ecs.KindUnknownOutcome || attempts != 3 {
		t.Fatalf("attempts %d, err %v", attempts, err)
	}
}

func TestCheckRefusesRunningLockedExpiredAndWrongFamily(t *testing.T) {
	t.Parallel()
	fams := ecs.Families{"ecs.d1", "ecs.i1", "ecs.i2"}
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	stopped := ecs.Instance{Status: "Stopped", Family: "ecs.g7"}
	if e := ecs.Check(stopped, false, fams, now); e != nil {
		t.Fatalf("stopped g7 refused: %v", e)
	}
	if e := ecs.Check(ecs.Instance{Status: "Running", Family: "ecs.g7"}, false, fams, now); e == nil || e.Code != ecs.CodeNotStopped {
		t.Fatalf("running accepted: %v", e)
	}
	if e := ecs.Check(ecs.Instance{Status: "Stopped", LockReasons: []string{"Security"}}, false, fams, now); e == nil || e.Code != ecs.CodeSecurityLocked {
		t.Fatalf("locked accepted: %v", e)
	}
	if e := ecs.Check(ecs.Instance{Status: "Stopped", LockReasons: []string{"Financial"}}, false, fams, now); e == nil || e.Code != ecs.CodeExpired ||
		!strings.Contains(e.Summary, "financial lock") {
		t.Fatalf("financially locked accepted: %v", e)
	}
	lapsed := ecs.Instance{Status: "Stopped", ChargeType: "PrePaid", ExpiredTime: now.Add(-time.Hour)}
	if e := ecs.Check(lapsed, false, fams, now); e == nil || e.Code != ecs.CodeExpired || !strings.Contains(e.Summary, "Expired on 2026-11-27") ||
		!strings.Contains(e.Action, "Renew") {
		t.Fatalf("lapsed subscription accepted: %v", e)
	}
	lapsed.ExpiredTime = now.Add(time.Hour)
	if e := ecs.Check(lapsed, false, fams, now); e != nil {
		t.Fatalf("a subscription that runs another hour refused: %v", e)
	}
	if e := ecs.Check(stopped, true, fams, now); e == nil || e.Code != ecs.CodeNoLocalDisk {
		t.Fatalf("init local disk on g7 accepted: %v", e)
	}
	if e := ecs.Check(ecs.Instance{Status: "Stopped", Family: "ecs.d1"}, true, fams, now); e != nil {
		t.Fatalf("init local disk on d1 refused: %v", e)
	}
}

func TestDiskErrorAdviceFitsTheFamily(t *testing.T) {
	t.Parallel()
	fams := ecs.Families{"ecs.d1", "ecs.i1", "ecs.i2"}
	e := &ecs.Error{Code: "DiskError", Kind: ecs.KindPrecondition, Action: "generic"}
	if got := ecs.Advise(e, ecs.Instance{Family: "ecs.g7"}, fams); strings.Contains(got.Action, "start again with 'Initialize") ||
		!strings.Contains(got.Action, "ecs.g7 has no local disks") {
		t.Fatalf("g7 advised: %q", got.Action)
	}
	if got := ecs.Advise(e, ecs.Instance{Family: "ecs.i2"}, fams); !strings.Contains(got.Action, "Initialize local disks") {
		t.Fatalf("i2 advised: %q", got.Action)
	}
	if e.Action != "generic" {
		t.Fatal("Advise changed the error it was given")
	}
	other := &ecs.Error{Code: "InternalError", Action: "retry"}
	if got := ecs.Advise(other, ecs.Instance{Family: "ecs.i2"}, fams); got.Action != "retry" {
		t.Fatalf("other codes changed: %q", got.Action)
	}
}

func TestDetectCredentialsNeverFallsThroughToMetadata(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	_, err := ecs.DetectCredentials(func(k string) string { return env[k] }, "")
	if !errors.Is(err, ecs.ErrNoCredentials) {
		t.Fatalf("with nothing configured: %v", err)
	}
	env["ALIBABA_CLOUD_ACCESS_KEY_ID"], env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "id", "secret"
	src, err := ecs.DetectCredentials(func(k string) string { return env[k] }, "")
	if err != nil || src.Name != "environment" {
		t.Fatalf("env keys: %+v %v", src, err)
	}
}

func rigFor(tb testing.TB, sim *ecssim.Server) *ecs.Client {
	tb.Helper()
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	cred, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	c, err := ecs.New(ecs.Options{Regions: sim.Regions(), Endpoint: srv.URL, Credential: cred, Timeout: 5 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestConcurrentCallsInOneRegion runs many calls at once in one region; under
// -race it shows that no SDK client is shared between concurrent calls.
func TestConcurrentCallsInOneRegion(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	in := findByName(t, r.client, "cn-hangzhou", "web-prod-01")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.client.Describe(context.Background(), "cn-hangzhou", in.ID); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// StartInstance names no region: the endpoint is the region. Through the
// simulator on loopback each region's requests carry its own regional host
// name, so a region mix-up is caught as on ECS.
func TestStartInstanceThroughAnotherRegionsEndpointIsNotFound(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	in := findByName(t, r.client, "cn-shanghai", "ci-runner-01")
	_, err := r.client.StartInstance(context.Background(), "cn-hangzhou", in.ID, false, ecs.Hooks{})
	if e := ecsErr(t, err); e.Code != "InvalidInstanceId.NotFound" || e.Kind != ecs.KindNotFound {
		t.Fatalf("a cn-shanghai instance started through cn-hangzhou: %+v", e)
	}
	if n, _ := r.sim.Starts(in.ID); n != 0 {
		t.Fatal("the instance was started through the wrong region")
	}
	if _, err := r.client.StartInstance(context.Background(), "cn-shanghai", in.ID, false, ecs.Hooks{}); err != nil {
		t.Fatalf("through its own region: %v", err)
	}
	if n, _ := r.sim.Starts(in.ID); n != 1 {
		t.Fatalf("%d starts through its own region", n)
	}
}
