package ecs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

// flakyLister wraps a real client and can fail a region on demand.
type flakyLister struct {
	*ecs.Client
	fail  atomic.Bool
	calls atomic.Int64
	delay time.Duration
}

func (f *flakyLister) ListRegion(ctx context.Context, region string) ([]ecs.Instance, int, error) {
	f.calls.Add(1)
	time.Sleep(f.delay)
	if f.fail.Load() && region == "cn-shanghai" {
		return nil, 1, &ecs.Error{Kind: ecs.KindUnavailable, Code: "ServiceUnavailable", Summary: "down"}
	}
	return f.Client.ListRegion(ctx, region)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestConcurrentRefreshesShareOneListing(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	l := &flakyLister{Client: r.client, delay: 50 * time.Millisecond}
	f := ecs.NewFleet(l, quiet(), ecs.FleetOptions{Timeout: 10 * time.Second})
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); f.Refresh(context.Background()) }()
	}
	wg.Wait()
	// 50 callers, at most two refreshes (one may start just after the first ends), 3 regions each.
	if n := l.calls.Load(); n > 6 {
		t.Fatalf("%d region listings for 50 concurrent refreshes", n)
	}
	if len(f.Snapshot().Instances) < 50 {
		t.Fatalf("snapshot has %d instances", len(f.Snapshot().Instances))
	}
}

func TestFailedRefreshKeepsTheLastGoodList(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	l := &flakyLister{Client: r.client}
	f := ecs.NewFleet(l, quiet(), ecs.FleetOptions{Timeout: 10 * time.Second})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := len(f.Snapshot().Instances)
	l.fail.Store(true)
	err := f.Refresh(context.Background())
	var e *ecs.Error
	if !errors.As(err, &e) {
		t.Fatalf("want the region's error, got %v", err)
	}
	s := f.Snapshot()
	if len(s.Instances) != before || s.RegionErr["cn-shanghai"] == nil {
		t.Fatalf("instances %d (was %d), region errors %v", len(s.Instances), before, s.RegionErr)
	}
}

func TestUpdateShowsAFresherInstanceAtOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	f := ecs.NewFleet(r.client, quiet(), ecs.FleetOptions{Timeout: 10 * time.Second})
	f.Refresh(context.Background())
	in := *f.Snapshot().Instances[0]
	in.Status = ecs.StatusStarting
	f.Update(in)
	got, ok := f.Snapshot().Instance(in.Region, in.ID)
	if !ok || got.Status != ecs.StatusStarting {
		t.Fatalf("%v %+v", ok, got)
	}
}

// BenchmarkColdList lists 10,000 simulated instances in 3 regions of 4
// zones with 20 ms of injected latency per call: the time to a full cache,
// and the calls made.
func BenchmarkColdList(b *testing.B) {
	sim := ecssim.New(ecssim.Options{Instances: 10000, Zones: 4, Latency: 20 * time.Millisecond})
	r := rigFor(b, sim)
	for b.Loop() {
		f := ecs.NewFleet(r, quiet(), ecs.FleetOptions{Timeout: time.Minute})
		before := sim.Calls("DescribeInstances") + sim.Calls("DescribeZones")
		if err := f.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		if n := len(f.Snapshot().Instances); n != 10000 {
			b.Fatalf("%d instances", n)
		}
		b.ReportMetric(float64(sim.Calls("DescribeInstances")+sim.Calls("DescribeZones")-before), "calls/op")
	}
	// Sequential paging's ideal: 34 pages per region (3,334 instances, 100 a
	// page) x 20 ms, regions in parallel. Listing by zone needs 1 sizing
	// page, DescribeZones and 9 pages per zone: about 11 x 20 ms.
	b.ReportMetric(float64(34*20), "sequential-ideal-ms")
}

// blockingLister holds every listing until released, and says when one began.
type blockingLister struct {
	*ecs.Client
	began   chan struct{}
	release chan struct{}
}

func (b *blockingLister) ListRegion(ctx context.Context, region string) ([]ecs.Instance, int, error) {
	select {
	case b.began <- struct{}{}:
	default:
	}
	<-b.release
	return b.Client.ListRegion(ctx, region)
}

