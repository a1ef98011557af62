package ecs_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

func TestAccountsFileParsesTheContractsExample(t *testing.T) {
	t.Parallel()
	specs, err := ecs.ParseAccounts(strings.NewReader(`
accounts:
  - name: prod
    role_arn: acs:ram::1234567890123456:role/ecs-dashboard
    regions: [cn-hangzhou, cn-shanghai]
    external_id: "abc"
  - name: staging
    access_key_id_env: STAGING_ACCESS_KEY_ID
    access_key_secret_env: STAGING_ACCESS_KEY_SECRET
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].UID() != "1234567890123456" || specs[0].ExternalID != "abc" || len(specs[0].Regions) != 2 ||
		specs[1].AccessKeyIDEnv != "STAGING_ACCESS_KEY_ID" || specs[1].UID() != "" {
		t.Fatalf("parsed %+v", specs)
	}
}

func TestAccountsFileRefusesWhatItDoesNotKnowInWords(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct{ yaml, words string }{
		"unknown key":  {"accounts:\n  - name: a\n    role_arn: acs:ram::1:role/r\n    role: x\n", "field role not found"},
		"typo at top":  {"acounts: []\n", "field acounts not found"},
		"both ways":    {"accounts:\n  - name: a\n    role_arn: acs:ram::1:role/r\n    access_key_id_env: A\n    access_key_secret_env: B\n", "not both"},
		"neither way":  {"accounts:\n  - name: a\n", "give role_arn"},
		"bad arn":      {"accounts:\n  - name: a\n    role_arn: arn:aws:iam::1:role/r\n", "is not acs:ram::ACCOUNT-ID:role/ROLE-NAME"},
		"twice":        {"accounts:\n  - name: a\n    role_arn: acs:ram::1:role/r\n  - name: A\n    role_arn: acs:ram::2:role/r\n", "used twice"},
		"a key inline": {"accounts:\n  - name: a\n    access_key_id_env: LTAI5t/xyz=\n    access_key_secret_env: B\n", "name environment variables"},
		"bad region":   {"accounts:\n  - name: a\n    role_arn: acs:ram::1:role/r\n    regions: [../etc]\n", "is not a region id"},
		"empty":        {"", "empty"},
		"none":         {"accounts: []\n", "names no accounts"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ecs.ParseAccounts(strings.NewReader(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("error %v, want one saying %q", err, tc.words)
			}
		})
	}
}

func TestSessionNameIsValidForSTSAndDeterministic(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9.@_-]{2,64}$`)
	for _, ok := range []string{"olivia", "olivia.smith@example.com", "a-b_c"} {
		if got := ecs.SessionName(ok); got != ok {
			t.Errorf("SessionName(%q) = %q, want it kept", ok, got)
		}
	}
	if got := ecs.SessionName("olivia smith"); got != "olivia_smith-07db79bf" {
		t.Errorf("SessionName(%q) = %q, want the documented olivia_smith-07db79bf", "olivia smith", got)
	}
	seen := map[string]string{}
	for _, user := range []string{"olivia smith", "olivia_smith", "a", "", "用户", "x/y:z", strings.Repeat("n", 100), strings.Repeat("n", 101), "CN\\olivia"} {
		got := ecs.SessionName(user)
		if !valid.MatchString(got) {
			t.Errorf("SessionName(%q) = %q, which STS refuses", user, got)
		}
		if again := ecs.SessionName(user); again != got {
			t.Errorf("SessionName(%q) is %q, then %q", user, got, again)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("SessionName(%q) = SessionName(%q) = %q", user, other, got)
		}
		seen[got] = user
	}
}

// cloudRig is a simulated cloud with a role account (prod) and a key
// account (staging), and a Client over both, whose base credentials are
// the demo key (prod's first key stands for the management account's).
type cloudRig struct {
	cloud         *ecssim.Cloud
	prod, staging *ecssim.Account
	sts           *ecs.STS
	client        *ecs.Client
	ahead         atomic.Int64
}

func newCloudRig(t *testing.T, mod func(*ecs.STSOptions)) *cloudRig {
	t.Helper()
	r := &cloudRig{}
	now := func() time.Time { return time.Now().Add(time.Duration(r.ahead.Load())) }
	r.cloud = ecssim.NewCloud(now)
	one := []string{"cn-hangzhou"}
	r.prod = r.cloud.AddAccount("prod", "1234567890123456", "", "", ecssim.Options{Regions: one, Instances: 6, Seed: 11})
	r.staging = r.cloud.AddAccount("staging", "6543210987654321", "", "", ecssim.Options{Regions: one, Instances: 4, Seed: 22})
	srv := httptest.NewServer(r.cloud)
	t.Cleanup(srv.Close)
	base, err := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	if err != nil {
		t.Fatal(err)
	}
	so := ecs.STSOptions{Endpoint: srv.URL, Credential: base, Timeout: 2 * time.Second, Now: now}
	if mod != nil {
		mod(&so)
	}
	if r.sts, err = ecs.NewSTS(so); err != nil {
		t.Fatal(err)
	}
	stagingCred, err := ecs.StaticCredential(r.staging.KeyID, r.staging.KeySecret)
	if err != nil {
		t.Fatal(err)
	}
	r.client, err = ecs.New(ecs.Options{Endpoint: srv.URL, Timeout: 2 * time.Second, STS: r.sts,
		Sleep: func(context.Context, time.Duration) error { return nil },
		Accounts: []ecs.Options{
			{Account: "prod", AccountID: "1234567890123456", RoleARN: r.prod.RoleARN("ecs-dashboard"), Regions: one},
			{Account: "staging", Credential: stagingCred, Regions: one},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *cloudRig) list(t *testing.T) []ecs.Instance {
	t.Helper()
	list, _, err := r.client.ListRegion(context.Background(), "cn-hangzhou")
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// stopped is a Stopped instance of account a.
func (r *cloudRig) stopped(t *testing.T, a *ecssim.Account, skip int) string {
	t.Helper()
	for _, id := range a.Sim.InstanceIDs("cn-hangzhou") {
		if a.Sim.Status(id) == "Stopped" {
			if skip == 0 {
				return id
			}
			skip--
		}
	}
	t.Fatalf("account %s has too few stopped instances", a.Name)
	return ""
}

func TestSeveralAccountsAreListedEachUnderItsName(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	by := map[string]int{}
	for _, in := range r.list(t) {
		by[in.Account]++
	}
	if by["prod"] != len(r.prod.Sim.InstanceIDs("cn-hangzhou")) || by["staging"] != len(r.staging.Sim.InstanceIDs("cn-hangzhou")) || len(by) != 2 {
		t.Fatalf("listed per account %v, want prod 6 and staging 4", by)
	}
	if got := r.cloud.AssumedSessions(); len(got) != 1 || got[0] != ecs.ListingSession {
		t.Fatalf("roles assumed under %q, want the listing under %q only", got, ecs.ListingSession)
	}
	if got := r.client.Accounts(); len(got) != 2 || got[0] != "prod" || got[1] != "staging" {
		t.Fatalf("Accounts() = %q", got)
	}
}

func TestAStartInARoleAccountIsSignedWithAKeyAssumedUnderTheUsersName(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	r.list(t)
	id := r.stopped(t, r.prod, 0)
	ctx, who := ecs.As(context.Background(), "olivia")
	if _, err := r.client.StartInstance(ctx, "cn-hangzhou", id, false, ecs.Hooks{}); err != nil {
		t.Fatal(err)
	}
	signed := r.cloud.Signed()
	last := signed[len(signed)-1]
	if last.Account != "prod" || last.Session != "olivia" || !strings.HasPrefix(last.AccessKeyID, "STS.") {
		t.Fatalf("the start reached ECS as %+v, want prod under session olivia with an STS key", last)
	}
	if *who != (ecs.Identity{Account: "prod", AccountID: "1234567890123456", SessionName: "olivia", AccessKeyID: last.AccessKeyID}) {
		t.Fatalf("the caller was told %+v", *who)
	}
	if r.prod.Sim.Status(id) == "Stopped" {
		t.Fatal("the instance was not started")
	}
}

func TestAStartInAKeyAccountIsSignedWithItsOwnKeys(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	r.list(t)
	id := r.stopped(t, r.staging, 0)
	ctx, who := ecs.As(context.Background(), "olivia")
	if _, err := r.client.StartInstance(ctx, "cn-hangzhou", id, false, ecs.Hooks{}); err != nil {
		t.Fatal(err)
	}
	last := r.cloud.Signed()[len(r.cloud.Signed())-1]
	if last.Account != "staging" || last.AccessKeyID != r.staging.KeyID || last.Session != "" {
		t.Fatalf("the start reached ECS as %+v, want staging's own key", last)
	}
	if *who != (ecs.Identity{Account: "staging", AccessKeyID: r.staging.KeyID}) {
		t.Fatalf("the caller was told %+v", *who)
	}
}

func TestAnUnlistedInstanceIsFoundInItsAccount(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	id := r.stopped(t, r.staging, 1)
	ctx, _ := ecs.As(context.Background(), "arthur")
	if _, err := r.client.DryRun(ctx, "cn-hangzhou", id, false); err != nil {
		t.Fatal(err)
	}
	if last := r.cloud.Signed()[len(r.cloud.Signed())-1]; last.Account != "staging" || !last.DryRun {
		t.Fatalf("the dry run reached %+v", last)
	}
}

func TestAssumedCredentialsAreReusedPerSession(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	r.list(t)
	ids := []string{r.stopped(t, r.prod, 0), r.stopped(t, r.prod, 1), r.stopped(t, r.prod, 2)}
	ctx, _ := ecs.As(context.Background(), "olivia")
	for i := range 5 {
		if i < len(ids) {
			if _, err := r.client.StartInstance(ctx, "cn-hangzhou", ids[i], false, ecs.Hooks{}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := r.client.DryRun(ctx, "cn-hangzhou", ids[0], false); err == nil {
			t.Fatal("a dry run of a started instance passed")
		}
	}
	if n := r.cloud.AssumeRoleCalls(); n > 2 {
		t.Fatalf("five starts after a listing made %d AssumeRole calls, want at most 2", n)
	}
}

func TestConcurrentFirstCallsShareOneAssumeRole(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	r.list(t)
	id := r.stopped(t, r.prod, 0)
	before := r.cloud.AssumeRoleCalls()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ctx, _ := ecs.As(context.Background(), "arthur")
			if _, err := r.client.DryRun(ctx, "cn-hangzhou", id, false); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := r.cloud.AssumeRoleCalls() - before; n != 1 {
		t.Fatalf("eight concurrent first dry runs made %d AssumeRole calls, want 1", n)
	}
}

func TestAssumedCredentialsAreRenewedShortlyBeforeTheyExpire(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, func(o *ecs.STSOptions) { o.Duration = 900 * time.Second })
	r.list(t)
	if n := r.cloud.AssumeRoleCalls(); n != 1 {
		t.Fatalf("%d AssumeRole calls for one listing", n)
	}
	r.ahead.Store(int64(600 * time.Second)) // 300 s left of 900: still good
	r.list(t)
	if n := r.cloud.AssumeRoleCalls(); n != 1 {
		t.Fatalf("credentials with 300 s left were assumed again (%d calls)", n)
	}
	r.ahead.Store(int64(780 * time.Second)) // 120 s left: renewed before ECS refuses them
	r.list(t)
	if n := r.cloud.AssumeRoleCalls(); n != 2 {
		t.Fatalf("credentials with 120 s left were not renewed (%d calls)", n)
	}
}

func TestARefusedRoleIsNamedWhileTheOtherAccountsList(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	r.cloud.RefuseRole(r.prod.RoleARN("ecs-dashboard"))
	list := r.list(t)
	for _, in := range list {
		if in.Account != "staging" {
			t.Fatalf("listed %s of %q", in.ID, in.Account)
		}
	}
	if len(list) != 4 {
		t.Fatalf("staging listed %d instances, want 4", len(list))
	}
	errs := r.client.AccountErrors()
	var e *ecs.Error
	if len(errs) != 1 || !errors.As(errs["prod"], &e) || e.Code != "NoPermission" || !strings.Contains(e.Summary, "refused") {
		t.Fatalf("account errors %v, want prod's refused role in words", errs)
	}
}

func TestSTSOverPlainHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	base, _ := ecs.StaticCredential("a", "b")
	if _, err := ecs.NewSTS(ecs.STSOptions{Endpoint: "http://sts.aliyuncs.com", Credential: base}); err == nil {
		t.Fatal("plain http to a remote STS was accepted")
	}
	for _, ok := range []string{"", "https://sts-vpc.cn-hangzhou.aliyuncs.com", "http://127.0.0.1:9"} {
		if _, err := ecs.NewSTS(ecs.STSOptions{Endpoint: ok, Credential: base}); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func TestTheExternalIDIsSentWhenTheRoleRequiresIt(t *testing.T) {
	t.Parallel()
	r := newCloudRig(t, nil)
	arn := r.prod.RoleARN("ecs-dashboard")
	r.cloud.RequireExternalID(arn, "x-7f3a")
	if _, err := r.sts.Assume(context.Background(), arn, "", "olivia"); err == nil {
		t.Fatal("a role that needs an external id was assumed without one")
	}
	if _, err := r.sts.Assume(context.Background(), arn, "x-7f3a", "olivia"); err != nil {
		t.Fatalf("with the external id: %v", err)
	}
}
