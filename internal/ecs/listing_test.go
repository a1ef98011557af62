package ecs_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

// listingRig is a simulator behind a hook that sees every request before
// the simulator does; the hook may answer it itself (true) or change the
// simulator first.
type listingRig struct {
	sim    *ecssim.Server
	client *ecs.Client

	mu       sync.Mutex
	inFlight int
	maxIn    int
	zoned    int // DescribeInstances with a ZoneId
}

func newListingRig(t *testing.T, opts ecssim.Options, concurrency int, hook func(w http.ResponseWriter, r *http.Request, zoned int) bool) *listingRig {
	t.Helper()
	lr := &listingRig{sim: ecssim.New(opts)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		zoned := 0
		if r.Header.Get("x-acs-action") == "DescribeInstances" {
			lr.mu.Lock()
			lr.inFlight++
			lr.maxIn = max(lr.maxIn, lr.inFlight)
			if r.URL.Query().Get("ZoneId") != "" {
				lr.zoned++
				zoned = lr.zoned
			}
			lr.mu.Unlock()
			defer func() { lr.mu.Lock(); lr.inFlight--; lr.mu.Unlock() }()
		}
		if hook != nil && hook(w, r, zoned) {
			return
		}
		lr.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	lr.client = clientFor(t, srv.URL, lr.sim.Regions(), ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret,
		func(o *ecs.Options) { o.ZoneConcurrency = concurrency })
	return lr
}

func (lr *listingRig) list(t *testing.T, region string) ([]ecs.Instance, int) {
	t.Helper()
	list, calls, err := lr.client.ListRegion(context.Background(), region)
	if err != nil {
		t.Fatal(err)
	}
	return list, calls
}

// sameIDs fails unless list holds each of want exactly once and nothing else.
func sameIDs(t *testing.T, list []ecs.Instance, want []string) {
	t.Helper()
	got := make([]string, 0, len(list))
	for _, in := range list {
		got = append(got, in.ID)
	}
	sort.Strings(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		missing, extra := 0, 0
		for _, id := range want {
			if !slices.Contains(got, id) {
				missing++
			}
		}
		extra = len(got) - (len(want) - missing)
		t.Fatalf("listed %d instances, want %d: %d missing, %d extra or twice", len(got), len(want), missing, extra)
	}
}

func TestBigRegionIsListedZoneByZoneInParallel(t *testing.T) {
	t.Parallel()
	// 3,000 instances over 3 regions: 1,000 here, 250 in each of 4 zones.
	// The first zone pages wait (up to 5 s) until three are in flight, so
	// a listing that asks one zone at a time shows as such.
	three := make(chan struct{})
	var once sync.Once
	lr := newListingRig(t, ecssim.Options{Instances: 3000, Zones: 4}, 3, func(_ http.ResponseWriter, _ *http.Request, zoned int) bool {
		if zoned == 3 {
			once.Do(func() { close(three) })
		}
		if zoned >= 1 && zoned <= 3 {
			select {
			case <-three:
			case <-time.After(5 * time.Second):
			}
		}
		return false
	})
	list, calls := lr.list(t, "cn-hangzhou")
	sameIDs(t, list, lr.sim.InstanceIDs("cn-hangzhou"))
	// One sizing page, DescribeZones, then 3 pages in each of 4 zones.
	if calls != 1+1+4*3 {
		t.Fatalf("%d calls, want 14", calls)
	}
	if lr.zoned != 4*3 {
		t.Fatalf("%d zone-filtered pages, want 12", lr.zoned)
	}
	zones := map[string]int{}
	for _, in := range list {
		zones[in.Zone]++
	}
	if len(zones) != 4 {
		t.Fatalf("instances in %d zones, want 4: %v", len(zones), zones)
	}
	if lr.maxIn != 3 {
		t.Fatalf("at most %d DescribeInstances were in flight at once; want 3 zones in parallel (the bound)", lr.maxIn)
	}
}

func TestInstancesCreatedAndMovingDuringAListingAreListedOnce(t *testing.T) {
	t.Parallel()
	for _, zones := range []int{4, 1} {
		t.Run(fmt.Sprintf("%d zones", zones), func(t *testing.T) {
			t.Parallel()
			var lr *listingRig
			var before []string
			var added atomic.Int32
			shifted := false
			lr = newListingRig(t, ecssim.Options{Instances: 1800, Zones: zones}, 2, func(w http.ResponseWriter, r *http.Request, zoned int) bool {
				if zoned == 0 || zoned%2 == 1 {
					return false
				}
				// Between two pages: new instances in every zone push every
				// later one a place down (ECS lists newest first), and some
				// stopped ones start.
				for z := range zones {
					if _, err := lr.sim.Add("cn-hangzhou", fmt.Sprintf("late-%d-%d", zoned, z), "ecs.g7.large", "Stopped"); err != nil {
						t.Error(err)
					}
					added.Add(1)
				}
				for _, id := range before[zoned*7 : zoned*7+5] {
					lr.sim.SetStatus(id, "Starting")
				}
				shifted = true
				return false
			})
			before = lr.sim.InstanceIDs("cn-hangzhou")
			list, _ := lr.list(t, "cn-hangzhou")
			if !shifted || added.Load() == 0 {
				t.Fatal("the listing was never disturbed; the test proves nothing")
			}
			// Every instance that existed before is listed once; those
			// created meanwhile may or may not be, but never twice.
			seen := map[string]int{}
			for _, in := range list {
				seen[in.ID]++
			}
			for _, id := range before {
				if seen[id] != 1 {
					t.Fatalf("instance %s listed %d times", id, seen[id])
				}
			}
			all := lr.sim.InstanceIDs("cn-hangzhou")
			for id, n := range seen {
				if n != 1 || !slices.Contains(all, id) {
					t.Fatalf("instance %s listed %d times (known to ECS: %v)", id, n, slices.Contains(all, id))
				}
			}
		})
	}
}

func TestAZoneDescribeZonesLeavesOutIsStillListed(t *testing.T) {
	t.Parallel()
	lr := newListingRig(t, ecssim.Options{Instances: 3000, Zones: 4}, 4, nil)
	lr.sim.RetireZone("cn-hangzhou-k")
	want := lr.sim.InstanceIDs("cn-hangzhou")

	// Cold: the three listed zones fall short of TotalCount, so the region
	// is paged whole (10 pages) after the zones (3 x 3 pages).
	list, calls := lr.list(t, "cn-hangzhou")
	sameIDs(t, list, want)
	if calls != 1+1+3*3+10 {
		t.Fatalf("cold listing made %d calls, want 21 (zones fell short, then whole)", calls)
	}
	// Warm: the zone met last time is listed with the others.
	list, calls = lr.list(t, "cn-hangzhou")
	sameIDs(t, list, want)
	if calls != 1+1+4*3 {
		t.Fatalf("warm listing made %d calls, want 14 (the retired zone remembered)", calls)
	}
}

func TestRefusedZoneFilterOrZonesFallBackToPagingWhole(t *testing.T) {
	t.Parallel()
	refuse := func(w http.ResponseWriter, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"RequestId":"0A1B2C3D-0000-0000-0000-000000000000","Code":%q,"Message":"refused by the test"}`, code)
	}
	cases := map[string]func(w http.ResponseWriter, r *http.Request, zoned int) bool{
		"zone filter refused": func(w http.ResponseWriter, r *http.Request, zoned int) bool {
			if zoned > 0 {
				refuse(w, "InvalidParameter.ZoneId")
				return true
			}
			return false
		},
		"DescribeZones refused": func(w http.ResponseWriter, r *http.Request, _ int) bool {
			if r.Header.Get("x-acs-action") == "DescribeZones" {
				refuse(w, "Forbidden.RAM")
				return true
			}
			return false
		},
	}
	for name, hook := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lr := newListingRig(t, ecssim.Options{Instances: 1500, Zones: 4}, 4, hook)
			list, _ := lr.list(t, "cn-hangzhou")
			sameIDs(t, list, lr.sim.InstanceIDs("cn-hangzhou"))
		})
	}
}

func TestAFailingZoneFailsTheRegion(t *testing.T) {
	t.Parallel()
	lr := newListingRig(t, ecssim.Options{Instances: 1500, Zones: 4}, 4, func(w http.ResponseWriter, r *http.Request, zoned int) bool {
		if r.URL.Query().Get("ZoneId") == "cn-hangzhou-i" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(403)
			fmt.Fprint(w, `{"RequestId":"0A1B2C3D-0000-0000-0000-000000000001","Code":"Forbidden.RAM","Message":"denied by the test"}`)
			return true
		}
		return false
	})
	_, _, err := lr.client.ListRegion(context.Background(), "cn-hangzhou")
	if e := ecsErr(t, err); e.Code != "Forbidden.RAM" {
		t.Fatalf("got %+v, want the zone's Forbidden.RAM (a partial list must not pass for the region)", e)
	}
}
