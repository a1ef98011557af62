package handlers_test

import (
	"net/http"
	"testing"
	"unicode"
)

// The API speaks English whatever the caller's Accept-Language or the
// pages' language cookie say: pages are localized, the API is not, and an
// idempotent replay repeats one answer.
func TestAPIErrorsAreEnglishWhateverTheLanguageAsked(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	in := h.stopped(1)[0]
	c := h.apiAs("view")
	const want = "Your role (viewer) may not start instances; ask an operator."
	for name, hdr := range map[string][]string{
		"none":            nil,
		"Accept-Language": {"Accept-Language", "zh-CN,zh;q=0.9"},
		"cookie":          {"Cookie", "ecsdash_lang=zh-CN"},
	} {
		r := c.do("POST", "instances/"+in.ID+"/start", map[string]any{"region": in.Region}, hdr...)
		wantError(t, r, http.StatusForbidden, "forbidden")
		msg := r.errMessage()
		for _, ch := range msg {
			if unicode.Is(unicode.Han, ch) {
				t.Fatalf("%s: a Chinese message from the API: %q", name, msg)
			}
		}
		if msg != want {
			t.Fatalf("%s: %q, want %q", name, msg, want)
		}
	}
}
