package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"

	"ecsdash/web/templates"
)

// A cookie decoded once is served from memory, shared, and a request that
// changes its session changes a copy of its own; a changed cookie is
// decoded (and refused) afresh, and an entry older than decodedTTL is
// decoded again.
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

	first, shared, err := d.load(req(cookie.Value))
	if err != nil || first.IsNew || !shared || first.Values["uid"] != int64(7) {
		t.Fatalf("first load: %v %v %v %v", err, first.IsNew, shared, first.Values)
	}
	mine := session{s: first, shared: shared}
	mine.set("uid", int64(8)) // this request's change
	mine.flash(templates.Flash{Text: "hello"})
	mine.s.Options.MaxAge = -1
	if mine.s == first || mine.s.Values["uid"] != int64(8) {
		t.Fatalf("the change was not made to a copy: %v", mine.s.Values)
	}
	second, shared, err := d.load(req(cookie.Value))
	if err != nil || second.IsNew || !shared || second.Values["uid"] != int64(7) || second.Values["csrf"] != "tok" ||
		len(second.Values) != 2 || second.Options.MaxAge != 3600 {
		t.Fatalf("second load (from memory): %v %v %v %v", err, second.IsNew, second.Values, second.Options)
	}
	if theirs := (session{s: second, shared: true}); theirs.takeFlashes() != nil || theirs.s != second {
		t.Fatal("another request's flash reached a shared session")
	}
	if len(d.m) != 1 {
		t.Fatalf("%d cookies remembered, want 1", len(d.m))
	}

	tampered := cookie.Value[:len(cookie.Value)-2] + "AA"
	if s, shared, err := d.load(req(tampered)); (err == nil && !s.IsNew) || shared {
		t.Fatalf("a tampered cookie was accepted: %v", s.Values)
	}

	stale := sessions.NewSession(store, cookieName)
	stale.Values["uid"] = int64(99)
	d.m[cookie.Value] = decodedCookie{s: stale, at: now.Add(-decodedTTL)}
	if s, _, err := d.load(req(cookie.Value)); err != nil || s.Values["uid"] != int64(7) {
		t.Fatalf("an entry past its time was served: %v %v", err, s.Values)
	}
}

// The session cookie is found as net/http finds it: the first valid one of
// the name, quotes stripped, in any Cookie line.
func TestCookieValueFindsWhatRequestCookieFinds(t *testing.T) {
	t.Parallel()
	for _, lines := range [][]string{
		{"a=1; ecsdash_session=abc; b=2"},
		{" ecsdash_session = \"q\" "},
		{"ecsdash_session=bad\\value; ecsdash_session=good"},
		{"x=1", "ecsdash_session=second-line"},
		{"ecsdash_sessionx=no; xecsdash_session=no"},
		{"ecsdash_session"},
		{"ecsdash_session="},
		{""},
		{strings.Repeat("a=1;", 3000) + "ecsdash_session=over-the-limit"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Cookie"] = lines
		want, err := r.Cookie(cookieName)
		got, ok := cookieValue(r, cookieName)
		if ok != (err == nil) || (ok && got != want.Value) {
			t.Errorf("%q: cookieValue %q %v, Request.Cookie %v %v", lines, got, ok, want, err)
		}
	}
}
