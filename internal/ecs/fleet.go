package ecs

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Lister is what the fleet cache needs from ECS.
type Lister interface {
	Regions() []string
	ListRegion(ctx context.Context, region string) ([]Instance, int, error)
}

// Snapshot is one immutable view of the fleet. Pages read it; nobody changes it.
type Snapshot struct {
	Instances  []Instance // sorted by region, name, id
	Families   []string   // every family in the fleet, sorted
	index      map[string]int
	Fetched    time.Time        // when the oldest region's list was fetched; zero before the first success
	RegionErr  map[string]error // regions whose last refresh failed (their list is the last good one)
	LastErrAt  time.Time
	Calls      int // DescribeInstances calls made by the refresh that built this snapshot
	RefreshDur time.Duration
}

// Instance finds one instance by region and id.
func (s *Snapshot) Instance(region, id string) (Instance, bool) {
	if s == nil {
		return Instance{}, false
	}
	i, ok := s.index[region+"/"+id]
	if !ok {
		return Instance{}, false
	}
	return s.Instances[i], true
}

// Fleet caches the whole fleet and refreshes it in the background and on
// demand, one refresh at a time, so page views never call ECS.
type Fleet struct {
	lister  Lister
	log     *slog.Logger
	now     func() time.Time
	timeout time.Duration

	sf      singleflight.Group
	mu      sync.RWMutex
	snap    *Snapshot
	regions map[string]regionState
}

type regionState struct {
	instances []Instance
	fetched   time.Time
	err       error
}

// NewFleet returns an empty cache; call Refresh or Run to fill it.
func NewFleet(l Lister, log *slog.Logger, timeout time.Duration) *Fleet {
	return &Fleet{lister: l, log: log, now: time.Now, timeout: timeout, snap: &Snapshot{index: map[string]int{}},
		regions: map[string]regionState{}}
}

// Snapshot returns the current view. It never blocks on ECS.
func (f *Fleet) Snapshot() *Snapshot {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.snap
}

// Run refreshes every interval until ctx ends.
func (f *Fleet) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.Refresh(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("fleet refresh failed; keeping the last good list", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Refresh lists every region concurrently and swaps in the new snapshot. A
// region that fails keeps its last good list. Concurrent callers share one
// refresh in flight.
func (f *Fleet) Refresh(ctx context.Context) error {
	ch := f.sf.DoChan("refresh", func() (any, error) {
		// Detached from any one caller: a page that goes away must not cancel
		// the refresh others wait for.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout)
		defer cancel()
		return nil, f.refresh(rctx)
	})
	select {
	case r := <-ch:
		return r.Err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *Fleet) refresh(ctx context.Context) error {
	began := f.now()
	regions := f.lister.Regions()
	type result struct {
		region string
		list   []Instance
		calls  int
		err    error
	}
	results := make(chan result, len(regions))
	for _, r := range regions {
		go func() {
			list, calls, err := f.lister.ListRegion(ctx, r)
			results <- result{r, list, calls, err}
		}()
	}
	calls := 0
	var errs []error
	f.mu.Lock()
	defer f.mu.Unlock()
	for range regions {
		res := <-results
		calls += res.calls
		st := f.regions[res.region]
		if res.err != nil {
			st.err = res.err
			errs = append(errs, res.err)
		} else {
			st = regionState{instances: res.list, fetched: f.now()}
		}
		f.regions[res.region] = st
	}
	f.snap = f.build(calls, f.now().Sub(began))
	f.log.Info("fleet refreshed", "instances", len(f.snap.Instances), "calls", calls,
		"duration_ms", f.snap.RefreshDur.Milliseconds(), "failed_regions", len(errs))
	return errors.Join(errs...)
}

// build makes a snapshot from the per-region state; f.mu is held.
func (f *Fleet) build(calls int, dur time.Duration) *Snapshot {
	s := &Snapshot{index: map[string]int{}, RegionErr: map[string]error{}, Calls: calls, RefreshDur: dur}
	n := 0
	for _, st := range f.regions {
		n += len(st.instances)
	}
	s.Instances = make([]Instance, 0, n)
	for region, st := range f.regions {
		s.Instances = append(s.Instances, st.instances...)
		if st.err != nil {
			s.RegionErr[region] = st.err
			s.LastErrAt = f.now()
		}
		if !st.fetched.IsZero() && (s.Fetched.IsZero() || st.fetched.Before(s.Fetched)) {
			s.Fetched = st.fetched
		}
	}
	sort.Slice(s.Instances, func(i, j int) bool {
		a, b := &s.Instances[i], &s.Instances[j]
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	fams := map[string]bool{}
	for i, inst := range s.Instances {
		s.index[inst.Region+"/"+inst.ID] = i
		fams[inst.Family] = true
	}
	for f := range fams {
		s.Families = append(s.Families, f)
	}
	sort.Strings(s.Families)
	return s
}

// Update replaces one instance with a fresher view (after a Describe), so a
// start shows at once without waiting for the next refresh. When the
// instance keeps its place in the order (the usual case: only its status
// moved), the new snapshot shares the old one's index: O(n) copy, no sort.
func (f *Fleet) Update(inst Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.snap
	if i, ok := prev.index[inst.Region+"/"+inst.ID]; ok && prev.Instances[i].Name == inst.Name && prev.Instances[i].Family == inst.Family {
		next := *prev
		next.Instances = make([]Instance, len(prev.Instances))
		copy(next.Instances, prev.Instances)
		next.Instances[i] = inst
		f.snap = &next
		st := f.regions[inst.Region]
		for j := range st.instances {
			if st.instances[j].ID == inst.ID {
				list := make([]Instance, len(st.instances))
				copy(list, st.instances)
				list[j] = inst
				st.instances = list
				f.regions[inst.Region] = st
				break
			}
		}
		return
	}
	st := f.regions[inst.Region]
	list := make([]Instance, len(st.instances))
	copy(list, st.instances)
	found := false
	for i := range list {
		if list[i].ID == inst.ID {
			list[i], found = inst, true
		}
	}
	if !found {
		list = append(list, inst)
	}
	st.instances = list
	f.regions[inst.Region] = st
	f.snap = f.build(prev.Calls, prev.RefreshDur)
}
