package i18n_test

import (
	"strings"
	"testing"
	"time"

	"ecsdash/internal/i18n"
)

// A duration or a relative time whose smaller part is zero leaves that
// part out, in every language: "1h", "1 小时", "1 h ago", "1 小时后",
// never "1 小时 0 分钟".
func TestDurationsAndRelativeTimesLeaveOutAZeroPart(t *testing.T) {
	en, zh := i18n.For(i18n.English), i18n.For(i18n.Chinese)
	cases := []struct {
		name, got, want string
	}{
		{"en 1h", en.Duration(time.Hour), "1h"},
		{"zh 1h", zh.Duration(time.Hour), "1 小时"},
		{"en 2h30m", en.Duration(2*time.Hour + 30*time.Minute), "2h30m"},
		{"zh 2h30m", zh.Duration(2*time.Hour + 30*time.Minute), "2 小时 30 分钟"},
		{"en 5m", en.Duration(5 * time.Minute), "5m"},
		{"zh 5m", zh.Duration(5 * time.Minute), "5 分钟"},
		{"en 5m7s", en.Duration(5*time.Minute + 7*time.Second), "5m7s"},
		{"zh 5m7s", zh.Duration(5*time.Minute + 7*time.Second), "5 分钟 7 秒"},
		{"en 0s", en.Duration(0), "0s"},
		{"zh span 1h", i18n.Span(time.Hour).In(zh), "1 小时"},
		{"en ago 1h", en.N("ago.hours", 1, "Minutes", 0), "1 h ago"},
		{"zh ago 1h", zh.N("ago.hours", 1, "Minutes", 0), "1 小时前"},
		{"en ago 1h5m", en.N("ago.hours", 1, "Minutes", 5), "1 h 5 min ago"},
		{"zh ago 1h5m", zh.N("ago.hours", 1, "Minutes", 5), "1 小时 5 分钟前"},
		{"en within 3h", en.N("within.hours", 3, "Minutes", 0), "in 3 h"},
		{"zh within 3h", zh.N("within.hours", 3, "Minutes", 0), "3 小时后"},
		{"en within 3h1m", en.N("within.hours", 3, "Minutes", 1), "in 3 h 1 min"},
		{"zh within 3h1m", zh.N("within.hours", 3, "Minutes", 1), "3 小时 1 分钟后"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
		if strings.Contains(c.got, " 0 ") || strings.Contains(c.got, "h0") {
			t.Errorf("%s = %q says a zero part", c.name, c.got)
		}
	}
}
