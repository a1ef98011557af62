package ecssim

import (
	"net/url"
)

// DescribeInstances pages by an index, so that a page costs what the page
// holds, not what the region holds: paging a region whole used to scan it
// once per page of 100 (19 s at 50,000 instances).
//
// A region's instances are only ever added, at the end of byRegion, and of
// the filtered fields only the status and the public IP change (a start
// does both). So the instances that meet a filter's other conditions stay
// the same ones: their positions in byRegion are kept per region and
// filter, extended over the instances created since, and read newest first.
// A filter with no such condition is byRegion itself. A filter on the
// status or the public IP is evaluated now over those candidates, newest
// first, stopping once the page and the NextToken are known.

// maxIndexes bounds the kept indexes; past it they are dropped and rebuilt
// on demand (an index is a cache: dropping it changes no answer).
const maxIndexes = 64

// matchIndex is the positions in byRegion of a region's instances meeting a
// filter's fixed conditions, oldest first, over byRegion[:scanned].
type matchIndex struct {
	scanned int
	pos     []int32
}

// fixed is f without its conditions on what changes (status, public IP).
func (f *filter) fixed() filter {
	g := *f
	g.status, g.public = "", nil
	return g
}

// none reports whether f has no condition at all.
func (f *filter) none() bool {
	return f.ids == nil && f.private == nil && f.public == nil && f.eip == nil && f.status == "" && f.family == "" &&
		f.zone == "" && f.typ == "" && f.charge == "" && f.lock == "" && f.vpc == "" && f.keyPair == "" &&
		f.group == "" && f.name == "" && !f.tagged
}

// indexKey names the index of q's fixed conditions.
func indexKey(q url.Values) string {
	fixed := url.Values{}
	for k, v := range q {
		if k != "Status" && k != "PublicIpAddresses" {
			fixed[k] = v
		}
	}
	return q.Get("RegionId") + "\x00" + canonicalFilters(fixed)
}

// listing is a DescribeInstances listing's matched instances, newest first,
// found as far as asked.
type listing struct {
	s    *Server
	f    *filter
	ids  []string // byRegion of the region
	cand []int32  // candidates' positions in ids, oldest first; nil: every position
	all  bool     // every candidate matches (no condition on what changes)
	cap  int      // the most instances the listing holds

	found []*instance // matched instances met so far, newest first
	next  int         // candidates examined so far, newest first
}

// newListing prepares f's listing of region; s.mu is held.
func (s *Server) newListing(region string, f *filter, key string) *listing {
	l := &listing{s: s, f: f, ids: s.byRegion[region], cap: len(s.byRegion[region])}
	if f.tagged || f.group != "" {
		l.cap = MaxTagResults // ECS lists at most 1,000 instances for tags or a resource group
	}
	fixed := f.fixed()
	switch {
	case fixed.none():
		l.all = f.none()
	case f.ids != nil:
		// At most 100 ids: their own positions, not an index per id list.
		pos := map[string]bool{}
		for _, id := range f.ids {
			if in, ok := s.instances[id]; ok && in.Region == region {
				pos[id] = true
			}
		}
		l.cand = []int32{}
		for i := len(l.ids) - 1; i >= 0 && len(pos) > 0; i-- {
			if pos[l.ids[i]] {
				delete(pos, l.ids[i])
				l.cand = append(l.cand, int32(i))
			}
		}
		for i, j := 0, len(l.cand)-1; i < j; i, j = i+1, j-1 {
			l.cand[i], l.cand[j] = l.cand[j], l.cand[i]
		}
	default:
		l.cand = s.index(region, &fixed, key)
		l.all = f.status == "" && f.public == nil
	}
	return l
}

// index is the positions of region's instances meeting fixed, extended
// over the instances created since it was last read; s.mu is held.
func (s *Server) index(region string, fixed *filter, key string) []int32 {
	if s.indexes == nil || len(s.indexes) >= maxIndexes {
		s.indexes = map[string]*matchIndex{}
	}
	ix := s.indexes[key]
	if ix == nil {
		ix = &matchIndex{pos: []int32{}} // not nil: nil stands for every position
		s.indexes[key] = ix
	}
	ids := s.byRegion[region]
	for ; ix.scanned < len(ids); ix.scanned++ {
		if fixed.matches(s.instances[ids[ix.scanned]], "") {
			ix.pos = append(ix.pos, int32(ix.scanned))
		}
	}
	return ix.pos
}

// candidates is how many candidates the listing has.
func (l *listing) candidates() int {
	if l.cand == nil {
		return len(l.ids)
	}
	return len(l.cand)
}

// candidate is the i-th candidate, newest first.
func (l *listing) candidate(i int) *instance {
	p := len(l.ids) - 1 - i
	if l.cand != nil {
		p = int(l.cand[len(l.cand)-1-i])
	}
	return l.s.instances[l.ids[p]]
}

// count is how many instances the listing holds, counting no further than
// upTo: min(len(matched), upTo). s.mu is held.
func (l *listing) count(upTo int) int {
	upTo = min(upTo, l.cap)
	if l.all {
		return min(l.candidates(), upTo)
	}
	for len(l.found) < upTo && l.next < l.candidates() {
		in := l.candidate(l.next)
		l.next++
		if l.f.matches(in, l.s.statusOf(in)) {
			l.found = append(l.found, in)
		}
	}
	return len(l.found)
}

// slice is matched[from:to], within what count has found; s.mu is held.
func (l *listing) slice(from, to int) []*instance {
	if !l.all {
		return l.found[from:to]
	}
	page := make([]*instance, 0, to-from)
	for i := from; i < to; i++ {
		page = append(page, l.candidate(i))
	}
	return page
}
