package ecs

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"sync"

	"ecsdash/internal/scope"
)

// Query narrows the fleet for a list page. Empty fields do not filter.
type Query struct {
	Search  string // part of an id, a name or an IP, any case
	Region  string
	Status  string
	Family  string
	Account string // an --accounts name
	Page    int    // 1-based; past the last page means the last page
	PerPage int
	Sort    string // "" (region, then name), name, status, type, region or expiry
	Desc    bool
	// Match is a scope expression the instances must meet (the list's tag=
	// and rg= filters), canonical (scope.Scope.String); "" matches all.
	Match string
	// Visible is the key of the scopes the viewer's grants cover
	// (scope.Set.Key): "" every instance. Only what some grant covers is
	// listed, and only the instance's own fields decide it (never ECS's
	// ResourceGroupId filter, which lists the default group too).
	Visible string
}

// SortKeys are the columns a list may be sorted by.
var SortKeys = []string{"name", "status", "type", "region", "expiry"}

// less orders two instances by key, then by region, name and id, so that
// the order is total and stable between snapshots.
func less(key string, a, b *Instance) int {
	var c int
	switch key {
	case "name":
		c = strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	case "status":
		c = strings.Compare(a.Status, b.Status)
	case "type":
		c = strings.Compare(a.Type, b.Type)
	case "expiry":
		// Instances with an expiry first, soonest first.
		switch {
		case a.ExpiredTime.IsZero() != b.ExpiredTime.IsZero():
			c = map[bool]int{true: 1, false: -1}[a.ExpiredTime.IsZero()]
		default:
			c = a.ExpiredTime.Compare(b.ExpiredTime)
		}
	}
	if c != 0 {
		return c
	}
	return cmp.Or(strings.Compare(a.Region, b.Region), strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID))
}

// Found is one page of a query: pointers into the snapshot (no instance is
// copied), the number of matches, and the page shown.
type Found struct {
	Instances []*Instance
	Total     int
	Page      int
	Pages     int
}

// Find runs q over the snapshot in its order.
func (s *Snapshot) Find(q Query) Found {
	per := max(q.PerPage, 1)
	search := strings.ToLower(q.Search)
	match, visible := scope.Stored(q.Match), scope.ParseKey(q.Visible)
	keep := func(in *Instance) bool {
		return (q.Region == "" || in.Region == q.Region) && (q.Status == "" || in.Status == q.Status) &&
			(q.Family == "" || in.Family == q.Family) && (q.Account == "" || in.Account == q.Account) &&
			(q.Match == "" || match.Covers(in.Target())) && (q.Visible == "" || visible.Covers(in.Target()))
	}
	// each calls fn with every match in the snapshot's order: a search reads
	// the snapshot's search text, so only its hits are looked at.
	each := func(fn func(*Instance)) {
		if search == "" {
			for _, in := range s.Instances {
				if keep(in) {
					fn(in)
				}
			}
			return
		}
		s.searchText().each(search, func(i int) {
			if in := s.Instances[i]; keep(in) {
				fn(in)
			}
		})
	}
	// One pass counts the matches and keeps the requested page's.
	window := func(from int) (view []*Instance, total int) {
		view = make([]*Instance, 0, per)
		each(func(in *Instance) {
			if total >= from && len(view) < per {
				view = append(view, in)
			}
			total++
		})
		return view, total
	}
	if q.Sort != "" && (q.Sort != "region" || q.Desc) {
		// Another order than the snapshot's: the matches are gathered and
		// sorted (once per snapshot and query: the caller caches Found).
		var all []*Instance
		each(func(in *Instance) { all = append(all, in) })
		slices.SortStableFunc(all, func(a, b *Instance) int {
			if q.Desc {
				return less(q.Sort, b, a)
			}
			return less(q.Sort, a, b)
		})
		pages := max(1, (len(all)+per-1)/per)
		page := min(max(q.Page, 1), pages)
		from := (page - 1) * per
		return Found{Instances: all[from:min(from+per, len(all))], Total: len(all), Page: page, Pages: pages}
	}
	page := max(q.Page, 1)
	view, total := window((page - 1) * per)
	pages := max(1, (total+per-1)/per)
	if page > pages {
		page = pages
		view, _ = window((page - 1) * per)
	}
	return Found{Instances: view, Total: total, Page: page, Pages: pages}
}

// searchText is what a search reads: each instance's id, name and IPs, in
// lower case, one line an instance in the snapshot's order, in one string.
// A search is a strings.Index over it, not a lower-casing of every field of
// every instance per query: at 50,000 instances that walk, through 50,000
// scattered structs, was most of an uncached search's time.
type searchText struct {
	text  string
	start []int32 // where each instance's line begins
}

// fieldSep parts the fields on a line: a search holding it or a newline
// matches nothing, as no field holds either.
const fieldSep = "\x00"

func newSearchText(list []*Instance) *searchText {
	var b strings.Builder
	st := &searchText{start: make([]int32, len(list))}
	for i, in := range list {
		st.start[i] = int32(b.Len())
		b.WriteString(strings.ToLower(in.ID))
		b.WriteString(fieldSep)
		b.WriteString(strings.ToLower(in.Name))
		for _, ips := range [][]string{in.PrivateIPs, in.PublicIPs} {
			for _, ip := range ips {
				b.WriteString(fieldSep)
				b.WriteString(ip)
			}
		}
		b.WriteByte('\n')
	}
	st.text = b.String()
	return st
}

// each calls fn with the index of every instance whose id, name or an IP
// holds search (lower case), in order.
func (st *searchText) each(search string, fn func(int)) {
	if strings.Contains(search, fieldSep) || strings.Contains(search, "\n") {
		return
	}
	for pos, line := 0, 0; pos < len(st.text); {
		j := strings.Index(st.text[pos:], search)
		if j < 0 {
			return
		}
		at := int32(pos + j)
		// The hit's line: the last one that begins at or before it.
		line += sort.Search(len(st.start)-line, func(k int) bool { return st.start[line+k] > at }) - 1
		fn(line)
		line++
		if line >= len(st.start) {
			return
		}
		pos = int(st.start[line])
	}
}

// lazySearch builds a snapshot's search text on its first search.
type lazySearch struct {
	once sync.Once
	st   *searchText
}

// searchText is the snapshot's search text, built once.
func (s *Snapshot) searchText() *searchText {
	if s.search == nil { // a snapshot made by hand (tests)
		return newSearchText(s.Instances)
	}
	s.search.once.Do(func() { s.search.st = newSearchText(s.Instances) })
	return s.search.st
}
