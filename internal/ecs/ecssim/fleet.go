package ecssim

import (
	"fmt"
	"strings"
	"time"
)

var zonePrefix = map[string]string{"cn-hangzhou": "bp1", "cn-shanghai": "uf6", "ap-southeast-1": "t4n", "cn-beijing": "2ze"}

type spec struct {
	name, typ, status string
	count             int
}

// demoSpecs is each region's ordinary fleet: the kind of names an operator
// recognises, a mix of general-purpose and local-disk families.
var demoSpecs = []spec{
	{"web-prod", "ecs.g7.xlarge", "Running", 4},
	{"api-gateway", "ecs.c7.large", "Running", 2},
	{"batch-worker", "ecs.c7.2xlarge", "Stopped", 3},
	{"ci-runner", "ecs.g6.large", "Stopped", 2},
	{"staging-web", "ecs.g6.large", "Stopped", 1},
	{"mysql-replica", "ecs.r7.xlarge", "Running", 1},
	{"hadoop-data", "ecs.d1.4xlarge", "Stopped", 2},
	{"kafka-broker", "ecs.i2.xlarge", "Stopped", 1},
	{"redis-cache", "ecs.i1.xlarge", "Stopped", 1},
	{"es-hot", "ecs.i2g.2xlarge", "Stopped", 1},
}

// stagingSpecs is a staging account's fleet in each region: few, mostly
// stopped, named so that no name is also the demo fleet's.
var stagingSpecs = []spec{
	{"staging-api", "ecs.g6.large", "Stopped", 2},
	{"staging-worker", "ecs.c7.large", "Stopped", 2},
	{"staging-db", "ecs.r7.large", "Running", 1},
	{"staging-etl", "ecs.c7.large", "Stopped", 1},
}

func (s *Server) seedStaging() {
	for _, region := range s.regions {
		for _, sp := range stagingSpecs {
			for n := 1; n <= sp.count; n++ {
				s.add(region, fmt.Sprintf("%s-%02d", sp.name, n), sp.typ, sp.status)
			}
		}
	}
}

func (s *Server) seedDemo() {
	for _, region := range s.regions {
		for _, sp := range demoSpecs {
			for n := 1; n <= sp.count; n++ {
				s.add(region, fmt.Sprintf("%s-%02d", sp.name, n), sp.typ, sp.status)
			}
		}
	}
	// The awkward cases live in the first region, so a newcomer meets them at once.
	r := s.regions[0]
	locked := s.add(r, "legacy-billing-01", "ecs.g6.large", "Stopped")
	locked.Locks = []lock{{"security", "The instance is under security control after a detected intrusion."}}
	expired := s.add(r, "promo-site-2019", "ecs.g6.large", "Stopped")
	expired.Locks = []lock{{"financial", "Subscription lapsed: the instance expired and was stopped."}}
	expired.ChargeType = "PrePaid"
	expired.ExpiredTime = s.now().AddDate(0, -2, 0).UTC().Format("2006-01-02T15:04Z")
	prepaid := s.add(r, "billing-archive-01", "ecs.g6.large", "Stopped")
	prepaid.ChargeType = "PrePaid"
	prepaid.ExpiredTime = s.now().AddDate(0, 5, 0).UTC().Format("2006-01-02T15:04Z")
	disk := s.add(r, "reports-db-01", "ecs.g7.large", "Stopped")
	s.faults[disk.ID] = &fault{code: "DiskError", times: -1}
	kms := s.add(r, "vault-encrypted-01", "ecs.g7.large", "Stopped")
	s.faults[kms.ID] = &fault{code: "InvalidParameter.KMSKeyId.KMSUnauthorized", times: -1}
	notReady := s.add(r, "etl-nightly-01", "ecs.c7.large", "Stopped")
	s.faults[notReady.ID] = &fault{code: "InstanceNotReady", times: 1}
	// Economical mode gave this one's vCPUs and memory back, and the zone
	// has none left of its type.
	for _, id := range s.byRegion[r] {
		if in := s.instances[id]; in.Name == "batch-worker-03" {
			s.faults[in.ID] = &fault{code: "OperationDenied.NoStock", times: -1}
		}
	}
}

// seedScale generates n instances spread over the regions, for benchmarks.
func (s *Server) seedScale(n int) {
	types := []string{"ecs.g7.large", "ecs.g6.xlarge", "ecs.c7.large", "ecs.r7.large", "ecs.d1.2xlarge", "ecs.i2.xlarge", "ecs.i1.xlarge"}
	for i := 0; i < n; i++ {
		region := s.regions[i%len(s.regions)]
		status := "Running"
		if i%2 == 1 {
			status = "Stopped"
		}
		s.add(region, fmt.Sprintf("node-%05d", i), types[i%len(types)], status)
	}
}

