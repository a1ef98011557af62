package ecssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

func TestMain(m *testing.M) {
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

// recorder keeps the last request the SDK signed, so a test can replay or
// alter it on the wire.
type recorder struct {
	mu   sync.Mutex
	next http.Handler
	last *http.Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.last = r.Clone(context.Background())
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func signedRequest(t *testing.T, sim *ecssim.Server) (*httptest.Server, *http.Request) {
	t.Helper()
	rec := &recorder{next: sim}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	cred, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	c, err := ecs.New(ecs.Options{Regions: []string{"cn-hangzhou"}, Endpoint: srv.URL, Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ListRegion(context.Background(), "cn-hangzhou"); err != nil {
		t.Fatalf("the SDK's own request was refused: %v", err)
	}
	return srv, rec.last
}

func send(t *testing.T, srv *httptest.Server, r *http.Request, mutate func(*http.Request)) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(r.Method, srv.URL+r.URL.RequestURI(), nil)
	req.Header = r.Header.Clone()
	req.Host = r.Host
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("answer is not JSON: %s", body)
	}
	return resp.StatusCode, m
}

func TestReplayedNonceIsRefused(t *testing.T) {
	t.Parallel()
	srv, r := signedRequest(t, ecssim.New(ecssim.Options{}))
	status, body := send(t, srv, r, nil)
	if status != 400 || body["Code"] != "SignatureNonceUsed" {
		t.Fatalf("replay answered %d %v", status, body)
	}
}

func TestTamperedQueryIsRefused(t *testing.T) {
	t.Parallel()
	srv, r := signedRequest(t, ecssim.New(ecssim.Options{}))
	status, body := send(t, srv, r, func(req *http.Request) {
		q := req.URL.Query()
		q.Set("RegionId", "cn-shanghai")
		req.URL.RawQuery = q.Encode()
		req.Header.Set("x-acs-signature-nonce", "fresh-nonce")
	})
	if status != 400 || body["Code"] != "SignatureDoesNotMatch" {
		t.Fatalf("tampered request answered %d %v", status, body)
	}
}

func TestWrongAPIVersionIsRefused(t *testing.T) {
	t.Parallel()
	srv, r := signedRequest(t, ecssim.New(ecssim.Options{}))
	status, body := send(t, srv, r, func(req *http.Request) { req.Header.Set("x-acs-version", "2016-01-01") })
	if status != 400 || body["Code"] != "InvalidVersion" {
		t.Fatalf("answered %d %v", status, body)
	}
}

func TestSkewedDateIsRefused(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{Now: func() time.Time { return time.Now().Add(20 * time.Minute) }})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cred, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	c, _ := ecs.New(ecs.Options{Regions: []string{"cn-hangzhou"}, Endpoint: srv.URL, Credential: cred, MaxAttempts: 1})
	_, _, err := c.ListRegion(context.Background(), "cn-hangzhou")
	var e *ecs.Error
	if err == nil || !asErr(err, &e) || e.Code != "InvalidTimeStamp.Expired" {
		t.Fatalf("got %v", err)
	}
}

func TestErrorBodiesHaveTheDocumentedFields(t *testing.T) {
	t.Parallel()
	srv, r := signedRequest(t, ecssim.New(ecssim.Options{}))
	_, body := send(t, srv, r, nil)
	for _, f := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if s, _ := body[f].(string); s == "" {
			t.Errorf("error body lacks %s: %v", f, body)
		}
	}
}

func TestThrottlingAboveTheRate(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{RateLimit: 2})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cred, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	c, _ := ecs.New(ecs.Options{Regions: []string{"cn-hangzhou"}, Endpoint: srv.URL, Credential: cred, MaxAttempts: 1})
	var throttled bool
	for i := 0; i < 5 && !throttled; i++ {
		_, _, err := c.ListRegion(context.Background(), "cn-hangzhou")
		var e *ecs.Error
		throttled = err != nil && asErr(err, &e) && e.Code == "Throttling.User" && e.Kind == ecs.KindThrottled
	}
	if !throttled {
		t.Fatal("5 calls at a limit of 2 a second were never throttled")
	}
}

func TestUnknownFaultCodeIsRejected(t *testing.T) {
	t.Parallel()
	if err := ecssim.New(ecssim.Options{}).InjectFault("i-x", "NoSuchCode", 1); err == nil {
		t.Fatal("accepted an undocumented code")
	}
}

