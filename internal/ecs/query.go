package ecs

import (
	"cmp"
	"slices"
	"strings"
)

// Query narrows the fleet for a list page. Empty fields do not filter.
type Query struct {
	Search  string // part of an id, a name or an IP, any case
	Region  string
	Status  string
	Family  string
	Page    int // 1-based; past the last page means the last page
	PerPage int
	Sort    string // "" (region, then name), name, status, type, region or expiry
	Desc    bool
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
	keep := func(in *Instance) bool {
		return (q.Region == "" || in.Region == q.Region) && (q.Status == "" || in.Status == q.Status) &&
			(q.Family == "" || in.Family == q.Family) && (search == "" || in.matches(search))
	}
	// One pass counts the matches and keeps the requested page's.
	window := func(from int) (view []*Instance, total int) {
		view = make([]*Instance, 0, per)
		for i := range s.Instances {
			in := s.Instances[i]
			if !keep(in) {
				continue
			}
			if total >= from && len(view) < per {
				view = append(view, in)
			}
			total++
		}
		return view, total
	}
	if q.Sort != "" && (q.Sort != "region" || q.Desc) {
		// Another order than the snapshot's: the matches are gathered and
		// sorted (once per snapshot and query: the caller caches Found).
		var all []*Instance
		for _, in := range s.Instances {
			if keep(in) {
				all = append(all, in)
			}
		}
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

// matches reports whether the lower-case search is part of the instance's id,
// name or one of its IPs.
func (i *Instance) matches(search string) bool {
	if strings.Contains(strings.ToLower(i.ID), search) || strings.Contains(strings.ToLower(i.Name), search) {
		return true
	}
	for _, ips := range [][]string{i.PrivateIPs, i.PublicIPs} {
		for _, ip := range ips {
			if strings.Contains(ip, search) {
				return true
			}
		}
	}
	return false
}
