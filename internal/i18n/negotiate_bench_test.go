package i18n_test

import (
	"testing"

	"ecsdash/internal/i18n"
)

// BenchmarkNegotiate is a request's language from a browser's usual
// Accept-Language, the same at every request.
func BenchmarkNegotiate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		i18n.Negotiate("", "zh-CN,zh;q=0.9,en;q=0.8")
	}
}