func TestDemoFleetHasTheAwkwardCases(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	cred, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	c, _ := ecs.New(ecs.Options{Regions: sim.Regions(), Endpoint: srv.URL, Credential: cred})
	total, locked, d1, stopped := 0, 0, 0, 0
	for _, r := range sim.Regions() {
		list, _, err := c.ListRegion(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range list {
			total++
			if in.SecurityLocked() {
				locked++
			}
			if in.Family == "ecs.d1" {
				d1++
			}
			if in.Status == "Stopped" {
				stopped++
			}
		}
	}
	if total < 50 || total > 80 || locked != 1 || d1 == 0 || stopped == 0 || stopped == total {
		t.Fatalf("total=%d locked=%d d1=%d stopped=%d", total, locked, d1, stopped)
	}
}

func asErr(err error, target **ecs.Error) bool {
	e, ok := err.(*ecs.Error)
	if ok {
		*target = e
	}
	return ok
}

func typedClient(t *testing.T, sim *ecssim.Server) *ecsapi.Client {
	t.Helper()
	return typedClientVia(t, sim)
}

// typedClientVia is the SDK's typed client of a server that h answers.
func typedClientVia(t *testing.T, h http.Handler) *ecsapi.Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cred, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	u, _ := url.Parse(srv.URL)
	c, err := ecsapi.NewClient(&openapi.Config{RegionId: dara.String("cn-hangzhou"), Credential: cred,
		Endpoint: dara.String(u.Host), Protocol: dara.String("http"), ReadTimeout: dara.Int(5000)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDescribeRegionsAndInstanceStatusThroughTheTypedSDK(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	c := typedClient(t, sim)
	regions, err := c.DescribeRegions(&ecsapi.DescribeRegionsRequest{})
	if err != nil || len(regions.Body.Regions.Region) != 3 {
		t.Fatalf("%v %+v", err, regions)
	}
	st, err := c.DescribeInstanceStatus(&ecsapi.DescribeInstanceStatusRequest{RegionId: dara.String("cn-hangzhou"), PageSize: dara.Int32(50)})
	if err != nil || dara.Int32Value(st.Body.TotalCount) < 20 || len(st.Body.InstanceStatuses.InstanceStatus) == 0 {
		t.Fatalf("%v %+v", err, st)
	}
	first := st.Body.InstanceStatuses.InstanceStatus[0]
	if sim.Status(dara.StringValue(first.InstanceId)) != dara.StringValue(first.Status) {
		t.Fatal("status disagrees with the simulator")
	}
}

func TestDeprecatedPageNumberPagingStillAnswers(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{Instances: 450})
	c := typedClient(t, sim)
	seen := map[string]bool{}
	for page := int32(1); page <= 2; page++ {
		r, err := c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), PageNumber: dara.Int32(page), PageSize: dara.Int32(100)})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range r.Body.Instances.Instance {
			seen[dara.StringValue(in.InstanceId)] = true
		}
		if dara.Int32Value(r.Body.TotalCount) != 150 {
			t.Fatalf("total %d", dara.Int32Value(r.Body.TotalCount))
		}
	}
	if len(seen) != 150 {
		t.Fatalf("%d distinct instances over two pages", len(seen))
	}
}

func TestInstanceIdsFilterAndBadToken(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	c := typedClient(t, sim)
	all, _ := c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), MaxResults: dara.Int32(100)})
	id := dara.StringValue(all.Body.Instances.Instance[3].InstanceId)
	one, err := c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), InstanceIds: dara.String(`["` + id + `"]`)})
	if err != nil || len(one.Body.Instances.Instance) != 1 || dara.StringValue(one.Body.Instances.Instance[0].InstanceId) != id {
		t.Fatalf("%v", err)
	}
	_, err = c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), NextToken: dara.String("forged")})
	if err == nil || !strings.Contains(err.Error(), "InvalidParameter.NextToken") {
		t.Fatalf("forged token: %v", err)
	}
}

