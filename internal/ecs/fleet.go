package ecs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"ecsdash/internal/loops"
)

// Lister is what the fleet cache needs from ECS.
type Lister interface {
	Regions() []string
	ListRegion(ctx context.Context, region string) ([]Instance, int, error)
	Statuses(ctx context.Context, region string, ids []string) (map[string]string, error)
}

// Snapshot is one immutable view of the fleet. Pages read it; nobody changes it.
type Snapshot struct {
	Instances []*Instance // sorted by region, name, id; shared between snapshots, never changed
	Families  []string    // every family in the fleet, sorted
	index     map[string]int
	search    *lazySearch      // the search text of Instances, built on the first search
	Fetched   time.Time        // when the oldest region's list was fetched; zero before the first success
	RegionErr map[string]error // regions whose last refresh failed (their list is the last good one)
	Seq       uint64           // this snapshot's number, one more than the one it replaced: open pages poll for a change of it
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
	return *s.Instances[i], true
}

// FleetOptions tune the cache; zero values take the defaults.
type FleetOptions struct {
	Timeout       time.Duration // one refresh's deadline; 2 minutes
	TrackInterval time.Duration // how often moving instances are asked about; 2 seconds
	TrackFor      time.Duration // how long an instance is followed before the refresh takes over; 10 minutes
}

// Fleet caches the whole fleet and refreshes it in the background and on
// demand, one refresh at a time, so page views never call ECS. Instances in a
// moving state (Pending, Starting, Stopping) are followed with
// DescribeInstanceStatus every few seconds until they settle, so every
// viewer sees the new state soon after ECS does.
type Fleet struct {
	lister Lister
	log    *slog.Logger
	now    func() time.Time
	opts   FleetOptions

	sf   singleflight.Group
	snap atomic.Pointer[Snapshot] // read without a lock: a page never waits

	mu      sync.Mutex // held by writers only, never across a call to ECS
	regions map[string]regionState
	moving  map[string]time.Time // region/id -> since when it is followed
	backoff map[string]backoff   // per region, after failed status calls
	updated map[string]time.Time // region/id -> when Update or the tracker last changed it
	seq     uint64               // the last snapshot's Seq
}

// regionState is how a region's last listing went; its instances are in
// the snapshot.
type regionState struct {
	fetched time.Time // the last successful listing
	err     error     // the last listing's failure, nil after a success
}

type backoff struct {
	failures  int
	notBefore time.Time
}

// NewFleet returns an empty cache; call Refresh or Run to fill it.
func NewFleet(l Lister, log *slog.Logger, opts FleetOptions) *Fleet {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.TrackInterval <= 0 {
		opts.TrackInterval = 2 * time.Second
	}
	if opts.TrackFor <= 0 {
		opts.TrackFor = 10 * time.Minute
	}
	f := &Fleet{lister: l, log: log, now: time.Now, opts: opts, regions: map[string]regionState{},
		moving: map[string]time.Time{}, backoff: map[string]backoff{}, updated: map[string]time.Time{}}
	f.snap.Store(&Snapshot{index: map[string]int{}})
	return f
}

// Snapshot returns the current view. It never blocks.
func (f *Fleet) Snapshot() *Snapshot { return f.snap.Load() }

// Lookup is the cached view of one instance.
func (f *Fleet) Lookup(region, id string) (Instance, bool) { return f.Snapshot().Instance(region, id) }

// Ready reports whether every region's last listing succeeded.
func (f *Fleet) Ready() error {
	s := f.Snapshot()
	if s.Fetched.IsZero() {
		return errors.New("no successful listing yet")
	}
	if len(s.RegionErr) > 0 {
		return fmt.Errorf("%d regions failing", len(s.RegionErr))
	}
	return nil
}

// Run refreshes at once and then every interval until ctx ends, and
// returns nil once its refresh in flight has ended (ctx ending cancels it).
// A failed refresh keeps the last good list and is logged. Track follows
// the moving instances.
func (f *Fleet) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := f.refreshOwn(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("fleet refresh failed; keeping the last good list", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
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
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.opts.Timeout)
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

// refreshOwn is Run's refresh: shared with the pages' like Refresh, but
// one it begins ends when ctx does, and it returns only once the refresh
// it joined has ended, so that Run leaves nothing running behind it.
func (f *Fleet) refreshOwn(ctx context.Context) error {
	ch := f.sf.DoChan("refresh", func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.opts.Timeout)
		defer cancel()
		defer context.AfterFunc(ctx, cancel)()
		return nil, f.refresh(rctx)
	})
	return (<-ch).Err
}