// A refresh asks ECS with no lock held: while every region's listing is
// stalled, Snapshot, Lookup, Ready and Update all return.
func TestPagesAndUpdatesNeverWaitOnARefreshInFlight(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	l := &blockingLister{Client: r.client, began: make(chan struct{}, 1), release: make(chan struct{})}
	f := ecs.NewFleet(l, quiet(), ecs.FleetOptions{Timeout: time.Minute})
	refreshed := make(chan error, 1)
	go func() { refreshed <- f.Refresh(context.Background()) }()
	<-l.began // the refresh is now waiting on ECS

	answered := make(chan struct{})
	go func() {
		f.Snapshot()
		f.Lookup("cn-hangzhou", "i-abcdefgh01")
		f.Ready()
		f.Update(ecs.Instance{ID: "i-abcdefgh01", Region: "cn-hangzhou", Name: "new", Status: ecs.StatusStarting})
		close(answered)
	}()
	select {
	case <-answered:
	case <-time.After(30 * time.Second):
		t.Fatal("the cache's readers and writers waited on ECS")
	}
	if in, ok := f.Lookup("cn-hangzhou", "i-abcdefgh01"); !ok || in.Status != ecs.StatusStarting {
		t.Fatalf("the update during the refresh was not applied: %+v", in)
	}
	close(l.release)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	if len(f.Snapshot().Instances) < 50 {
		t.Fatalf("the refresh swapped in %d instances", len(f.Snapshot().Instances))
	}
}

// gatedLister lists at once until close is called with a gate; then every
// listing waits for the gate to open, and says when one began.
type gatedLister struct {
	*ecs.Client
	mu    sync.Mutex
	gate  chan struct{}
	began chan struct{}
}

func (g *gatedLister) ListRegion(ctx context.Context, region string) ([]ecs.Instance, int, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		select {
		case g.began <- struct{}{}:
		default:
		}
		<-gate
	}
	return g.Client.ListRegion(ctx, region)
}

// A start recorded while a refresh was listing is newer than what the
// listing saw: the refresh must not put the instance back to Stopped (it
// would then not be followed, and show Stopped until the next refresh).
func TestARefreshDoesNotUndoAStartMadeWhileItListed(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	l := &gatedLister{Client: r.client, began: make(chan struct{}, 1)}
	f := ecs.NewFleet(l, quiet(), ecs.FleetOptions{Timeout: time.Minute})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	l.mu.Lock()
	l.gate = gate
	l.mu.Unlock()
	refreshed := make(chan error, 1)
	go func() { refreshed <- f.Refresh(context.Background()) }()
	<-l.began

	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01") // Stopped, and ECS will list it so
	other := findByName(t, r.client, "cn-hangzhou", "ci-runner-02")
	in.Status = ecs.StatusStarting
	f.Update(in)
	close(gate)
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Lookup(in.Region, in.ID); got.Status != ecs.StatusStarting || f.Moving() != 1 {
		t.Fatalf("after the refresh: %s, %d followed; want Starting, 1 (the start came after the listing began)", got.Status, f.Moving())
	}
	// The next refresh began after the update: its listing stands.
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Lookup(in.Region, in.ID); got.Status != ecs.StatusStopped {
		t.Fatalf("a later refresh: %s; want the listing's Stopped", got.Status)
	}
	if got, _ := f.Lookup(other.Region, other.ID); got.Status != ecs.StatusStopped {
		t.Fatalf("an untouched instance: %s", got.Status)
	}
}

