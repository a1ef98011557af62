package ecs

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"golang.org/x/sync/errgroup"
)

// pageSize is the most instances one DescribeInstances page holds.
const pageSize = 100

// ListRegion returns every instance of region and the number of calls it
// made (DescribeInstances and DescribeZones).
//
// A region's pages come one after another (each NextToken needs the page
// before it), so a big region is listed by zone, zones in parallel:
//
//  1. One page with PageNumber/PageSize, the only paging whose TotalCount
//     ECS fills in. A region that fits in it is done in one call.
//  2. The zones: DescribeZones, with the zones the previous listing met
//     (DescribeZones leaves out retired zones that still hold instances).
//  3. Each zone paged with ZoneId, MaxResults and NextToken, at most
//     Options.ZoneConcurrency zones at once.
//  4. If the zones hold fewer instances than TotalCount (a zone nobody
//     named), or ECS refuses the zone filter or DescribeZones, the region is
//     paged whole instead.
//
// Instances are merged by id, a later answer winning, so an instance met
// twice (pages shift when one is created during the listing) is listed once.
func (c *Client) ListRegion(ctx context.Context, region string) ([]Instance, int, error) {
	if c.multi != nil {
		return c.multi.listRegion(ctx, region)
	}
	if _, ok := c.byID[region]; !ok {
		_, _, e := c.sdk(ctx, region)
		return nil, 0, e
	}
	l := &regionListing{c: c, region: region}
	first, err := l.describe(ctx, map[string]any{"RegionId": region, "PageNumber": 1, "PageSize": pageSize})
	if err != nil {
		return nil, l.calls(), err
	}
	if first.TotalCount <= len(first.Instances.Instance) {
		l.merge(first.Instances.Instance)
		return l.done(), l.calls(), nil
	}
	if zones := l.zoneList(ctx); len(zones) > 0 {
		err := l.byZone(ctx, zones)
		switch {
		case err == nil && len(l.found) >= first.TotalCount:
			return l.done(), l.calls(), nil
		case err != nil && !refusedFilter(err):
			return nil, l.calls(), err
		}
		l.found = nil // fewer than TotalCount, or the filter refused: page the region whole
	}
	if err := l.pages(ctx, map[string]any{"RegionId": region}); err != nil {
		return nil, l.calls(), err
	}
	return l.done(), l.calls(), nil
}

// refusedFilter reports whether ECS refused a zone filter as a parameter
// (rather than failing): the region can still be paged whole.
func refusedFilter(err error) bool {
	e, ok := err.(*Error)
	return ok && (strings.HasPrefix(e.Code, "InvalidZoneId") || strings.HasPrefix(e.Code, "InvalidParameter"))
}

// regionListing is one ListRegion in progress.
type regionListing struct {
	c      *Client
	region string
	n      atomic.Int64 // calls made

	mu    sync.Mutex
	found map[string]Instance
}

func (l *regionListing) calls() int { return int(l.n.Load()) }

func (l *regionListing) merge(page []wireInstance) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.found == nil {
		l.found = make(map[string]Instance, len(page))
	}
	for i := range page {
		in := l.c.fromWire(l.region, &page[i])
		l.found[in.ID] = in
	}
}

// done returns the instances found, sorted by id, and remembers their zones
// for the next listing.
func (l *regionListing) done() []Instance {
	list := make([]Instance, 0, len(l.found))
	zones := map[string]bool{}
	for _, in := range l.found {
		list = append(list, in)
		if in.Zone != "" {
			zones[in.Zone] = true
		}
	}
	slices.SortFunc(list, func(a, b Instance) int { return strings.Compare(a.ID, b.ID) })
	met := make([]string, 0, len(zones))
	for z := range zones {
		met = append(met, z)
	}
	l.c.zones.Store(l.region, met)
	return list
}

// describe sends one DescribeInstances with our retries.
func (l *regionListing) describe(ctx context.Context, query map[string]any) (wireAnswer, error) {
	sdk, release, e := l.c.sdk(ctx, l.region)
	if e != nil {
		return wireAnswer{}, e
	}
	defer release()
	var page wireAnswer
	err := l.c.retry(ctx, func(ctx context.Context, n int) *Error {
		l.n.Add(1)
		var e *Error
		page, e = l.c.describePage(ctx, sdk, n, query)
		return e
	}, func(*Error) bool { return true })
	return page, err
}

// pages lists every instance query matches, page after page with NextToken.
func (l *regionListing) pages(ctx context.Context, query map[string]any) error {
	query["MaxResults"] = pageSize
	for n := 0; ; n++ {
		page, err := l.describe(ctx, query)
		if err != nil {
			return err
		}
		l.merge(page.Instances.Instance)
		if page.NextToken == "" {
			return nil
		}
		if n >= 10000 {
			return &Error{Kind: KindInternal, Code: CodeInvalidResponse, Summary: "ECS kept returning pages; the listing was stopped."}
		}
		query["NextToken"] = page.NextToken
	}
}

// byZone pages each zone, at most ZoneConcurrency at once; the first
// failure stops the others.
func (l *regionListing) byZone(ctx context.Context, zones []string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.c.opts.ZoneConcurrency)
	for _, z := range zones {
		g.Go(func() error { return l.pages(gctx, map[string]any{"RegionId": l.region, "ZoneId": z}) })
	}
	return g.Wait()
}

// zoneList is DescribeZones' answer joined with the zones the last listing
// met; without an answer, the latter alone.
func (l *regionListing) zoneList(ctx context.Context) []string {
	met, _ := l.c.zones.Load(l.region)
	zones, _ := met.([]string) // nil when never listed
	zones = slices.Clone(zones)
	for _, z := range l.describeZones(ctx) {
		if !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	slices.Sort(zones)
	return zones
}

// describeZones asks ECS for the region's zones; nil when it cannot say.
func (l *regionListing) describeZones(ctx context.Context) []string {
	sdk, release, e := l.c.sdk(ctx, l.region)
	if e != nil {
		return nil
	}
	defer release()
	var zones []string
	req := &ecsapi.DescribeZonesRequest{RegionId: dara.String(l.region), Verbose: dara.Bool(false)}
	_ = l.c.retry(ctx, func(ctx context.Context, n int) *Error {
		l.n.Add(1)
		began := time.Now()
		resp, err := sdk.DescribeZonesWithContext(ctx, req, l.c.runtime())
		if e := l.c.observe("DescribeZones", n, began, fromSDK(err)); e != nil {
			return e
		}
		if resp != nil && resp.Body != nil && resp.Body.Zones != nil {
			for _, z := range resp.Body.Zones.Zone {
				if id := dara.StringValue(z.ZoneId); id != "" {
					zones = append(zones, id)
				}
			}
		}
		return nil
	}, func(*Error) bool { return true }) // a failure leaves the remembered zones, or paging whole
	return zones
}