type listing struct {
	region string
	list   []Instance
	calls  int
	err    error
}

func (f *Fleet) refresh(ctx context.Context) error {
	began := f.now()
	regions := f.lister.Regions()
	results := make(chan listing, len(regions))
	for _, r := range regions {
		go func() {
			list, calls, err := f.lister.ListRegion(ctx, r)
			results <- listing{r, list, calls, err}
		}()
	}
	// ECS is asked with no lock held; the lock only covers the swap.
	got := make([]listing, 0, len(regions))
	for range regions {
		got = append(got, <-results)
	}
	calls := 0
	var errs []error
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.Snapshot()
	listed := map[string]bool{}
	var all []*Instance
	for _, res := range got {
		calls += res.calls
		st := f.regions[res.region]
		if res.err != nil {
			st.err = res.err
			errs = append(errs, res.err)
		} else {
			st = regionState{fetched: f.now()}
			listed[res.region] = true
			for i := range res.list {
				in := &res.list[i]
				// A start or a followed state that came after the listing
				// began is newer than what the listing saw.
				if at, ok := f.updated[in.Region+"/"+in.ID]; ok && at.After(began) {
					if cur, ok := prev.index[in.Region+"/"+in.ID]; ok {
						in = prev.Instances[cur]
					}
				}
				all = append(all, in)
			}
		}
		f.regions[res.region] = st
	}
	for _, in := range prev.Instances { // failed regions keep their last good list
		if !listed[in.Region] {
			all = append(all, in)
		}
	}
	for key, at := range f.updated {
		if !at.After(began) {
			delete(f.updated, key)
		}
	}
	s := f.build(all)
	for _, in := range s.Instances {
		f.follow(in)
	}
	f.store(s)
	f.log.Info("fleet refreshed", "instances", len(s.Instances), "calls", calls,
		"duration_ms", f.now().Sub(began).Milliseconds(), "failed_regions", len(errs))
	return errors.Join(errs...)
}

