package config_test

import (
	"io"
	"os"
	"strings"
	"testing"

	"ecsdash/internal/config"
)

// The README's configuration table says the one-minute minimum of
// --approval-ttl that Parse holds to.
func TestREADMESaysTheApprovalTTLMinimum(t *testing.T) {
	if _, err := config.Parse([]string{"--approval-ttl", "59s"}, func(string) string { return "" }, io.Discard); err == nil || !strings.Contains(err.Error(), "1m0s") {
		t.Fatalf("--approval-ttl 59s: %v", err)
	}
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "| `--approval-ttl`") {
			if !strings.Contains(line, "1m") && !strings.Contains(line, "minute") {
				t.Fatalf("the README's row does not say the minimum: %s", line)
			}
			return
		}
	}
	t.Fatal("the README has no row for --approval-ttl")
}
