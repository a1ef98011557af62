package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ecsdash/internal/ecs"
)

func TestAccountsFileIsReadFromTheFlagOrItsVariable(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(file, []byte("accounts:\n  - name: prod\n    role_arn: acs:ram::1234567890123456:role/ecs-dashboard\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func() (string, []ecs.AccountSpec, string, error){
		"flag": func() (string, []ecs.AccountSpec, string, error) {
			c, err := parse([]string{"--accounts", file, "--sts-endpoint", "http://127.0.0.1:18801"}, nil)
			if err != nil {
				return "", nil, "", err
			}
			return c.AccountsFile, c.Accounts, c.STSEndpoint, nil
		},
		"variable": func() (string, []ecs.AccountSpec, string, error) {
			c, err := parse(nil, map[string]string{"ECS_DASHBOARD_ACCOUNTS": file, "ECS_DASHBOARD_STS_ENDPOINT": "http://127.0.0.1:18801"})
			if err != nil {
				return "", nil, "", err
			}
			return c.AccountsFile, c.Accounts, c.STSEndpoint, nil
		},
	} {
		got, specs, sts, err := run()
		if err != nil || got != file || len(specs) != 1 || specs[0].Name != "prod" || sts != "http://127.0.0.1:18801" {
			t.Errorf("%s: %q %+v %q %v", name, got, specs, sts, err)
		}
	}
	c, err := parse(nil, nil)
	if err != nil || c.Accounts != nil || c.STSEndpoint != ecs.DefaultSTSEndpoint {
		t.Fatalf("defaults: %+v %q %v", c.Accounts, c.STSEndpoint, err)
	}
}

func TestAccountsFileAndSTSEndpointAreRefusedInWords(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "accounts.yaml")
	if err := os.WriteFile(file, []byte("accounts:\n  - name: prod\n    rolearn: acs:ram::1:role/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for args, words := range map[string]string{
		"--accounts " + file:                           "field rolearn not found",
		"--accounts /nonexistent/accounts.yaml":        "no such file",
		"--sts-endpoint http://sts.aliyuncs.com":       "plain http is allowed only to a loopback address",
		"--sts-endpoint ftp://sts.aliyuncs.com":        "is not an http(s)://host[:port] URL",
		"--sts-endpoint https://sts.aliyuncs.com/path": "is not an http(s)://host[:port] URL",
	} {
		if _, err := parse(strings.Fields(args), nil); err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("%s: %v, want %q", args, err, words)
		}
	}
}
