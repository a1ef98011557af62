package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/config"
)

func parse(args []string, env map[string]string) (*config.Config, error) {
	return config.Parse(args, func(k string) string { return env[k] }, io.Discard)
}

func TestDefaultsMatchTheContract(t *testing.T) {
	t.Parallel()
	c, err := parse(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DBPath != "./ecs-dashboard.db" || c.Approval != "init-local-disk" ||
		strings.Join(c.LocalDiskFamilies, ",") != "ecs.d1,ecs.i1,ecs.i2" || c.FrameAncestors[0] != "'self'" ||
		c.BasePath() != "/" || c.SecureCookies() || c.DemoSet || c.RefreshInterval != 30*time.Second || c.ApprovalTTL != 24*time.Hour {
		t.Fatalf("%+v", c)
	}
}

func TestFlagsWinOverEnvironment(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"--addr", "127.0.0.1:9000"}, map[string]string{"ECS_DASHBOARD_ADDR": "127.0.0.1:7000", "ECS_DASHBOARD_APPROVAL": "all"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.Approval != "all" {
		t.Fatalf("addr %s approval %s", c.Addr, c.Approval)
	}
}

func TestDemoSwitchTakesNoValue(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"--demo"}, nil)
	if err != nil || !c.Demo || !c.DemoSet {
		t.Fatalf("%v %+v", err, c)
	}
	c, err = parse([]string{"--demo=false"}, nil)
	if err != nil || c.Demo || !c.DemoSet {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestBaseURLSetsPrefixAndSecureCookies(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"--base-url", "https://portal.example.com/ecs"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.BasePath() != "/ecs/" || !c.SecureCookies() {
		t.Fatalf("base %q secure %v", c.BasePath(), c.SecureCookies())
	}
}

func TestInvalidValuesAreAllReported(t *testing.T) {
	t.Parallel()
	_, err := parse([]string{"--addr", "nope", "--approval", "sometimes", "--regions", "Mars!", "--ecs-endpoint", "ftp://x",
		"--local-disk-families", "d1", "--trusted-proxies", "not-a-cidr", "--auth-header", "X-User",
		"--cross-site-cookies", "--refresh-interval", "1ms", "--group-roles", "ops=root"}, nil)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, flag := range []string{"--addr", "--approval", "--regions", "--ecs-endpoint", "--local-disk-families",
		"--trusted-proxies", "--cross-site-cookies", "--refresh-interval", "--group-roles"} {
		if !strings.Contains(err.Error(), flag) {
			t.Errorf("error does not name %s: %v", flag, err)
		}
	}
}

func TestAuthHeaderNeedsTrustedProxies(t *testing.T) {
	t.Parallel()
	if _, err := parse([]string{"--auth-header", "X-Forwarded-User"}, nil); err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Fatalf("got %v", err)
	}
	c, err := parse([]string{"--auth-header", "X-Forwarded-User", "--trusted-proxies", "10.0.0.0/8,192.168.1.7"}, nil)
	if err != nil || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].Bits() != 32 {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestHelpNamesEveryEnvironmentVariable(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	_, err := config.Parse([]string{"--help"}, func(string) string { return "" }, &out)
	if err != config.ErrHelp {
		t.Fatalf("got %v", err)
	}
	for _, v := range []string{"ECS_DASHBOARD_ADDR", "ECS_DASHBOARD_DB", "ECS_DASHBOARD_REGIONS", "ECS_DASHBOARD_ECS_ENDPOINT",
		"ECS_DASHBOARD_DEMO", "ECS_DASHBOARD_APPROVAL", "ECS_DASHBOARD_LOCAL_DISK_FAMILIES", "ECS_DASHBOARD_SESSION_KEY_FILE",
		"ECS_DASHBOARD_FRAME_ANCESTORS", "ECS_DASHBOARD_AUTH_HEADER", "ECS_DASHBOARD_TRUSTED_PROXIES", "ECS_DASHBOARD_BASE_URL"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("--help does not name %s", v)
		}
	}
}

// FuzzRegions: a region list either fails with a message naming --regions or
// yields ids of the shape ECS uses (no separators, markup or NUL bytes).
func FuzzRegions(f *testing.F) {
	for _, s := range []string{"cn-hangzhou", "cn-hangzhou,ap-southeast-1", "../etc", "cn-hangzhou\x00", "a,,b", "<x>", "us-west-1 ,eu-central-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, regions string) {
		c, err := parse([]string{"--regions", regions}, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "--regions") {
				t.Fatalf("error does not name the flag: %v", err)
			}
			return
		}
		for _, r := range c.Regions {
			for _, ch := range r {
				if !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
					t.Fatalf("accepted region %q", r)
				}
			}
		}
	})
}

