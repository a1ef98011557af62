package ecssim

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"
)

// referenceDescribe is DescribeInstances' paging as it was before the
// listing was indexed (a scan of the whole region per page): the oracle the
// indexed paging must agree with, answer for answer.
func referenceDescribe(s *Server, q url.Values) map[string]any {
	region := q.Get("RegionId")
	f, ferr := parseFilter(q)
	if ferr != nil {
		return map[string]any{"Code": ferr.code}
	}
	s.mu.Lock()
	ids := s.byRegion[region]
	var matched []*instance
	for i := len(ids) - 1; i >= 0; i-- {
		in := s.instances[ids[i]]
		if f.matches(in, s.statusOf(in)) {
			matched = append(matched, in)
		}
	}
	s.mu.Unlock()
	if (f.tagged || f.group != "") && len(matched) > MaxTagResults {
		matched = matched[:MaxTagResults]
	}
	listing := region + "/" + f.key
	resp := map[string]any{}
	var page []*instance
	if (q.Has("PageNumber") || q.Has("PageSize")) && !q.Has("MaxResults") && !q.Has("NextToken") {
		resp["TotalCount"] = len(matched)
		num, err1 := intParam(q, "PageNumber", 1, 1, 1<<30)
		size, err2 := intParam(q, "PageSize", 10, 1, 100)
		if err1 != nil || err2 != nil {
			return map[string]any{"Code": "InvalidParameter"}
		}
		from := min((num-1)*size, len(matched))
		page = matched[from:min(from+size, len(matched))]
		resp["PageNumber"], resp["PageSize"] = num, size
	} else {
		max, err := intParam(q, "MaxResults", 10, 1, 100)
		if err != nil {
			return map[string]any{"Code": "InvalidParameter.MaxResults"}
		}
		from := 0
		if tok := q.Get("NextToken"); tok != "" {
			n, err := decodeToken(tok, listing)
			if err != nil || n > len(matched) {
				return map[string]any{"Code": "InvalidParameter.NextToken"}
			}
			from = n
		}
		to := min(from+max, len(matched))
		page = matched[from:to]
		next := ""
		if to < len(matched) {
			next = encodeToken(to, listing)
		}
		resp["NextToken"] = next
	}
	var list []string
	for _, in := range page {
		list = append(list, in.ID)
	}
	resp["Instances"] = list
	return resp
}

// describeAnswer calls the simulator's DescribeInstances and keeps what the
// reference gives: the code of a refusal, or the page's ids and paging.
func describeAnswer(t *testing.T, s *Server, q url.Values) map[string]any {
	t.Helper()
	rec := httptest.NewRecorder()
	s.describeInstances(rec, q)
	var body struct {
		Code       string
		NextToken  *string
		TotalCount *int
		PageNumber *int
		PageSize   *int
		Instances  struct{ Instance []struct{ InstanceId string } }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%v: %v", q, err)
	}
	if body.Code != "" {
		return map[string]any{"Code": body.Code}
	}
	resp := map[string]any{}
	if body.NextToken != nil {
		resp["NextToken"] = *body.NextToken
	}
	if body.TotalCount != nil {
		resp["TotalCount"] = *body.TotalCount
		resp["PageNumber"], resp["PageSize"] = *body.PageNumber, *body.PageSize
	}
	var list []string
	for _, in := range body.Instances.Instance {
		list = append(list, in.InstanceId)
	}
	resp["Instances"] = list
	return resp
}

func sameAnswer(t *testing.T, what string, s *Server, q url.Values) map[string]any {
	t.Helper()
	want := referenceDescribe(s, q)
	got := describeAnswer(t, s, q)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s %v:\n got %v\nwant %v", what, q, got, want)
	}
	return got
}

