package i18n

import (
	"strconv"
	"strings"
	"testing"
)

// An Accept-Language header seen before is negotiated from memory, with no
// allocation (issue 32); the memory is bounded in headers and in their
// length, and answers as the matching does.
func TestNegotiationIsRememberedBoundedAndTheSame(t *testing.T) {
	const zh = "zh-CN,zh;q=0.9,en;q=0.8"
	if got := Negotiate("", zh); got != Chinese {
		t.Fatalf("%q: %s", zh, got)
	}
	if n := testing.AllocsPerRun(100, func() { Negotiate("", zh) }); n != 0 {
		t.Fatalf("a header seen before costs %.0f allocations", n)
	}
	for i := range 3 * maxNegotiated {
		h := "fr;q=0." + strconv.Itoa(i%10) + ",zh-TW;q=0." + strconv.Itoa(i)
		if got, want := Negotiate("", h), match(h); got != want {
			t.Fatalf("%q: %s, matched %s", h, got, want)
		}
		if Negotiate("", h) != match(h) {
			t.Fatalf("%q remembered wrong", h)
		}
		if len(negotiated.m) > maxNegotiated {
			t.Fatalf("%d headers kept, at most %d", len(negotiated.m), maxNegotiated)
		}
	}
	long := "en;q=0.1," + strings.Repeat("x-a,", maxNegotiatedLen) + "zh-CN"
	if got := Negotiate("", long); got != match(long) {
		t.Fatalf("a long header: %s", got)
	}
	if _, kept := negotiated.get(long); kept {
		t.Fatal("a header longer than the bound was kept")
	}
	if Negotiate("zh-cn", "en") != Chinese || Negotiate("", "") != English || Negotiate("", "!!") != English {
		t.Fatal("a choice, no header or a bad one")
	}
}
