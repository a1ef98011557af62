package main

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecsdash/internal/config"
	"ecsdash/internal/ecs/ecssim"
)

// printedServes is each `web serve` command in the simulator's words, its
// continuation lines joined, as the flags after "web serve".
func printedServes(words string) [][]string {
	var out [][]string
	var cmd string
	for _, l := range strings.Split(words, "\n") {
		l = strings.TrimSpace(l)
		if cont := strings.HasSuffix(l, `\`); cont || cmd != "" || strings.Contains(l, "web serve") {
			cmd += " " + strings.TrimSuffix(l, `\`)
			if cont {
				continue
			}
		}
		if _, flags, ok := strings.Cut(cmd, "web serve"); ok {
			out = append(out, strings.Fields(flags))
		}
		cmd = ""
	}
	return out
}

// Whatever address the simulator listens on, every `web serve` command it
// prints is one serve accepts: on every address (0.0.0.0, ::) the command
// for both accounts asks STS on loopback, where plain http is allowed; on
// one other address there is no such command, and the words say why and
// what to do.
func TestTheSimulatorsPrintedServeCommandsWorkOnAnyAddress(t *testing.T) {
	_, prod, staging := ecssim.NewDemoCloud(ecssim.Options{Seed: 1})
	accounts := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(accounts, []byte(demoAccountsYAML(prod, staging)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ALIBABA_CLOUD_ACCESS_KEY_ID": ecssim.DemoAccessKeyID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ecssim.DemoAccessKeySecret,
		"STAGING_ACCESS_KEY_ID": staging.KeyID, "STAGING_ACCESS_KEY_SECRET": staging.KeySecret}
	for _, c := range []struct {
		addr     string
		wantBoth bool
	}{
		{"127.0.0.1:18501", true},
		{"0.0.0.0:18502", true},
		{"[::]:18503", true},
		{":18504", true},
		{"192.0.2.7:18505", false},
		{"sim.example.internal:18506", false},
	} {
		host, port, err := net.SplitHostPort(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		listenURL := "http://" + net.JoinHostPort(host, port) // as ecssim.Serve names its listener
		if host == "" {
			listenURL = "http://[::]:" + port
		}
		words := serveCommands(listenURL, host, accounts, staging)
		serves := printedServes(words)
		both := false
		for _, flags := range serves {
			if _, err := config.Parse(append(flags, "--db", filepath.Join(t.TempDir(), "d.db")), func(k string) string { return env[k] }, io.Discard); err != nil {
				t.Errorf("--addr %s: the printed `web serve %s` fails: %v", c.addr, strings.Join(flags, " "), err)
			}
			both = both || strings.Contains(strings.Join(flags, " "), "--sts-endpoint")
		}
		if len(serves) == 0 {
			t.Errorf("--addr %s: no web serve command in %q", c.addr, words)
		}
		if both != c.wantBoth {
			t.Errorf("--addr %s: a command for both accounts printed: %v, want %v:\n%s", c.addr, both, c.wantBoth, words)
		}
		if !c.wantBoth && (!strings.Contains(words, "loopback") || !strings.Contains(words, "--addr 127.0.0.1:PORT")) {
			t.Errorf("--addr %s: the words do not say why both accounts cannot be reached, nor how:\n%s", c.addr, words)
		}
	}
}
