package ecs

import (
	"fmt"
	"strings"
	"testing"
)

func testSnapshot() *Snapshot {
	s := &Snapshot{index: map[string]int{}}
	for i := range 25 {
		region := []string{"cn-hangzhou", "cn-shanghai"}[i%2]
		status := []string{StatusRunning, StatusStopped, StatusStarting}[i%3]
		fam := []string{"ecs.g7", "ecs.i2"}[i%2]
		s.Instances = append(s.Instances, &Instance{ID: fmt.Sprintf("i-abcdefgh%02d", i), Name: fmt.Sprintf("Web-%02d", i),
			Region: region, Status: status, Family: fam, PrivateIPs: []string{fmt.Sprintf("10.0.0.%d", i)}})
	}
	return s
}

func ids(f Found) []string {
	var out []string
	for _, in := range f.Instances {
		out = append(out, in.ID)
	}
	return out
}

func TestFindFiltersByEveryFieldTogether(t *testing.T) {
	t.Parallel()
	s := testSnapshot()
	f := s.Find(Query{Region: "cn-hangzhou", Status: StatusRunning, PerPage: 50})
	// even indexes are cn-hangzhou, multiples of 3 are Running: 0, 6, 12, 18, 24
	if got := fmt.Sprint(ids(f)); got != "[i-abcdefgh00 i-abcdefgh06 i-abcdefgh12 i-abcdefgh18 i-abcdefgh24]" || f.Total != 5 {
		t.Fatalf("got %s total %d", got, f.Total)
	}
	if f := s.Find(Query{Family: "ecs.i2", PerPage: 50}); f.Total != 12 {
		t.Fatalf("family: %d", f.Total)
	}
}

func TestFindSearchesIDNameAndIPInAnyCase(t *testing.T) {
	t.Parallel()
	s := testSnapshot()
	for q, want := range map[string]int{"WEB-07": 1, "i-ABCDEFGH1": 10, "10.0.0.2": 6, "nothing": 0} {
		if f := s.Find(Query{Search: q, PerPage: 50}); f.Total != want {
			t.Errorf("search %q: %d matches, want %d", q, f.Total, want)
		}
	}
}

func TestFindPagesAndClampsPastTheEnd(t *testing.T) {
	t.Parallel()
	s := testSnapshot()
	f := s.Find(Query{PerPage: 10, Page: 2})
	if f.Total != 25 || f.Pages != 3 || f.Page != 2 || len(f.Instances) != 10 || f.Instances[0].ID != "i-abcdefgh10" {
		t.Fatalf("page 2: %+v %v", f, ids(f))
	}
	f = s.Find(Query{PerPage: 10, Page: 99})
	if f.Page != 3 || len(f.Instances) != 5 || f.Instances[0].ID != "i-abcdefgh20" {
		t.Fatalf("past the end: page %d %v", f.Page, ids(f))
	}
	if f := s.Find(Query{Search: "nothing", PerPage: 10, Page: 3}); f.Page != 1 || f.Pages != 1 || len(f.Instances) != 0 {
		t.Fatalf("no match: %+v", f)
	}
	// Pointers into the snapshot: nothing is copied.
	if f := s.Find(Query{PerPage: 1}); f.Instances[0] != s.Instances[0] {
		t.Fatal("Find copied an instance")
	}
}

func TestFindSortsByAColumnAndKeepsATotalOrder(t *testing.T) {
	s := testSnapshot()
	f := s.Find(Query{PerPage: 100, Sort: "status"})
	for i := 1; i < len(f.Instances); i++ {
		if f.Instances[i-1].Status > f.Instances[i].Status {
			t.Fatalf("not sorted by status at %d: %s > %s", i, f.Instances[i-1].Status, f.Instances[i].Status)
		}
	}
	d := s.Find(Query{PerPage: 100, Sort: "name", Desc: true})
	if d.Instances[0].Name != "Web-24" || d.Instances[len(d.Instances)-1].Name != "Web-00" {
		t.Fatalf("descending by name: %s … %s", d.Instances[0].Name, d.Instances[len(d.Instances)-1].Name)
	}
	p2 := s.Find(Query{PerPage: 10, Page: 2, Sort: "name"})
	if p2.Total != 25 || p2.Page != 2 || p2.Instances[0].Name != "Web-10" {
		t.Fatalf("page 2 by name: %+v", ids(p2))
	}
	if last := s.Find(Query{PerPage: 10, Page: 99, Sort: "type"}); last.Page != 3 || len(last.Instances) != 5 {
		t.Fatalf("past the end: page %d, %d rows", last.Page, len(last.Instances))
	}
}

// A search over the snapshot's search text finds exactly the instances one
// of whose id, name or IPs holds it (any case), in order, and nothing for
// a search that would span two fields or two instances.
func TestSearchFindsWhatEachFieldHolds(t *testing.T) {
	t.Parallel()
	s := testSnapshot()
	s.search = &lazySearch{}
	fieldsHold := func(in *Instance, q string) bool {
		q = strings.ToLower(q)
		for _, f := range append([]string{strings.ToLower(in.ID), strings.ToLower(in.Name)}, append(in.PrivateIPs, in.PublicIPs...)...) {
			if strings.Contains(f, q) {
				return true
			}
		}
		return false
	}
	for _, q := range []string{"web-0", "WEB-1", "i-abcdefgh2", "10.0.0.1", "4", "24", "abcdefgh24\x00web", "web-24\n", "0.0.", "zz"} {
		var want []string
		for _, in := range s.Instances {
			if fieldsHold(in, q) {
				want = append(want, in.ID)
			}
		}
		if got := ids(s.Find(Query{Search: q, PerPage: 100})); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: found %v, want %v", q, got, want)
		}
	}
}
