package ecs_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"ecsdash/internal/apperr"
	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

// The codes of the StartInstance and StartInstances references as changed on
// 2025-12-03 that the seed did not know, with the status ECS answers them
// with, their kind and whether a retry moments later may pass.
var codes2025 = []struct {
	code      string
	status    int
	kind      ecs.ErrorKind
	retryable bool
}{
	{"InvalidOperation.Conflict", 409, ecs.KindPrecondition, true},
	{"InstanceExpiredOrInArrears", 403, ecs.KindForbidden, false},
	{"OperationDenied.SpotPriceLowerThanPublicPrice", 403, ecs.KindUnavailable, false},
	{"Invalid.PrivatePoolOptions.NoStock", 400, ecs.KindUnavailable, false},
	{"InvalidDedicatedHost.NotEnoughResource", 400, ecs.KindUnavailable, false},
	{"InvalidCapacityReservationId.NotFound", 404, ecs.KindPrecondition, false},
	{"Throttling", 400, ecs.KindThrottled, true},
	{"Throttling.User", 400, ecs.KindThrottled, true},
	{"Throttling.Api", 400, ecs.KindThrottled, true},
	{"Throttling.Resource", 429, ecs.KindThrottled, true},
}

// fallback is what a code the table does not know is explained as.
var fallback = map[string]bool{ecs.Explain("Unknown.Code").Summary: true, ecs.Explain("InvalidParameter.Unknown").Summary: true,
	ecs.Explain("OperationDenied.Unknown").Summary: true, ecs.Explain("Throttling.Unknown").Summary: true}

func TestEvery2025CodeHasWordsAdviceAndKindThroughTheSDK(t *testing.T) {
	t.Parallel()
	for _, tc := range codes2025 {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, ecssim.Options{}, func(o *ecs.Options) { o.MaxAttempts = 1 })
			in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
			if err := r.sim.InjectFault(in.ID, tc.code, -1); err != nil {
				t.Fatal(err)
			}
			_, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{})
			e := ecsErr(t, err)
			if e.Code != tc.code || e.HTTPStatus != tc.status || e.Kind != tc.kind || e.Retryable() != tc.retryable {
				t.Fatalf("got %s HTTP %d kind %s retryable %v, want HTTP %d %s %v", e.Code, e.HTTPStatus, e.Kind, e.Retryable(), tc.status, tc.kind, tc.retryable)
			}
			if e.Summary == "" || e.Action == "" || e.RequestID == "" || fallback[e.Summary] || strings.Contains(e.Summary, tc.code) {
				t.Fatalf("words %q, advice %q: want the code's own words", e.Summary, e.Action)
			}
			if x := ecs.Explain(tc.code); x.Summary != e.Summary || x.Retryable != tc.retryable {
				t.Fatalf("Explain disagrees: %+v", x)
			}
		})
	}
}

func TestBatchAndDryRunCodesHaveTheirOwnWords(t *testing.T) {
	t.Parallel()
	for code, kind := range map[string]ecs.ErrorKind{
		"DRYRUN.SUCCESS":                      ecs.KindPrecondition,
		"InvalidInstanceIds.NotFound":         ecs.KindNotFound,
		"InvalidParameter.TooManyInstanceIds": ecs.KindInvalid,
		"Abs.InvalidInstanceIds.MalFormed":    ecs.KindInvalid,
	} {
		x := ecs.Explain(code)
		if x.Kind != kind || x.Retryable || fallback[x.Summary] || x.Action == "" {
			t.Errorf("%s: %+v, want kind %s, its own words, not retryable", code, x, kind)
		}
	}
	// A capacity reservation that is gone is not a missing instance.
	if strings.Contains(ecs.Explain("InvalidCapacityReservationId.NotFound").Action, "Refresh the list") {
		t.Error("InvalidCapacityReservationId.NotFound advises refreshing the list; the instance exists")
	}
	if !strings.Contains(ecs.Explain("InvalidParameter.KMSKeyId.CMKUnauthorized").Summary, "tag") {
		t.Error("CMKUnauthorized should say the key lacks ECS's tag")
	}
	if !strings.Contains(ecs.Explain("QuotaExceed.ElasticQuota").Summary, "vCPU") {
		t.Error("ElasticQuota should name the vCPU quotas among its causes")
	}
	if a := ecs.Explain("OperationDenied.NoStock").Action; !strings.Contains(a, "zone") || !strings.Contains(a, "type") || !strings.Contains(a, "later") {
		t.Errorf("NoStock advice %q should name another zone, another type and waiting", a)
	}
}

