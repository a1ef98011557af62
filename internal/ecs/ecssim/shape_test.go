package ecssim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"

	"ecsdash/internal/ecs/ecssim"
)

// notSimulated are the fields of ECS's documented answers that the
// simulator does not send (the README lists them); everything else in the
// recorded answers of ../testdata/answers must be in the simulator's.
var notSimulated = map[string][]string{
	"DescribeInstances": {
		"AutoReleaseTime", "ClusterId", "CpuOptions.*", "CreditSpecification", "DedicatedHostAttribute.*",
		"DedicatedInstanceAttribute.*", "DeletionProtection", "DeploymentSetGroupNo", "DeploymentSetId", "Description",
		"DeviceAvailable", "EcsCapacityReservationAttr.*", "EipAddress.IsSupportUnassociate", "GPUAmount", "GPUSpec",
		"HostName", "HpcClusterId", "ISP", "ImageId", "ImageOptions.*", "InnerIpAddress.*", "InstanceNetworkType",
		"InternetChargeType", "InternetMaxBandwidthIn", "InternetMaxBandwidthOut", "IoOptimized", "KeyPairName",
		"MetadataOptions.*", "NetworkInterfaces.*", "OSName", "OSNameEn", "OSType", "Recyclable", "ResourceGroupId",
		"SaleCycle", "SecurityGroupIds.*", "SerialNumber", "SpotDuration", "SpotPriceLimit", "SpotStrategy",
		"VlanId", "VpcAttributes.NatIpAddress",
	},
}

// paths lists the key paths of a decoded JSON value ("A.B[].C").
func paths(v any, prefix string, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			paths(x, p, out)
		}
	case []any:
		for _, x := range v {
			paths(x, prefix+"[]", out)
		}
	}
}

func recorded(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "answers", name))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.Join(lines, "\n")), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

func simulated(t *testing.T, sim *ecssim.Server, action string, query map[string]any) map[string]any {
	t.Helper()
	c := typedClient(t, sim)
	out, err := c.CallApi(&openapi.Params{Action: dara.String(action), Version: dara.String("2014-05-26"), Protocol: dara.String("HTTP"),
		Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json")}, &openapi.OpenApiRequest{Query: openapi.Query(query)}, &dara.RuntimeOptions{})
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	body, _ := out["body"].(map[string]any)
	return body
}

// pathsOf is the union of the values' key paths.
func pathsOf(values ...any) map[string]bool {
	out := map[string]bool{}
	for _, v := range values {
		paths(v, "", out)
	}
	return out
}

// covered fails for every path of want that got lacks, but for those the
// simulator is known not to send; and for a listed one it does send.
func covered(t *testing.T, action string, w, g map[string]bool) {
	t.Helper()
	known := func(p string) bool {
		return slices.ContainsFunc(notSimulated[action], func(n string) bool {
			base, wild := strings.CutSuffix(n, ".*")
			return p == base || (wild && strings.HasPrefix(p, base+"."))
		})
	}
	var missing []string
	for p := range w {
		if !g[p] && !known(p) {
			missing = append(missing, p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s: the simulator's answer lacks %v", action, missing)
	}
	for _, n := range notSimulated[action] {
		if g[strings.TrimSuffix(n, ".*")] {
			t.Errorf("%s: %s is listed as not simulated but is sent", action, n)
		}
	}
}

func TestSimulatorAnswersHaveTheShapeOfECSs(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	inst := func(m map[string]any) map[string]bool { // every field any instance carries
		return pathsOf(m["Instances"].(map[string]any)["Instance"].([]any)...)
	}
	covered(t, "DescribeInstances", inst(recorded(t, "describe_instances.txt")),
		inst(simulated(t, sim, "DescribeInstances", map[string]any{"RegionId": "cn-hangzhou", "PageSize": 100})))
	covered(t, "DescribeInstanceStatus", pathsOf(recorded(t, "describe_instance_status.txt")),
		pathsOf(simulated(t, sim, "DescribeInstanceStatus", map[string]any{"RegionId": "cn-hangzhou"})))
	r := simulated(t, sim, "DescribeInstances", map[string]any{"RegionId": "cn-hangzhou", "MaxResults": 100})
	var stopped string
	for _, x := range r["Instances"].(map[string]any)["Instance"].([]any) {
		in := x.(map[string]any)
		if in["Status"] == "Stopped" && len(in["OperationLocks"].(map[string]any)["LockReason"].([]any)) == 0 && in["InstanceChargeType"] == "PostPaid" {
			stopped = in["InstanceId"].(string)
		}
	}
	covered(t, "StartInstances", pathsOf(recorded(t, "start_instances.txt")),
		pathsOf(simulated(t, sim, "StartInstances", map[string]any{"RegionId": "cn-hangzhou", "InstanceId.1": stopped, "BatchOptimization": "SuccessFirst"})))
}
