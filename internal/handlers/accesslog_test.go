package handlers_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Each request's access log line names, in the same fields whatever made
// it, our request id (as sent back in X-Request-ID), the method, path,
// route template, status, bytes, duration, address and user, and a
// client's own request id only when it sent one (cleaned).
func TestTheAccessLogLineNamesTheRequestsFields(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	h := newHarness(t, opts{logs: logs})
	br := h.loggedIn("op1")
	br.hdr = map[string][]string{"X-Request-Id": {"proxy<1>:abc"}}
	p := br.get("instances?per_page=50")
	if p.status != 200 {
		t.Fatalf("status %d", p.status)
	}
	id := p.resp.Header.Get("X-Request-ID")
	var line map[string]any
	for l := range strings.Lines(logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no access log line for %s in:\n%s", id, logs.String())
	}
	want := []string{"bytes", "client_request_id", "duration_ms", "ip", "level", "method", "msg", "path", "request_id", "route", "status", "time", "user"}
	if got := slices.Sorted(maps.Keys(line)); !slices.Equal(got, want) {
		t.Fatalf("fields %v, want %v", got, want)
	}
	for k, v := range map[string]any{"method": "GET", "path": h.cfg.BasePath() + "instances", "route": h.cfg.BasePath() + "instances",
		"status": 200.0, "ip": "127.0.0.1", "user": "op1", "client_request_id": "proxy1:abc", "level": "INFO"} {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	if b, _ := line["bytes"].(float64); int(b) != len(p.body) {
		t.Errorf("bytes = %v, the body had %d", line["bytes"], len(p.body))
	}
}
