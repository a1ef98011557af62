package ecssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// DescribeInstances' parameters that are not filters: the region, paging,
// and the common parameters of an RPC-signed request.
var describeParams = []string{"RegionId", "MaxResults", "NextToken", "PageNumber", "PageSize",
	"Action", "Version", "Format", "AccessKeyId", "Signature", "SignatureMethod", "SignatureVersion", "SignatureNonce",
	"SignatureType", "Timestamp", "SecurityToken"}

// notSimulatedFilters are DescribeInstances filters ECS documents that the
// simulator does not carry out: it refuses them rather than answer a
// superset.
var notSimulatedFilters = []string{"AdditionalAttributes", "DeviceAvailable", "DryRun", "Filter", "HpcClusterId", "HttpEndpoint",
	"HttpPutResponseHopLimit", "HttpTokens", "ImageId", "InnerIpAddresses", "InstanceNetworkType", "InternetChargeType",
	"IoOptimized", "Ipv6Address", "NeedSaleCycle", "OwnerAccount", "OwnerId", "RdmaIpAddresses", "ResourceOwnerAccount",
	"ResourceOwnerId", "SecurityGroupId", "VSwitchId"}

// MaxTagResults is the most instances ECS lists, over every page, for a
// listing filtered by tags or by a resource group.
const MaxTagResults = 1000

// filter is a DescribeInstances listing's conditions, all of which must hold.
type filter struct {
	ids, private, public, eip                    []string
	status, family, zone, typ, charge, lock, vpc string
	keyPair, group, name                         string
	tags                                         []tagCond
	tagged                                       bool
	key                                          string // what a NextToken is bound to
}

type tagCond struct{ key, value string }

// filterError is a refused filter: the status, code and message to answer.
type filterError struct {
	status        int
	code, message string
}

// parseFilter reads every filter of q, refusing what it cannot honour.
func parseFilter(q url.Values) (filter, *filterError) {
	var f filter
	var keys []string
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tags := map[int]*tagCond{}
	for _, k := range keys {
		v := q.Get(k)
		switch {
		case slices.Contains(describeParams, k):
			continue
		case strings.HasPrefix(k, "Tag."):
			n, field, ok := strings.Cut(strings.TrimPrefix(k, "Tag."), ".")
			i, err := strconv.Atoi(n)
			if !ok || err != nil || i < 1 || i > 20 || (field != "Key" && field != "Value") {
				return f, &filterError{400, "InvalidParameter.Tag", fmt.Sprintf("The specified parameter %q is not valid: tags are Tag.N.Key and Tag.N.Value, N from 1 to 20.", k)}
			}
			if tags[i] == nil {
				tags[i] = &tagCond{}
			}
			if field == "Key" {
				tags[i].key = v
			} else {
				tags[i].value = v
			}
		case k == "InstanceIds" || k == "PrivateIpAddresses" || k == "PublicIpAddresses" || k == "EipAddresses":
			var list []string
			if err := json.Unmarshal([]byte(v), &list); err != nil {
				return f, &filterError{400, "Invalid" + k + ".Malformed", fmt.Sprintf("The specified parameter %s is not valid: it must be a JSON array of strings.", k)}
			}
			if len(list) > 100 {
				return f, &filterError{400, "Invalid" + k + ".ValueNotSupported", fmt.Sprintf("The specified parameter %s holds more than 100 values.", k)}
			}
			switch k {
			case "InstanceIds":
				f.ids = list
			case "PrivateIpAddresses":
				f.private = list
			case "PublicIpAddresses":
				f.public = list
			default:
				f.eip = list
			}
		case k == "Status":
			if !slices.Contains([]string{"Pending", "Running", "Starting", "Stopping", "Stopped"}, v) {
				return f, &filterError{400, "InvalidStatus.ValueNotSupported", "The specified parameter Status is not valid."}
			}
			f.status = v
		case k == "LockReason":
			if !slices.Contains([]string{"financial", "security", "recycling", "dedicatedhostfinancial", "refunded"}, v) {
				return f, &filterError{400, "InvalidLockReason.ValueNotSupported", "The specified parameter LockReason is not valid."}
			}
			f.lock = v
		case k == "InstanceTypeFamily":
			f.family = v
		case k == "ZoneId":
			f.zone = v
		case k == "InstanceType":
			f.typ = v
		case k == "InstanceChargeType":
			f.charge = v
		case k == "VpcId":
			f.vpc = v
		case k == "KeyPairName":
			f.keyPair = v
		case k == "ResourceGroupId":
			f.group = v
		case k == "InstanceName":
			f.name = v
		case slices.Contains(notSimulatedFilters, k):
			return f, &filterError{400, "Simulator.FilterNotSimulated", fmt.Sprintf("ECS documents the filter %s, but the simulator does not carry it out; it refuses it rather than list instances it would not match.", k)}
		default:
			return f, &filterError{400, "Simulator.UnknownParameter", fmt.Sprintf("DescribeInstances has no parameter %q.", k)}
		}
	}
	nums := make([]int, 0, len(tags))
	for n := range tags {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		if tags[n].key == "" {
			return f, &filterError{400, "InvalidParameter.TagKey", fmt.Sprintf("Tag.%d.Value is given without Tag.%d.Key.", n, n)}
		}
		f.tags = append(f.tags, *tags[n])
	}
	f.tagged = len(f.tags) > 0
	sum := sha256.Sum256([]byte(q.Get("RegionId") + "\x00" + canonicalFilters(q)))
	f.key = hex.EncodeToString(sum[:8])
	return f, nil
}

// canonicalFilters is the filters of q in a stable form.
func canonicalFilters(q url.Values) string {
	var parts []string
	for k, vs := range q {
		if !slices.Contains(describeParams, k) {
			parts = append(parts, k+"="+strings.Join(vs, ","))
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, "&")
}

// matches reports whether in meets every condition; status is its current one.
func (f *filter) matches(in *instance, status string) bool {
	eq := func(want, got string) bool { return want == "" || want == got }
	in1 := func(list []string, v string) bool { return list == nil || (v != "" && slices.Contains(list, v)) }
	if !eq(f.status, status) || !eq(f.family, in.Family) || !eq(f.zone, in.Zone) || !eq(f.typ, in.Type) ||
		!eq(f.charge, in.ChargeType) || !eq(f.vpc, in.VpcID) || !eq(f.keyPair, in.KeyPairName) ||
		!in1(f.ids, in.ID) || !in1(f.private, in.PrivateIP) || !in1(f.public, in.PublicIP) || !in1(f.eip, in.EIP) {
		return false
	}
	if f.lock != "" && !in.locked(f.lock) {
		return false
	}
	// ECS returns the default resource group's instances whatever group is
	// asked for: a resource-group filter can never enforce a scope.
	if f.group != "" && in.ResourceGroupID != f.group && in.ResourceGroupID != DefaultResourceGroup {
		return false
	}
	if f.name != "" && !wildcard(f.name, in.Name) {
		return false
	}
	for _, t := range f.tags {
		v, ok := in.Tags[t.key]
		if !ok || (t.value != "" && v != t.value) {
			return false
		}
	}
	return true
}

// wildcard matches name against pattern, in which * stands for any run of
// characters (ECS's fuzzy InstanceName); without * the name must be equal.
func wildcard(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	rest := name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}
