package handlers

import (
	"net/url"
	"slices"
	"testing"
)

// The list's parameters are read as url.ParseQuery (Echo's QueryParam)
// reads them, odd queries included.
func TestQueryParamsAreReadAsParseQueryReadsThem(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"", "q=web&page=2", "q=a+b&q=second", "q=%E4%B8%AD%E6%96%87", "%71=escaped-key", "q=bad%zz&q=good",
		"q;x=1&q=after-semicolon", "q=a;b&q=c", "&&q=&q=x", "q", "q&q=2", "tag=team%3Ddata&tag=env=prod&tag=", "q=%", "=v&q=1",
		"page=1&page=2", "Q=upper&q=lower", "q=1%2B1",
	} {
		want, _ := url.ParseQuery(raw)
		for _, key := range []string{"q", "page", "tag", "Q", ""} {
			first, _ := scanQuery(raw, key, false)
			_, all := scanQuery(raw, key, true)
			if first != want.Get(key) || !slices.Equal(all, want[key]) {
				t.Errorf("%q, %q: got %q %q, want %q %q", raw, key, first, all, want.Get(key), want[key])
			}
		}
	}
}
