package handlers_test

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
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

// The access log's line of a request that did not fail goes to the request
// log (serve's lets those lines wait to be written together, issue 32); a
// failure's line (5xx, logged as an error) goes to the log itself, written
// at once, as do the server's other lines.
func TestARequestsLineGoesToTheRequestLogAndAFailuresToTheLog(t *testing.T) {
	t.Parallel()
	logs, reqLogs := &lockedBuffer{}, &lockedBuffer{}
	h := newHarness(t, opts{logs: logs, reqLogs: reqLogs, beforeUp: func(e *echo.Echo) {
		e.GET("/broken", func(echo.Context) error { return errors.New("broken") })
	}})
	br := h.loggedIn("op1")
	ok, missing, broken := br.get("instances"), br.get("no-such-page"), br.get("broken")
	if ok.status != 200 || missing.status != 404 || broken.status != 500 {
		t.Fatalf("statuses %d, %d, %d", ok.status, missing.status, broken.status)
	}
	lineOf := func(logs *lockedBuffer, p page) map[string]any {
		id := p.resp.Header.Get("X-Request-ID")
		for l := range strings.Lines(logs.String()) {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
				return m
			}
		}
		return nil
	}
	for _, p := range []page{ok, missing} {
		if m := lineOf(reqLogs, p); m == nil || m["level"] != "INFO" {
			t.Errorf("status %d: request log line %v, want one at INFO", p.status, m)
		}
		if m := lineOf(logs, p); m != nil {
			t.Errorf("status %d: also in the log: %v", p.status, m)
		}
	}
	if m := lineOf(logs, broken); m == nil || m["level"] != "ERROR" || m["status"] != 500.0 {
		t.Errorf("the failure's line in the log: %v", m)
	}
	if m := lineOf(reqLogs, broken); m != nil {
		t.Errorf("the failure's line in the request log: %v", m)
	}
	if !strings.Contains(logs.String(), `"msg":"request failed"`) || strings.Contains(reqLogs.String(), `"msg":"request failed"`) {
		t.Error("the failure's own error line is not in the log alone")
	}
}
