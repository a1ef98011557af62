package ecssim_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	legacy "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	legacysts "github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"ecsdash/internal/ecs/ecssim"
)

var legacySTSMu sync.Mutex

// The legacy SDK signs STS calls with the RPC signature (HMAC-SHA1).
func TestCloudAnswersAssumeRoleSignedTheRPCWayAndChecksItsRules(t *testing.T) {
	t.Parallel()
	cloud := ecssim.NewCloud(nil)
	prod := cloud.AddAccount("prod", "1234567890123456", "", "", ecssim.Options{Regions: []string{"cn-hangzhou"}, Instances: 2, Seed: 3})
	staging := cloud.AddAccount("staging", "6543210987654321", "", "", ecssim.Options{Regions: []string{"cn-hangzhou"}, Instances: 2, Seed: 4})
	srv := httptest.NewServer(cloud)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	legacySTSMu.Lock()
	c, err := legacysts.NewClientWithAccessKey("cn-hangzhou", ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	legacySTSMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	assume := func(arn, session string, seconds int) (*legacysts.AssumeRoleResponse, error) {
		req := legacysts.CreateAssumeRoleRequest()
		req.Domain, req.Scheme = u.Host, "http"
		req.RoleArn, req.RoleSessionName = arn, session
		if seconds > 0 {
			req.DurationSeconds = requests.NewInteger(seconds)
		}
		return c.AssumeRole(req)
	}
	for name, tc := range map[string]struct {
		arn, session string
		seconds      int
		code         string
	}{
		"unknown account":    {"acs:ram::999:role/x", "olivia", 0, "EntityNotExist.Role"},
		"malformed arn":      {"arn:aws:iam::1:role/x", "olivia", 0, "InvalidParameter.RoleArn"},
		"space in session":   {staging.RoleARN("r"), "olivia smith", 0, "InvalidParameter.RoleSessionName"},
		"one-letter session": {staging.RoleARN("r"), "o", 0, "InvalidParameter.RoleSessionName"},
		"too short":          {staging.RoleARN("r"), "olivia", 899, "InvalidParameter.DurationSeconds"},
		"too long":           {staging.RoleARN("r"), "olivia", 3601, "InvalidParameter.DurationSeconds"},
	} {
		if _, err := assume(tc.arn, tc.session, tc.seconds); legacyCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	cloud.RefuseRole(staging.RoleARN("locked"))
	if _, err := assume(staging.RoleARN("locked"), "olivia", 0); legacyCode(err) != "NoPermission" {
		t.Errorf("a refused role: %v, want NoPermission", err)
	}

	resp, err := assume(staging.RoleARN("ecs-dashboard"), "olivia", 900)
	if err != nil {
		t.Fatal(err)
	}
	cr := resp.Credentials
	if !strings.HasPrefix(cr.AccessKeyId, "STS.") || cr.SecurityToken == "" || cloud.SessionOf(cr.AccessKeyId) != "olivia" {
		t.Fatalf("credentials %q (session %q)", cr.AccessKeyId, cloud.SessionOf(cr.AccessKeyId))
	}
	if exp, err := time.Parse(time.RFC3339, cr.Expiration); err != nil || time.Until(exp) > 901*time.Second || time.Until(exp) < 800*time.Second {
		t.Fatalf("expiration %q, want about 900 s ahead", cr.Expiration)
	}
	// The STS key lists the role's account, staging, and only with its token.
	legacyMu.Lock()
	ec, err := legacy.NewClientWithStsToken("cn-hangzhou", cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken)
	legacyMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	req := legacy.CreateDescribeInstancesRequest()
	req.Domain, req.Scheme, req.RegionId = u.Host, "http", "cn-hangzhou"
	got, err := ec.DescribeInstances(req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, id := range staging.Sim.InstanceIDs("cn-hangzhou") {
		want[id] = true
	}
	for _, in := range got.Instances.Instance {
		if !want[in.InstanceId] {
			t.Fatalf("the staging session listed %s, not staging's (prod has %v)", in.InstanceId, prod.Sim.InstanceIDs("cn-hangzhou"))
		}
	}
	if len(got.Instances.Instance) != len(want) {
		t.Fatalf("listed %d of staging's %d", len(got.Instances.Instance), len(want))
	}
	// Without its token the STS key is refused.
	legacyMu.Lock()
	bare, err := legacy.NewClientWithAccessKey("cn-hangzhou", cr.AccessKeyId, cr.AccessKeySecret)
	legacyMu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	req = legacy.CreateDescribeInstancesRequest()
	req.Domain, req.Scheme, req.RegionId = u.Host, "http", "cn-hangzhou"
	if _, err := bare.DescribeInstances(req); legacyCode(err) != "MissingSecurityToken" {
		t.Fatalf("an STS key without its token: %v, want MissingSecurityToken", err)
	}
}
