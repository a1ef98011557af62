package config_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecsdash/internal/config"
)

var updateHelp = flag.Bool("update-help", false, "rewrite testdata/help.txt from today's --help")

// --help is part of the outside (each flag names its variable): a change to
// it is a change to this file, made on purpose.
func TestHelpIsUnchanged(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if _, err := config.Parse([]string{"--help"}, func(string) string { return "" }, &out); err != config.ErrHelp {
		t.Fatalf("got %v", err)
	}
	golden := filepath.Join("testdata", "help.txt")
	if *updateHelp {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != string(want) {
		t.Fatalf("--help changed:\n%s\nwant:\n%s", out.String(), want)
	}
}

// Every flag may come from its environment variable, and the flag wins.
func TestEveryFlagReadsItsVariable(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	config.Parse([]string{"--help"}, func(string) string { return "" }, &out)
	n := 0
	for _, line := range strings.Split(out.String(), "\n") {
		i := strings.Index(line, "(env ECS_DASHBOARD_")
		if i < 0 {
			continue
		}
		n++
		env, _, _ := strings.Cut(line[i+len("(env "):], ")")
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(env, config.EnvPrefix), "_", "-"))
		// A value no flag accepts: the error names the flag, so the
		// variable was read as that flag's value.
		_, err := config.Parse(nil, func(k string) string {
			if k == env {
				return "\x00bad"
			}
			return ""
		}, &out)
		if err == nil || !strings.Contains(err.Error(), "--"+name) {
			if !acceptsAnything[name] {
				t.Errorf("%s=\\x00bad: %v", env, err)
			}
		}
	}
	if n < 30 {
		t.Fatalf("only %d flags name a variable", n)
	}
}

// The flags whose value is a free text or a file's name.
var acceptsAnything = map[string]bool{
	"db": true, "session-key-file": true, "audit-key-file": true, "metrics-token-file": true, "notify-secret-file": true,
	"auth-header": true, "groups-header": true, "ecs-ram-role": true, "replica-id": true, "replica-lease": true,
}
