package ecssim_test

import (
	"slices"
	"strings"
	"testing"

	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"

	"ecsdash/internal/ecs/ecssim"
)

// listAll pages through DescribeInstances of cn-hangzhou with req's filters.
func listAll(t *testing.T, c *ecsapi.Client, req *ecsapi.DescribeInstancesRequest) []*ecsapi.DescribeInstancesResponseBodyInstancesInstance {
	t.Helper()
	req.RegionId, req.MaxResults = dara.String("cn-hangzhou"), dara.Int32(100)
	var all []*ecsapi.DescribeInstancesResponseBodyInstancesInstance
	for range 200 {
		r, err := c.DescribeInstances(req)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, r.Body.Instances.Instance...)
		if dara.StringValue(r.Body.NextToken) == "" {
			return all
		}
		req.NextToken = r.Body.NextToken
	}
	t.Fatal("the listing did not end")
	return nil
}

func tagsOf(in *ecsapi.DescribeInstancesResponseBodyInstancesInstance) map[string]string {
	m := map[string]string{}
	if in.Tags != nil {
		for _, tg := range in.Tags.Tag {
			m[dara.StringValue(tg.TagKey)] = dara.StringValue(tg.TagValue)
		}
	}
	return m
}

func TestTagFiltersAreANDed(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	all := listAll(t, c, &ecsapi.DescribeInstancesRequest{})
	tag := func(k, v string) *ecsapi.DescribeInstancesRequestTag {
		return &ecsapi.DescribeInstancesRequestTag{Key: dara.String(k), Value: dara.String(v)}
	}
	got := listAll(t, c, &ecsapi.DescribeInstancesRequest{Tag: []*ecsapi.DescribeInstancesRequestTag{tag("team", "platform"), tag("env", "staging")}})
	want := 0
	for _, in := range all {
		if m := tagsOf(in); m["team"] == "platform" && m["env"] == "staging" {
			want++
		}
	}
	if want == 0 || len(got) != want || len(got) == len(all) {
		t.Fatalf("team=platform AND env=staging: %d instances, want %d of %d", len(got), want, len(all))
	}
	for _, in := range got {
		if m := tagsOf(in); m["team"] != "platform" || m["env"] != "staging" {
			t.Fatalf("%s has tags %v", dara.StringValue(in.InstanceName), m)
		}
	}
	if n := len(listAll(t, c, &ecsapi.DescribeInstancesRequest{Tag: []*ecsapi.DescribeInstancesRequestTag{tag("team", "nobody")}})); n != 0 {
		t.Fatalf("an unknown tag value matched %d instances", n)
	}
}

func TestTagListingsStopAtAThousand(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{Instances: 3600, Regions: []string{"cn-hangzhou"}}))
	got := listAll(t, c, &ecsapi.DescribeInstancesRequest{Tag: []*ecsapi.DescribeInstancesRequestTag{{Key: dara.String("team")}}})
	if len(got) != ecssim.MaxTagResults {
		t.Fatalf("%d instances with a tag filter, want ECS's cap of %d", len(got), ecssim.MaxTagResults)
	}
}

func TestResourceGroupFilterAlsoListsTheDefaultGroup(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	got := listAll(t, c, &ecsapi.DescribeInstancesRequest{ResourceGroupId: dara.String(ecssim.DataResourceGroup)})
	groups := map[string]int{}
	for _, in := range got {
		groups[dara.StringValue(in.ResourceGroupId)]++
	}
	if groups[ecssim.DataResourceGroup] == 0 || groups[ecssim.DefaultResourceGroup] == 0 || groups[ecssim.PlatformResourceGroup] != 0 || len(groups) != 2 {
		t.Fatalf("groups listed for %s: %v; want it and the default group only", ecssim.DataResourceGroup, groups)
	}
}

func TestInstanceNameTakesAWildcard(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	for pattern, want := range map[string]int{"web-prod-01": 1, "web-prod-*": 4, "*-replica-*": 1, "ci-*-0*": 2, "web": 0} {
		got := listAll(t, c, &ecsapi.DescribeInstancesRequest{InstanceName: dara.String(pattern)})
		if len(got) != want {
			t.Errorf("InstanceName %q: %d instances, want %d", pattern, len(got), want)
		}
	}
}

