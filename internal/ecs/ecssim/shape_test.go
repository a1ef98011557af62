package ecssim_test

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"

	"ecsdash/internal/ecs/ecssim"
)

// notSimulated are the fields of the pinned SDK's response models
// (ecs-20140526/v7) that the simulator does not send (docs/simulator.md
// lists them); every other field of the model must be in the simulator's
// answer, and the answer may hold no field the model lacks.
var notSimulated = map[string][]string{
	"DescribeInstances": {
		"AdditionalInfo.*", "AutoReleaseTime", "ClockOptions.*", "ClusterId", "CpuOptions.*", "CreditSpecification",
		"DedicatedHostAttribute.*", "DedicatedInstanceAttribute.*", "DeploymentSetGroupNo", "DeploymentSetId", "Description",
		"DeviceAvailable", "EcsCapacityReservationAttr.*", "EipAddress.IsSupportUnassociate", "EnableNVS", "GPUAmount", "GPUSpec",
		"HibernationOptions.*", "HpcClusterId", "ISP", "ImageOptions.*", "InnerIpAddress.*", "InstanceNetworkType",
		"InternetChargeType", "InternetMaxBandwidthIn", "InternetMaxBandwidthOut", "IoOptimized", "MetadataOptions.*",
		"NetworkInterfaces.*", "OSNameEn", "PrivateDnsNameOptions.*", "RdmaIpAddress.*", "Recyclable", "SaleCycle",
		"SecurityGroupIds.*", "SerialNumber", "SpotDuration", "SpotInterruptionBehavior", "SpotPriceLimit", "VlanId",
		"VpcAttributes.NatIpAddress", "VpcAttributes.Ipv6Prefix", "VpcAttributes.Ipv6Address.*",
	},
	"DescribeInstanceStatus": {},
	"StartInstances":         {},
}

// modelPaths lists the key paths of an SDK response model, as paths lists
// those of a decoded answer: json names, [] for a list.
func modelPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			prefix += "[]"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		p := name
		if prefix != "" {
			p = prefix + "." + name
		}
		out[p] = true
		modelPaths(f.Type, p, out)
	}
}

func modelOf(v any) map[string]bool {
	out := map[string]bool{}
	modelPaths(reflect.TypeOf(v), "", out)
	return out
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

// callRaw sends action with query through the SDK's generic call.
func callRaw(t *testing.T, sim *ecssim.Server, action string, query map[string]any) (map[string]any, error) {
	t.Helper()
	c := typedClient(t, sim)
	return c.CallApi(&openapi.Params{Action: dara.String(action), Version: dara.String("2014-05-26"), Protocol: dara.String("HTTP"),
		Pathname: dara.String("/"), Method: dara.String("POST"), AuthType: dara.String("AK"), Style: dara.String("RPC"),
		ReqBodyType: dara.String("formData"), BodyType: dara.String("json")}, &openapi.OpenApiRequest{Query: openapi.Query(query)}, &dara.RuntimeOptions{})
}

func simulated(t *testing.T, sim *ecssim.Server, action string, query map[string]any) map[string]any {
	t.Helper()
	out, err := callRaw(t, sim, action, query)
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
	var missing, invented []string
	for p := range w {
		if !g[p] && !known(p) {
			missing = append(missing, p)
		}
	}
	for p := range g {
		if !w[p] {
			invented = append(invented, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(invented)
	if len(missing) > 0 {
		t.Errorf("%s: the simulator's answer lacks %v", action, missing)
	}
	if len(invented) > 0 {
		t.Errorf("%s: the simulator sends %v, which the SDK's model does not have", action, invented)
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
	covered(t, "DescribeInstances", modelOf(ecsapi.DescribeInstancesResponseBodyInstancesInstance{}),
		inst(simulated(t, sim, "DescribeInstances", map[string]any{"RegionId": "cn-hangzhou", "PageSize": 100})))
	covered(t, "DescribeInstanceStatus", modelOf(ecsapi.DescribeInstanceStatusResponseBody{}),
		pathsOf(simulated(t, sim, "DescribeInstanceStatus", map[string]any{"RegionId": "cn-hangzhou"})))
	r := simulated(t, sim, "DescribeInstances", map[string]any{"RegionId": "cn-hangzhou", "MaxResults": 100})
	var stopped string
	for _, x := range r["Instances"].(map[string]any)["Instance"].([]any) {
		in := x.(map[string]any)
		if in["Status"] == "Stopped" && len(in["OperationLocks"].(map[string]any)["LockReason"].([]any)) == 0 && in["InstanceChargeType"] == "PostPaid" {
			stopped = in["InstanceId"].(string)
		}
	}
	covered(t, "StartInstances", modelOf(ecsapi.StartInstancesResponseBody{}),
		pathsOf(simulated(t, sim, "StartInstances", map[string]any{"RegionId": "cn-hangzhou", "InstanceId.1": stopped, "BatchOptimization": "SuccessFirst"})))
}