func TestZonesAndTheZoneFilterThroughTheTypedSDK(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{Instances: 1200, Zones: 4})
	sim.RetireZone("cn-hangzhou-k")
	c := typedClient(t, sim)
	zr, err := c.DescribeZones(&ecsapi.DescribeZonesRequest{RegionId: dara.String("cn-hangzhou")})
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, z := range zr.Body.Zones.Zone {
		zones = append(zones, dara.StringValue(z.ZoneId))
	}
	if strings.Join(zones, ",") != "cn-hangzhou-h,cn-hangzhou-i,cn-hangzhou-j" {
		t.Fatalf("DescribeZones lists %v (the retired zone k must not be listed)", zones)
	}
	// Every zone, the retired one too, filters; the pages add up to the region.
	total := 0
	for _, z := range append(zones, "cn-hangzhou-k") {
		req := &ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), ZoneId: dara.String(z), MaxResults: dara.Int32(100)}
		for {
			r, err := c.DescribeInstances(req)
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range r.Body.Instances.Instance {
				if dara.StringValue(in.ZoneId) != z {
					t.Fatalf("zone %s's listing holds an instance of %s", z, dara.StringValue(in.ZoneId))
				}
				total++
			}
			if dara.StringValue(r.Body.NextToken) == "" {
				break
			}
			// A token pages only the listing it came from.
			other := &ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), ZoneId: dara.String("cn-hangzhou-h"), NextToken: r.Body.NextToken}
			if z != "cn-hangzhou-h" {
				if _, err := c.DescribeInstances(other); err == nil || !strings.Contains(err.Error(), "InvalidParameter.NextToken") {
					t.Fatalf("zone %s's token accepted for zone h: %v", z, err)
				}
			}
			req.NextToken = r.Body.NextToken
		}
	}
	if total != 400 {
		t.Fatalf("the zones hold %d instances, want the region's 400", total)
	}
	if _, err := c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), ZoneId: dara.String("cn-shanghai-h")}); err == nil ||
		!strings.Contains(err.Error(), "InvalidZoneId.NotFound") {
		t.Fatalf("another region's zone: %v", err)
	}
}

// The fields ECS sends that the first simulator left out, read back
// through the typed SDK's own structs.
func TestAnswersCarryTheFieldsECSSends(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	c := typedClient(t, sim)
	r, err := c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), MaxResults: dara.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, in := range r.Body.Instances.Instance {
		name, status := dara.StringValue(in.InstanceName), dara.StringValue(in.Status)
		if dara.StringValue(in.VpcAttributes.VpcId) == "" {
			t.Fatalf("%s: no VpcAttributes.VpcId", name)
		}
		switch dara.StringValue(in.InstanceChargeType) {
		case "PostPaid":
			if dara.StringValue(in.ExpiredTime) != "2099-12-31T15:59Z" {
				t.Fatalf("%s: pay-as-you-go ExpiredTime %q, ECS sends the 2099 placeholder", name, dara.StringValue(in.ExpiredTime))
			}
		case "PrePaid":
			seen["prepaid"] = true
		}
		if status == "Stopped" && dara.StringValue(in.StoppedMode) == "" {
			t.Fatalf("%s: stopped with no StoppedMode", name)
		}
		if status == "Running" && dara.StringValue(in.StartTime) == "" {
			t.Fatalf("%s: running with no StartTime", name)
		}
		if in.EipAddress != nil && dara.StringValue(in.EipAddress.IpAddress) != "" {
			seen["eip"] = true
		}
		for _, l := range in.OperationLocks.LockReason {
			if dara.StringValue(l.LockMsg) != "" {
				seen["lockmsg"] = true
			}
		}
	}
	for _, k := range []string{"prepaid", "eip", "lockmsg"} {
		if !seen[k] {
			t.Errorf("no instance of the demo fleet carries %s", k)
		}
	}
	if r.Body.TotalCount != nil {
		t.Errorf("TotalCount %d sent with NextToken paging, where ECS says it is not meaningful", dara.Int32Value(r.Body.TotalCount))
	}
	regions, err := c.DescribeRegions(&ecsapi.DescribeRegionsRequest{})
	if err != nil || dara.StringValue(regions.Body.Regions.Region[0].Status) != "available" {
		t.Fatalf("regions: %v %+v", err, regions)
	}
}

func TestMaxResultsWinsOverPageSize(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{Instances: 900})
	c := typedClient(t, sim)
	r, err := c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"),
		MaxResults: dara.Int32(7), PageSize: dara.Int32(50), PageNumber: dara.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Body.Instances.Instance); n != 7 || dara.StringValue(r.Body.NextToken) == "" {
		t.Fatalf("%d instances, NextToken %q: MaxResults must win", n, dara.StringValue(r.Body.NextToken))
	}
}