func TestIPListFilters(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	all := listAll(t, c, &ecsapi.DescribeInstancesRequest{})
	web, api := all[0], all[0]
	for _, in := range all {
		switch dara.StringValue(in.InstanceName) {
		case "web-prod-02":
			web = in
		case "api-gateway-01":
			api = in
		}
	}
	priv := dara.StringValue(web.VpcAttributes.PrivateIpAddress.IpAddress[0])
	pub := dara.StringValue(web.PublicIpAddress.IpAddress[0])
	eip := dara.StringValue(api.EipAddress.IpAddress)
	for what, req := range map[string]*ecsapi.DescribeInstancesRequest{
		"private": {PrivateIpAddresses: dara.String(`["` + priv + `"]`)},
		"public":  {PublicIpAddresses: dara.String(`["` + pub + `", "203.0.113.9"]`)},
		"eip":     {EipAddresses: dara.String(`["` + eip + `"]`)},
	} {
		got := listAll(t, c, req)
		want := web
		if what == "eip" {
			want = api
		}
		if len(got) != 1 || dara.StringValue(got[0].InstanceId) != dara.StringValue(want.InstanceId) {
			t.Errorf("%s IP filter: %d instances", what, len(got))
		}
	}
}

func TestUnknownAndUnsimulatedFiltersAreRefused(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	for what, req := range map[string]*ecsapi.DescribeInstancesRequest{
		"a documented filter it does not carry out": {SecurityGroupId: dara.String("sg-bp1demo")},
		"a malformed IP list":                       {PrivateIpAddresses: dara.String("10.0.0.1")},
		"a tag value without its key":               {Tag: []*ecsapi.DescribeInstancesRequestTag{{Value: dara.String("prod")}}},
	} {
		req.RegionId = dara.String("cn-hangzhou")
		_, err := c.DescribeInstances(req)
		if status, code := sdkCode(err); status != 400 || code == "" {
			t.Errorf("%s: %d %q, want a 400 refusal", what, status, code)
		}
	}
	sim := ecssim.New(ecssim.Options{})
	out, err := callRaw(t, sim, "DescribeInstances", map[string]any{"RegionId": "cn-hangzhou", "InstanceNames": "web-prod-01"})
	if status, code := sdkCode(err); status != 400 || !strings.Contains(code, "Unknown") {
		t.Fatalf("an unknown parameter: %d %q %v, want refused", status, code, out)
	}
}

func TestDemoFleetHasTeamsGroupsRealSizesAndEconomicalMode(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	modes := map[string]string{}
	for _, in := range listAll(t, c, &ecsapi.DescribeInstancesRequest{}) {
		name, family := dara.StringValue(in.InstanceName), dara.StringValue(in.InstanceTypeFamily)
		if m := tagsOf(in); m["team"] == "" || m["env"] == "" {
			t.Errorf("%s has tags %v, want team and env", name, m)
		}
		if dara.StringValue(in.ResourceGroupId) == "" {
			t.Errorf("%s has no resource group", name)
		}
		if dara.StringValue(in.Status) == "Stopped" {
			modes[name] = dara.StringValue(in.StoppedMode)
			if strings.HasPrefix(family, "ecs.d") || strings.HasPrefix(family, "ecs.i") {
				if modes[name] != "Not-applicable" {
					t.Errorf("%s (%s, local disks) is %q, want Not-applicable", name, family, modes[name])
				}
			}
		}
		switch dara.StringValue(in.InstanceType) {
		case "ecs.c7.large":
			if dara.Int32Value(in.Cpu) != 2 || dara.Int32Value(in.Memory) != 4096 {
				t.Errorf("%s: %d vCPU %d MiB, want 2 and 4096", name, dara.Int32Value(in.Cpu), dara.Int32Value(in.Memory))
			}
		case "ecs.d1.4xlarge":
			if dara.Int32Value(in.Cpu) != 16 || dara.Int32Value(in.Memory) != 65536 {
				t.Errorf("%s: %d vCPU %d MiB, want 16 and 65536", name, dara.Int32Value(in.Cpu), dara.Int32Value(in.Memory))
			}
		}
	}
	if modes["batch-worker-02"] != "StopCharging" || modes["ci-runner-01"] != "KeepCharging" {
		t.Fatalf("stopped modes %v: want batch workers economical, CI runners not", modes)
	}
	if !slices.Contains([]string{"StopCharging"}, modes["staging-web-01"]) {
		t.Fatalf("staging-web-01 is %q", modes["staging-web-01"])
	}
}
