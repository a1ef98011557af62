package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
)

// A cookie decoded once is served from memory, each request with its own
// copy of the values; a changed cookie is decoded (and refused) afresh, and
// an entry older than decodedTTL is decoded again.
func TestDecodedCookiesAreCopiesOfWhatTheCookieSays(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore([]byte(strings.Repeat("h", 64)), []byte(strings.Repeat("e", 32)))
	store.Options = &sessions.Options{Path: "/", MaxAge: 3600}
	now := time.Unix(1_800_000_000, 0)
	d := &decodedCookies{store: store, now: func() time.Time { return now }}

	s := sessions.NewSession(store, cookieName)
	s.Options = store.Options
	s.Values["uid"], s.Values["csrf"] = int64(7), "tok"
	rec := httptest.NewRecorder()
	if err := store.Save(httptest.NewRequest("GET", "/", nil), rec, s); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	req := func(value string) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(&http.Cookie{Name: cookieName, Value: value})
		return r
	}

	first, err := d.load(req(cookie.Value))
	if err != nil || first.IsNew || first.Values["uid"] != int64(7) {
		t.Fatalf("first load: %v %v %v", err, first.IsNew, first.Values)
	}
	first.Values["uid"] = int64(8) // this request's change
	second, err := d.load(req(cookie.Value))
	if err != nil || second.IsNew || second.Values["uid"] != int64(7) || second.Values["csrf"] != "tok" {
		t.Fatalf("second load (from memory): %v %v %v", err, second.IsNew, second.Values)
	}
	if len(d.m) != 1 {
		t.Fatalf("%d cookies remembered, want 1", len(d.m))
	}

	tampered := cookie.Value[:len(cookie.Value)-2] + "AA"
	if s, err := d.load(req(tampered)); err == nil && !s.IsNew {
		t.Fatalf("a tampered cookie was accepted: %v", s.Values)
	}

	d.m[cookie.Value] = decodedCookie{values: map[any]any{"uid": int64(99)}, at: now.Add(-decodedTTL)}
	if s, err := d.load(req(cookie.Value)); err != nil || s.Values["uid"] != int64(7) {
		t.Fatalf("an entry past its time was served: %v %v", err, s.Values)
	}
}