func (s *Server) add(region, name, typ, status string) *instance {
	prefix := zonePrefix[region]
	if prefix == "" {
		prefix = "rg0"
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b strings.Builder
	for b.Len() < 17 {
		b.WriteByte(alphabet[s.rng.IntN(len(alphabet))])
	}
	id := "i-" + prefix + b.String()
	parts := strings.Split(typ, ".")
	family := parts[0] + "." + parts[1]
	n := len(s.order)
	in := &instance{
		ID: id, Name: name, Type: typ, Family: family, Region: region,
		Zone: zoneName(region, len(s.byRegion[region])%s.opts.Zones), ChargeType: "PostPaid", status: status,
		ExpiredTime: postPaidExpiry, VpcID: "vpc-" + prefix + "demo" + fmt.Sprint(len(s.regionsBefore(region))),
		PrivateIP:       fmt.Sprintf("10.%d.%d.%d", 10+len(s.regionsBefore(region)), n/250%250, n%250+2),
		Tags:            map[string]string{"team": teamOf(name), "env": envOf(name)},
		KeyPairName:     "ops-" + teamOf(name),
		ResourceGroupID: groupOf(teamOf(name)),
		CreationTime:    time.Date(2025, 3, 1+n%28, 8, 0, 0, 0, time.UTC).Format("2006-01-02T15:04Z"),
	}
	switch {
	case strings.HasPrefix(name, "web-"):
		in.PublicIP = fmt.Sprintf("47.%d.%d.%d", 90+len(s.regionsBefore(region)), n/250%250, n%250+1)
	case strings.HasPrefix(name, "api-"): // an elastic IP, sent apart from the public IPs
		in.EIP = fmt.Sprintf("39.%d.%d.%d", 100+len(s.regionsBefore(region)), n/250%250, n%250+1)
	}
	if status == "Running" {
		in.StartTime = in.CreationTime
	}
	in.Cpu, in.Memory = sizeOf(typ)
	in.StoppedMode = stoppedModeOf(name, family)
	switch family {
	case "ecs.d1":
		in.LocalStorageAmount, in.LocalStorageCapacity = 4, 4*5500
	case "ecs.i1", "ecs.i2", "ecs.i2g":
		in.LocalStorageAmount, in.LocalStorageCapacity = 1, 894
	}
	s.instances[id] = in
	s.order = append(s.order, id)
	s.byRegion[region] = append(s.byRegion[region], id)
	return in
}

// postPaidExpiry is what ECS sends as a pay-as-you-go instance's
// ExpiredTime: a placeholder, not an expiry.
const postPaidExpiry = "2099-12-31T15:59Z"

// zoneName is a region's i-th zone as ECS names them: cn-hangzhou-h, -i, …
func zoneName(region string, i int) string { return region + "-" + string(rune('h'+i%19)) }

func (s *Server) regionsBefore(region string) []string {
	for i, r := range s.regions {
		if r == region {
			return s.regions[:i]
		}
	}
	return nil
}

func teamOf(name string) string {
	switch {
	case strings.HasPrefix(name, "hadoop"), strings.HasPrefix(name, "kafka"), strings.HasPrefix(name, "etl"), strings.HasPrefix(name, "es-"):
		return "data"
	case strings.HasPrefix(name, "ci-"):
		return "devex"
	}
	return "platform"
}

func envOf(name string) string {
	if strings.HasPrefix(name, "staging") || strings.HasPrefix(name, "ci-") {
		return "staging"
	}
	return "prod"
}

// Resource groups of the demo fleet: a team's instances are in its group,
// the rest in the account's default group (which ECS lists whatever group
// a DescribeInstances asks for).
const (
	DefaultResourceGroup  = "rg-acfmdefault0001"
	PlatformResourceGroup = "rg-aek2platform001"
	DataResourceGroup     = "rg-aek2data0000001"
)

func groupOf(team string) string {
	switch team {
	case "platform":
		return PlatformResourceGroup
	case "data":
		return DataResourceGroup
	}
	return DefaultResourceGroup
}

// stoppedModeOf is how a demo instance was stopped: staging and the batch
// workers but the first in economical mode (the first stays a plain stop, so
// both kinds sit side by side); local-disk families cannot use it.
func stoppedModeOf(name, family string) string {
	switch {
	case localDiskFamily(family):
		return "Not-applicable"
	case strings.HasPrefix(name, "batch-worker") && name != "batch-worker-01", strings.HasPrefix(name, "staging-"):
		return "StopCharging"
	}
	return "KeepCharging"
}

// localDiskFamily reports the families with local disks (d and i series),
// which cannot stop in economical mode.
func localDiskFamily(family string) bool {
	f := strings.TrimPrefix(family, "ecs.")
	return strings.HasPrefix(f, "d") || strings.HasPrefix(f, "i")
}

// vCPUs of ECS's size names, and GiB of memory per vCPU of a family's
// letter (g general, c compute, r memory); d1 and i2g have 4, i1 4, i2 8.
var (
	sizeCPUs     = map[string]int{"large": 2, "xlarge": 4, "2xlarge": 8, "3xlarge": 12, "4xlarge": 16, "6xlarge": 24, "8xlarge": 32}
	familyMemory = map[string]int{"ecs.d1": 4, "ecs.i1": 4, "ecs.i2": 8, "ecs.i2g": 4}
	letterMemory = map[byte]int{'g': 4, 'c': 2, 'r': 8}
)

// sizeOf is an instance type's vCPUs and memory (MiB), as ECS reports them
// (ecs.g7.xlarge: 4 vCPUs, 16 GiB; ecs.c7.large: 2, 4 GiB).
func sizeOf(typ string) (cpu, memMiB int) {
	parts := strings.Split(typ, ".")
	if len(parts) < 3 {
		return 2, 8192
	}
	cpu = sizeCPUs[parts[2]]
	if cpu == 0 {
		cpu = 2
	}
	per := familyMemory[parts[0]+"."+parts[1]]
	if per == 0 && parts[1] != "" {
		per = letterMemory[parts[1][0]]
	}
	if per == 0 {
		per = 4
	}
	return cpu, cpu * per * 1024
}