// build makes a snapshot of all, with the regions' state; f.mu is held.
func (f *Fleet) build(all []*Instance) *Snapshot {
	s := &Snapshot{Instances: all, index: make(map[string]int, len(all)), search: &lazySearch{}, RegionErr: map[string]error{}}
	for region, st := range f.regions {
		if st.err != nil {
			s.RegionErr[region] = st.err
		}
		if !st.fetched.IsZero() && (s.Fetched.IsZero() || st.fetched.Before(s.Fetched)) {
			s.Fetched = st.fetched
		}
	}
	slices.SortFunc(s.Instances, func(a, b *Instance) int {
		if c := strings.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
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

// follow starts or stops following an instance by its state; f.mu is held.
func (f *Fleet) follow(in *Instance) {
	key := in.Region + "/" + in.ID
	if in.Settled() {
		delete(f.moving, key)
	} else if _, ok := f.moving[key]; !ok {
		f.moving[key] = f.now()
	}
}

// Update replaces one instance with a fresher view (after a Describe), so a
// start shows at once without waiting for the next refresh.
func (f *Fleet) Update(inst Instance) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replace(map[string]Instance{inst.Region + "/" + inst.ID: inst})
	f.follow(&inst)
}

// replace swaps in fresher views of some instances; f.mu is held. When each
// keeps its place in the order (the usual case: only its status moved), the
// new snapshot shares the old one's index and instances: one copy of the
// pointers, no sort.
func (f *Fleet) replace(fresh map[string]Instance) {
	prev := f.Snapshot()
	inPlace := true
	for key, in := range fresh {
		i, ok := prev.index[key]
		if !ok || prev.Instances[i].Name != in.Name || prev.Instances[i].Region != in.Region {
			inPlace = false
		}
		f.updated[key] = f.now()
	}
	next := *prev
	next.Instances = slices.Clone(prev.Instances)
	if !sameSearch(prev, fresh) {
		next.search = &lazySearch{}
	}
	for key, in := range fresh {
		if i, ok := prev.index[key]; ok {
			next.Instances[i] = &in
		} else {
			next.Instances = append(next.Instances, &in)
		}
	}
	if !inPlace || familiesChanged(prev, fresh) {
		f.store(f.build(next.Instances))
		return
	}
	f.store(&next)
}

// store numbers s and makes it the current snapshot; f.mu is held.
func (f *Fleet) store(s *Snapshot) {
	f.seq++
	s.Seq = f.seq
	f.snap.Store(s)
}

// sameSearch reports whether fresh leaves every instance's searched fields
// (id, name, IPs) as prev has them, in place, so prev's search text holds.
func sameSearch(prev *Snapshot, fresh map[string]Instance) bool {
	for key, in := range fresh {
		i, ok := prev.index[key]
		if !ok {
			return false
		}
		was := prev.Instances[i]
		if was.Name != in.Name || !slices.Equal(was.PrivateIPs, in.PrivateIPs) || !slices.Equal(was.PublicIPs, in.PublicIPs) {
			return false
		}
	}
	return true
}

// familiesChanged reports whether fresh brings a family the snapshot does not list.
func familiesChanged(s *Snapshot, fresh map[string]Instance) bool {
	for _, in := range fresh {
		if !slices.Contains(s.Families, in.Family) {
			return true
		}
	}
	return false
}

// Track follows the instances in a moving state (FollowMoving) every
// TrackInterval until ctx ends, and then returns nil.
func (f *Fleet) Track(ctx context.Context) error {
	return loops.Every(ctx, f.opts.TrackInterval, f.FollowMoving)
}

// FollowMoving asks ECS once about every instance in a moving state, one
// DescribeInstanceStatus call per region (per 50 instances), and swaps in
// one new snapshot with the states that changed. A region whose call fails
// is asked again after a growing pause (up to a minute); an instance
// followed for longer than TrackFor is left to the next refresh.
func (f *Fleet) FollowMoving(ctx context.Context) {
	now := f.now()
	byRegion := map[string][]string{}
	asked := f.Snapshot() // what the instances looked like when ECS was asked
	f.mu.Lock()
	for key, since := range f.moving {
		if now.Sub(since) > f.opts.TrackFor {
			delete(f.moving, key)
			continue
		}
		i, ok := asked.index[key]
		if !ok {
			delete(f.moving, key)
			continue
		}
		inst := asked.Instances[i]
		if b := f.backoff[inst.Region]; now.Before(b.notBefore) {
			continue
		}
		byRegion[inst.Region] = append(byRegion[inst.Region], inst.ID)
	}
	f.mu.Unlock()
	if len(byRegion) == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, f.opts.TrackInterval*5)
	defer cancel()
	type answer struct {
		region   string
		statuses map[string]string
		err      error
	}
	answers := make(chan answer, len(byRegion))
	for region, ids := range byRegion {
		go func() {
			sort.Strings(ids)
			st, err := f.lister.Statuses(cctx, region, ids)
			answers <- answer{region, st, err}
		}()
	}
	got := make([]answer, 0, len(byRegion))
	for range byRegion {
		got = append(got, <-answers)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	snap := f.Snapshot()
	fresh := map[string]Instance{}
	for _, a := range got {
		if a.err != nil {
			b := f.backoff[a.region]
			b.failures++
			b.notBefore = f.now().Add(min(f.opts.TrackInterval<<b.failures, time.Minute))
			f.backoff[a.region] = b
			f.log.Warn("following moving instances failed", "region", a.region, "err", a.err, "failures", b.failures)
			continue
		}
		delete(f.backoff, a.region)
		for _, id := range byRegion[a.region] {
			key := a.region + "/" + id
			in, ok := snap.Instance(a.region, id)
			status, known := a.statuses[id]
			if !ok || !known {
				delete(f.moving, key) // gone from ECS: the next refresh drops it
				continue
			}
			if then, _ := asked.Instance(a.region, id); !then.Equal(&in) {
				continue // changed while ECS was asked (a start, a refresh): the newer view stands
			}
			if status != in.Status {
				in.Status = status
				fresh[key] = in
			}
			f.follow(&in)
		}
	}
	if len(fresh) > 0 {
		f.replace(fresh)
	}
}

// Moving is the number of instances being followed.
func (f *Fleet) Moving() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.moving)
}