func TestUnknownActionIs404(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	c := typedClient(t, sim)
	_, err := c.CallApi(&openapi.Params{Action: dara.String("RebootTheUniverse"), Version: dara.String("2014-05-26"), Protocol: dara.String("HTTP"),
		Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json")}, &openapi.OpenApiRequest{}, &dara.RuntimeOptions{})
	var sdkErr *tea.SDKError
	if !errors.As(err, &sdkErr) || dara.IntValue(sdkErr.StatusCode) != 404 || dara.StringValue(sdkErr.Code) != "InvalidAction.NotFound" {
		t.Fatalf("got %v", err)
	}
}

func demoIDs(t *testing.T, c *ecsapi.Client, names ...string) map[string]string {
	t.Helper()
	r, err := c.DescribeInstances(&ecsapi.DescribeInstancesRequest{RegionId: dara.String("cn-hangzhou"), MaxResults: dara.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, in := range r.Body.Instances.Instance {
		ids[dara.StringValue(in.InstanceName)] = dara.StringValue(in.InstanceId)
	}
	for _, n := range names {
		if ids[n] == "" {
			t.Fatalf("no %s in the demo fleet", n)
		}
	}
	return ids
}

func sdkCode(err error) (int, string) {
	var e *tea.SDKError
	if errors.As(err, &e) {
		return dara.IntValue(e.StatusCode), dara.StringValue(e.Code)
	}
	return 0, ""
}

func TestStartInstancesAnswersPerInstanceOrAllTogether(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	c := typedClient(t, sim)
	ids := demoIDs(t, c, "ci-runner-01", "ci-runner-02", "batch-worker-01", "web-prod-01", "legacy-billing-01")
	many := func(batch string, dry bool, names ...string) (*ecsapi.StartInstancesResponse, error) {
		req := &ecsapi.StartInstancesRequest{RegionId: dara.String("cn-hangzhou"), BatchOptimization: dara.String(batch), DryRun: dara.Bool(dry)}
		for _, n := range names {
			id := ids[n]
			if id == "" {
				id = n
			}
			req.InstanceId = append(req.InstanceId, dara.String(id))
		}
		return c.StartInstances(req)
	}

	// All together: one refusal refuses the call, nothing starts.
	if _, err := many("AllTogether", false, "ci-runner-02", "web-prod-01"); err == nil {
		t.Fatal("AllTogether with a running instance was accepted")
	} else if status, code := sdkCode(err); status != 403 || code != "IncorrectInstanceStatus" {
		t.Fatalf("AllTogether: %d %s", status, code)
	}
	if sim.Status(ids["ci-runner-02"]) != "Stopped" {
		t.Fatal("AllTogether started an instance although the call was refused")
	}
	// Dry run: checks, starts nothing.
	if _, err := many("AllTogether", true, "ci-runner-02"); err == nil {
		t.Fatal("dry run answered success")
	} else if status, code := sdkCode(err); status != 400 || code != "DRYRUN.SUCCESS" {
		t.Fatalf("dry run: %d %s", status, code)
	}
	if n, _ := sim.Starts(ids["ci-runner-02"]); n != 0 {
		t.Fatal("a dry run started an instance")
	}
	// Success first: each on its own.
	resp, err := many("SuccessFirst", false, "ci-runner-01", "web-prod-01", "legacy-billing-01", "i-bp1doesnotexist000")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ids["ci-runner-01"]: "200", ids["web-prod-01"]: "IncorrectInstanceStatus",
		ids["legacy-billing-01"]: "InstanceLockedForSecurity", "i-bp1doesnotexist000": "InvalidInstanceId.NotFound"}
	for _, r := range resp.Body.InstanceResponses.InstanceResponse {
		id := dara.StringValue(r.InstanceId)
		if got := dara.StringValue(r.Code); got != want[id] {
			t.Errorf("%s: code %s, want %s", id, got, want[id])
		}
		delete(want, id)
	}
	if len(want) != 0 {
		t.Fatalf("no answer for %v", want)
	}
	if sim.Status(ids["ci-runner-01"]) != "Starting" {
		t.Fatal("SuccessFirst did not start the stopped instance")
	}
}

func TestDryRunDoesNotUseUpAOneTimeFault(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	c := typedClient(t, sim)
	id := demoIDs(t, c, "etl-nightly-01")["etl-nightly-01"] // InstanceNotReady once
	start := func(dry bool) string {
		_, err := c.StartInstance(&ecsapi.StartInstanceRequest{InstanceId: dara.String(id), DryRun: dara.Bool(dry)})
		_, code := sdkCode(err)
		return code
	}
	for i, want := range []struct {
		dry  bool
		code string
	}{{true, "InstanceNotReady"}, {true, "InstanceNotReady"}, {false, "InstanceNotReady"}, {true, "DryRunOperation"}, {false, ""}} {
		if got := start(want.dry); got != want.code {
			t.Fatalf("call %d (dry run %v): %q, want %q", i+1, want.dry, got, want.code)
		}
	}
}