// An instance seen Starting is followed with DescribeInstanceStatus, one
// call per region and round, until ECS reports it Running; then it is no
// longer followed.
func TestMovingInstancesAreFollowedUntilTheySettle(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{StartDelay: 300 * time.Millisecond}, nil)
	f := ecs.NewFleet(r.client, quiet(), ecs.FleetOptions{TrackInterval: 50 * time.Millisecond})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.Moving() != 0 {
		t.Fatalf("%d instances followed in a settled fleet", f.Moving())
	}
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	if _, err := r.client.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{}); err != nil {
		t.Fatal(err)
	}
	in.Status = ecs.StatusStarting
	f.Update(in)
	if f.Moving() != 1 {
		t.Fatalf("%d instances followed after a start", f.Moving())
	}
	before := r.sim.Calls("DescribeInstanceStatus")
	rounds := 0
	for ; rounds < 200; rounds++ {
		if got, _ := f.Lookup(in.Region, in.ID); got.Status == ecs.StatusRunning {
			break
		}
		f.FollowMoving(context.Background())
		time.Sleep(10 * time.Millisecond) // the simulator's instance moves with the clock
	}
	if got, _ := f.Lookup(in.Region, in.ID); got.Status != ecs.StatusRunning {
		t.Fatalf("still %s after %d rounds", got.Status, rounds)
	}
	if f.Moving() != 0 {
		t.Fatalf("a settled instance is still followed")
	}
	if calls := int(r.sim.Calls("DescribeInstanceStatus") - before); calls > rounds || calls == 0 {
		t.Fatalf("%d DescribeInstanceStatus calls in %d rounds for one instance in one region", calls, rounds)
	}
	if r.sim.Calls("DescribeInstances") != 3+1 { // the refresh's three regions and findByName
		t.Fatalf("following listed the fleet again: %d DescribeInstances", r.sim.Calls("DescribeInstances"))
	}
}

// statusFailingLister fails every status call.
type statusFailingLister struct {
	*ecs.Client
	calls atomic.Int64
}

func (s *statusFailingLister) Statuses(context.Context, string, []string) (map[string]string, error) {
	s.calls.Add(1)
	return nil, &ecs.Error{Kind: ecs.KindUnavailable, Code: "ServiceUnavailable", Summary: "down"}
}

// A region whose status calls fail is asked again only after a pause that
// grows: ten rounds in a row do not make ten calls.
func TestFollowingBacksOffWhenECSFails(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	l := &statusFailingLister{Client: r.client}
	f := ecs.NewFleet(l, quiet(), ecs.FleetOptions{TrackInterval: time.Hour})
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	in.Status = ecs.StatusStarting
	f.Update(in)
	for range 10 {
		f.FollowMoving(context.Background())
	}
	if n := l.calls.Load(); n != 1 {
		t.Fatalf("%d status calls in ten rounds while the region fails", n)
	}
	if got, _ := f.Lookup(in.Region, in.ID); got.Status != ecs.StatusStarting || f.Moving() != 1 {
		t.Fatalf("a failed call changed the instance (%s) or stopped following it", got.Status)
	}
}

// racingLister answers a status asked before a start ("Stopped") while,
// during the call, the start is accepted and the fleet told ("Starting").
type racingLister struct {
	*ecs.Client
	fleet *ecs.Fleet
	in    ecs.Instance
}

func (r *racingLister) Statuses(context.Context, string, []string) (map[string]string, error) {
	started := r.in
	started.Status = ecs.StatusStarting
	r.fleet.Update(started)
	return map[string]string{r.in.ID: ecs.StatusStopped}, nil
}

// An answer about an instance that changed while ECS was asked does not
// overwrite the newer view: a start accepted meanwhile stays Starting and
// followed, never shown Stopped again with a Start button.
func TestAStaleStatusAnswerDoesNotUndoANewerView(t *testing.T) {
	t.Parallel()
	r := newRig(t, ecssim.Options{}, nil)
	l := &racingLister{Client: r.client}
	f := ecs.NewFleet(l, quiet(), ecs.FleetOptions{TrackInterval: time.Hour})
	l.fleet = f
	if err := f.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := findByName(t, r.client, "cn-hangzhou", "ci-runner-01")
	in.Status = ecs.StatusPending // followed, and asked about
	f.Update(in)
	l.in = in
	f.FollowMoving(context.Background())
	if got, _ := f.Lookup(in.Region, in.ID); got.Status != ecs.StatusStarting || f.Moving() != 1 {
		t.Fatalf("after a stale answer the instance shows %s, followed: %d", got.Status, f.Moving())
	}
}
