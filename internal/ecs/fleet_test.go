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
	r := newRig(t, ecssim.Options{}, nil)
	f := ecs.NewFleet(r.client, quiet(), ecs.FleetOptions{Timeout: 10 * time.Second})
	f.Refresh(context.Background())
	in := f.Snapshot().Instances[0]
	in.Status = ecs.StatusStarting
	f.Update(in)
	got, ok := f.Snapshot().Instance(in.Region, in.ID)
	if !ok || got.Status != ecs.StatusStarting {
		t.Fatalf("%v %+v", ok, got)
	}
}

// BenchmarkColdList lists 10,000 simulated instances in 3 regions with 20 ms
// of injected latency per call: the time to a full cache, and the calls made.
func BenchmarkColdList(b *testing.B) {
	sim := ecssim.New(ecssim.Options{Instances: 10000, Latency: 20 * time.Millisecond})
	r := rigFor(b, sim)
	for b.Loop() {
		f := ecs.NewFleet(r, quiet(), ecs.FleetOptions{Timeout: time.Minute})
		before := sim.Calls("DescribeInstances")
		if err := f.Refresh(context.Background()); err != nil {
			b.Fatal(err)
		}
		if n := len(f.Snapshot().Instances); n != 10000 {
			b.Fatalf("%d instances", n)
		}
		b.ReportMetric(float64(sim.Calls("DescribeInstances")-before), "calls/op")
	}
	// The ideal: 34 pages per region (3,334 instances, 100 a page) x 20 ms, regions in parallel.
	b.ReportMetric(float64(34*20), "ideal-ms")
}