func TestEveryECSKindHasAnApplicationKind(t *testing.T) {
	t.Parallel()
	kinds := map[ecs.ErrorKind]apperr.Kind{
		ecs.KindPrecondition: apperr.Conflict, ecs.KindForbidden: apperr.Conflict, ecs.KindNotFound: apperr.NotFound,
		ecs.KindInvalid: apperr.Unprocessable, ecs.KindThrottled: apperr.Unavailable, ecs.KindUnavailable: apperr.Unavailable,
		ecs.KindInternal: apperr.Unavailable, ecs.KindAuth: apperr.BadGateway, ecs.KindUnknownOutcome: apperr.Timeout,
	}
	for k, want := range kinds {
		if got := k.AppKind(); got != want {
			t.Errorf("%s: %s, want %s", k, got, want)
		}
		// An *ecs.Error is classified by apperr itself, wrapped or not.
		if got := apperr.KindOf(&ecs.Error{Kind: k}); got != want {
			t.Errorf("apperr.KindOf(%s): %s, want %s", k, got, want)
		}
	}
}

func TestConflictIsRetriedWithinTheCallAndSucceeds(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	if err := r.sim.InjectFault(in.ID, "InvalidOperation.Conflict", 1); err != nil {
		t.Fatal(err)
	}
	var attempts []int
	id, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{After: func(a ecs.Attempt) { attempts = append(attempts, a.N) }})
	if err != nil || id == "" {
		t.Fatalf("got %q %v", id, err)
	}
	if len(attempts) != 2 || r.sim.Calls("StartInstance") != 2 {
		t.Fatalf("attempts %v, calls %d: want the conflict retried once", attempts, r.sim.Calls("StartInstance"))
	}
	if n, _ := r.sim.Starts(in.ID); n != 1 {
		t.Fatalf("started %d times", n)
	}
}

func TestRetryAfterIsWaitedBeforeTheRetry(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var slept []time.Duration
	r := newRig(t, ecssim.Options{RetryAfter: 2500 * time.Millisecond}, func(o *ecs.Options) {
		o.BaseDelay = time.Millisecond
		o.Sleep = func(_ context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return nil
		}
	})
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	if err := r.sim.InjectFault(in.ID, "Throttling.Resource", 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.client.StartInstance(ctx, in.Region, in.ID, false, ecs.Hooks{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(slept) != 1 || slept[0] < 2500*time.Millisecond {
		t.Fatalf("slept %v before the retry, want once at least 2.5s (x-acs-retry-after)", slept)
	}
}

func TestRetryAfterBeyondTheDeadlineIsNotWaited(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{RetryAfter: 5 * time.Minute}, func(o *ecs.Options) {
		o.Sleep = func(context.Context, time.Duration) error {
			t.Error("slept although the wait would pass the deadline")
			return nil
		}
	})
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	if err := r.sim.InjectFault(in.ID, "Throttling.User", 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := r.client.StartInstance(ctx, in.Region, in.ID, false, ecs.Hooks{})
	if e := ecsErr(t, err); e.Code != "Throttling.User" || r.sim.Calls("StartInstance") != 1 {
		t.Fatalf("got %v after %d calls", e, r.sim.Calls("StartInstance"))
	}
}

func TestListingCarriesStoppedModeTagsAndResourceGroup(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	eco, local := findByName(t, r.client, "cn-hangzhou", "batch-worker-02"), findByName(t, r.client, "cn-hangzhou", "hadoop-data-01")
	if !eco.Economical() || eco.StoppedMode != ecs.ModeStopCharging {
		t.Fatalf("batch-worker-02: stopped mode %q, economical %v", eco.StoppedMode, eco.Economical())
	}
	if local.Economical() || local.StoppedMode != ecs.ModeNotApplicable {
		t.Fatalf("hadoop-data-01 (local disks): stopped mode %q", local.StoppedMode)
	}
	if eco.Tags["team"] != "platform" || eco.Tags["env"] != "prod" || eco.ResourceGroupID != ecssim.PlatformResourceGroup {
		t.Fatalf("batch-worker-02: tags %v, group %q", eco.Tags, eco.ResourceGroupID)
	}
	running := eco
	running.Status = ecs.StatusRunning
	if running.Economical() {
		t.Fatal("a running instance is not in economical mode, whatever its last stop")
	}
	changed := eco
	changed.Tags = map[string]string{"team": "data", "env": "prod"}
	if eco.Equal(&changed) {
		t.Fatal("Equal ignores tags")
	}
}
