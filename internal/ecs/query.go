package ecs

import "strings"

// Query narrows the fleet for a list page. Empty fields do not filter.
type Query struct {
	Search  string // part of an id, a name or an IP, any case
	Region  string
	Status  string
	Family  string
	Page    int // 1-based; past the last page means the last page
	PerPage int
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
