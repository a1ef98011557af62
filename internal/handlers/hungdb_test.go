package handlers_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/db/dbtest"
)

// A signed-in request whose user lookup meets a database that accepts and
// never answers (its prepare, at the first signed-in request) is answered
// 503 in words, with its request id on the page and in the log's error
// line, once the prepare's own deadline passes: not a page that hangs.
func TestASignedInRequestOnADatabaseThatNeverAnswersIsA503InWords(t *testing.T) {
	t.Parallel()
	hole, dsn := dbtest.NewBlackhole(t, dbtest.Postgres(t))
	logs := &lockedBuffer{}
	h := newHarness(t, opts{dbPath: dsn, logs: logs})
	t.Cleanup(hole.Release) // before the harness's own cleanups, which wait for its requests
	b := h.browser()
	b.c.Timeout = 45 * time.Second // past the prepare's 10 s, short of the request's 60 s
	b.get("login")
	if p := b.post("login", url.Values{"username": {"op1"}, "password": {password}}); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d %.300s", p.status, p.body)
	}
	hole.Hold() // before the first signed-in request: its lookup is not prepared yet
	req, _ := http.NewRequest(http.MethodGet, h.url("instances"), nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatalf("a signed-in page on a database that never answers: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	id := resp.Header.Get("X-Request-ID")
	if resp.StatusCode != http.StatusServiceUnavailable || id == "" || !strings.Contains(body, id) || !strings.Contains(body, "Try again") {
		t.Fatalf("status %d, request id %q, page %.600s", resp.StatusCode, id, body)
	}
	hole.Release()
	for l := range strings.Lines(logs.String()) {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request failed" && m["request_id"] == id {
			t.Logf("logged: %s", strings.TrimSpace(l))
			return
		}
	}
	t.Fatalf("no error line with request id %s in the log:\n%.3000s", id, logs.String())
}
