package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 15, part 1: after Start the operator comes back to the list as it
// was (filters, page), at the started row; the message names the region.
func TestAfterStartTheListComesBackAsItWas(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	b := h.loggedIn("op1")
	in, other := h.instance("ci-runner-01"), h.instance("ci-runner-02")
	b.hdr.Set("Referer", h.url("instances?region=cn-hangzhou&q=ci-runner&page=1&per_page=100&junk=<x>"))
	p := b.post("instances/"+in.ID+"/start", url.Values{"region": {in.Region}})
	want := "/instances?page=1&per_page=100&q=ci-runner&region=cn-hangzhou#row-" + in.ID
	if p.status != http.StatusSeeOther || p.resp.Header.Get("Location") != want {
		t.Fatalf("after start: %d %q, want %q", p.status, p.resp.Header.Get("Location"), want)
	}
	list := b.get(strings.TrimPrefix(strings.Split(want, "#")[0], "/"))
	if r := list.doc.Find("tr#row-" + in.ID); r.AttrOr("data-instance-id", "") != in.ID {
		t.Fatal("the started row has no anchor")
	}
	if f := list.doc.Find("[data-testid=flash]").Text(); !strings.Contains(f, in.ID+", cn-hangzhou") {
		t.Fatalf("the message does not name the region: %q", f)
	}
	// Another site's page, or another page of ours: the plain list.
	b.hdr.Set("Referer", "https://evil.example/instances?region=x")
	if p := b.post("instances/"+other.ID+"/start", url.Values{"region": {other.Region}}); p.resp.Header.Get("Location") != "/instances#row-"+other.ID {
		t.Fatalf("a foreign referer: %q", p.resp.Header.Get("Location"))
	}
}