func TestNotifyURLsAreRepeatableOrCommaSeparated(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"--notify-url", "https://hooks.example/a,https://hooks.example/b", "--notify-url", "http://127.0.0.1:9/c",
		"--notify-format", "slack"}, map[string]string{"ECS_DASHBOARD_NOTIFY_URL": "https://env.example/x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.NotifyURLs, " ") != "https://hooks.example/a https://hooks.example/b http://127.0.0.1:9/c" || c.NotifyFormat != "slack" {
		t.Fatalf("%v %s", c.NotifyURLs, c.NotifyFormat)
	}
	if c, _ := parse(nil, map[string]string{"ECS_DASHBOARD_NOTIFY_URL": "https://env.example/x"}); strings.Join(c.NotifyURLs, ",") != "https://env.example/x" {
		t.Fatalf("from the environment: %v", c.NotifyURLs)
	}
	for _, args := range [][]string{{"--notify-url", "ftp://x/y"}, {"--notify-url", "not a url"}, {"--notify-format", "xml"}} {
		if _, err := parse(args, nil); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// With a PostgreSQL --db, the key files default to the working directory
// (nothing is "beside" a DSN) and serve is told to warn; each start is a
// new replica unless --replica-id names it.
func TestPostgresKeyFilesAndTheReplicaName(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"--db", "postgres://dash@db.internal/ecs"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionKeyFile != "session-keys" || c.AuditKeyFile != "audit-key" || !c.KeyFilesDefaulted ||
		config.DefaultAuditKeyFile("postgres://dash@db.internal/ecs") != "audit-key" {
		t.Fatalf("defaults: %q %q %v", c.SessionKeyFile, c.AuditKeyFile, c.KeyFilesDefaulted)
	}
	args := []string{"--db", "postgresql://dash@db.internal/ecs", "--session-key-file", "/etc/ecsdash/session-keys", "--audit-key-file", "/etc/ecsdash/audit-key"}
	c1, err := parse(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := parse(args, nil)
	if !c1.Postgres || c1.KeyFilesDefaulted || c1.ReplicaID == "" || c1.ReplicaID == c2.ReplicaID || c1.ReplicaLease != 15*time.Second {
		t.Fatalf("replica %q then %q, lease %s, defaulted %v", c1.ReplicaID, c2.ReplicaID, c1.ReplicaLease, c1.KeyFilesDefaulted)
	}
	c3, err := parse(append(args, "--replica-id", "web-1", "--replica-lease", "5s"), nil)
	if err != nil || c3.ReplicaID != "web-1" || c3.ReplicaLease != 5*time.Second {
		t.Fatalf("%v %+v", err, c3)
	}
	if _, err := parse(append(args, "--replica-id", "has space"), nil); err == nil {
		t.Fatal("a replica id with a space was accepted")
	}
	if c, _ := parse(nil, nil); c.Postgres || c.ReplicaID != "" || c.KeyFilesDefaulted {
		t.Fatal("a SQLite store names a replica")
	}
}

func TestAWebhooksLanguageIsItsURLsFragment(t *testing.T) {
	t.Parallel()
	c, err := parse([]string{"--notify-url", "https://oapi.dingtalk.com/robot/send?access_token=x#lang=zh-CN,https://hooks.example/b",
		"--notify-format", "dingtalk", "--notify-lang", "en"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dt := "https://oapi.dingtalk.com/robot/send?access_token=x"
	if strings.Join(c.NotifyURLs, " ") != dt+" https://hooks.example/b" {
		t.Fatalf("the receivers are %q: the fragment is a setting, not part of the URL", c.NotifyURLs)
	}
	if c.NotifyLangs[dt] != "zh-CN" || c.NotifyLang != "en" || c.NotifyLangs["https://hooks.example/b"] != "" {
		t.Fatalf("languages %v, default %q", c.NotifyLangs, c.NotifyLang)
	}
	for _, bad := range [][]string{{"--notify-url", "https://hooks.example/a#lang=fr"}, {"--notify-url", "https://hooks.example/a#x=1"}, {"--notify-lang", "de"}} {
		if _, err := parse(bad, nil); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