// TestIndexedPagingAnswersAsTheScanDid pages every kind of filter both ways
// (NextToken and PageNumber), with instances created and started during the
// listing, and compares each answer with the whole-region scan's.
func TestIndexedPagingAnswersAsTheScanDid(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s := New(Options{Instances: 4500, Seed: 7, Now: func() time.Time { return now }})
	region := "cn-hangzhou"
	ids := s.InstanceIDs(region)
	for _, id := range ids[:40] {
		s.SetStatus(id, "Starting")
	}
	s.mu.Lock()
	for _, id := range ids[:40] {
		s.instances[id].startedAt = now // Running once the start delay has passed
	}
	public := s.instances[ids[5]].PublicIP
	s.mu.Unlock()
	filters := []url.Values{
		{},
		{"ZoneId": {region + "-h"}},
		{"ZoneId": {region + "-i"}, "Status": {"Stopped"}},
		{"Status": {"Starting"}},
		{"Status": {"Running"}},
		{"InstanceType": {"ecs.g7.large"}},
		{"Tag.1.Key": {"team"}},             // every instance: the 1,000 cap
		{"ResourceGroupId": {"rg-nothing"}}, // the default group's, capped too
		{"Tag.1.Key": {"team"}, "ZoneId": {region + "-j"}},
		{"InstanceName": {"node-01*"}},
		{"InstanceIds": {fmt.Sprintf("[%q,%q,%q,\"i-none\"]", ids[3], ids[1000], ids[len(ids)-1])}},
		{"PublicIpAddresses": {fmt.Sprintf("[%q]", public)}},
		{"InstanceType": {"ecs.none.large"}},
	}
	for fi, f := range filters {
		base := func() url.Values {
			q := url.Values{"RegionId": {region}}
			for k, v := range f {
				q[k] = v
			}
			return q
		}
		for _, max := range []string{"", "7", "100"} {
			q := base()
			if max != "" {
				q.Set("MaxResults", max)
			}
			for page := 0; ; page++ {
				got := sameAnswer(t, fmt.Sprintf("filter %d page %d", fi, page), s, q)
				if page == 3 && max == "100" {
					// Created and started during the listing: later pages
					// move down, and the Starting ones turn Running.
					if _, err := s.Add(region, fmt.Sprintf("node-%05d", 90000+fi), "ecs.g7.large", "Running"); err != nil {
						t.Fatal(err)
					}
					now = now.Add(5 * time.Second)
				}
				tok, _ := got["NextToken"].(string)
				if tok == "" {
					break
				}
				if page > 2000 {
					t.Fatalf("filter %d: the listing did not end", fi)
				}
				q.Set("NextToken", tok)
			}
			// A token beyond the listing, of another listing, and not a token.
			q.Set("NextToken", encodeToken(len(ids)+500, region+"/"+mustFilter(t, base()).key))
			sameAnswer(t, "far token", s, q)
			q.Set("NextToken", encodeToken(1, "cn-shanghai/x"))
			sameAnswer(t, "foreign token", s, q)
			q.Set("NextToken", "%%%")
			sameAnswer(t, "garbage token", s, q)
		}
		for _, paging := range [][2]string{{"1", "100"}, {"2", "100"}, {"3", ""}, {"", "7"}, {"15", "100"}, {"9999", "50"}, {"0", "10"}, {"1", "101"}} {
			q := base()
			if paging[0] != "" {
				q.Set("PageNumber", paging[0])
			}
			if paging[1] != "" {
				q.Set("PageSize", paging[1])
			}
			sameAnswer(t, "page number", s, q)
			q.Set("MaxResults", "20") // MaxResults wins over PageNumber/PageSize
			sameAnswer(t, "both pagings", s, q)
		}
	}
	if slices.Equal(s.InstanceIDs(region), ids) {
		t.Fatal("no instance was created during the listings")
	}
}

func mustFilter(t *testing.T, q url.Values) filter {
	t.Helper()
	f, err := parseFilter(q)
	if err != nil {
		t.Fatal(err.message)
	}
	return f
}

// BenchmarkDescribeInstancesFullListing pages one region whole with
// NextToken, unfiltered and then by each zone (as the dashboard lists a big
// region); ns/instance should stay flat as the fleet grows.
func BenchmarkDescribeInstancesFullListing(b *testing.B) {
	for _, n := range []int{10_000, 50_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := New(Options{Instances: n, Seed: 1})
			region := "cn-hangzhou"
			zones := s.zonesOf(region)
			listed := 0
			list := func(q url.Values) {
				q.Set("RegionId", region)
				q.Set("MaxResults", "100")
				for {
					rec := httptest.NewRecorder()
					s.describeInstances(rec, q)
					var body struct {
						NextToken string
						Instances struct{ Instance []struct{ InstanceId string } }
					}
					if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
						b.Fatal(err)
					}
					listed += len(body.Instances.Instance)
					if body.NextToken == "" {
						return
					}
					q.Set("NextToken", body.NextToken)
				}
			}
			b.ResetTimer()
			for b.Loop() {
				list(url.Values{})
				for _, z := range zones {
					list(url.Values{"ZoneId": {z}})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(listed), "ns/instance")
		})
	}
}
