package ecssim

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// faultTable holds the documented StartInstance errors: HTTP status and ECS's
// message. batch is the status StartInstances answers the code with when it
// differs (the KMS codes are 400 there, 403 in StartInstance).
var faultTable = map[string]struct {
	status  int
	message string
	batch   int
}{
	"IncorrectInstanceStatus":                       {403, "The current status of the resource does not support this operation.", 0},
	"InstanceLockedForSecurity":                     {403, "The specified operation is denied as your instance is locked for security reasons.", 0},
	"InsufficientBalance":                           {403, "Your account does not have enough balance.", 0},
	"InstanceExpired":                               {403, "The postPaid instance has been expired. Please ensure your account have enough balance.", 0},
	"InstanceNotReady":                              {403, "The specified instance is not ready for use", 0},
	"DiskError":                                     {403, "IncorrectDiskStatus.", 0},
	"DiskInArrears":                                 {403, "The operation is denied due to the specified disk is in arrears.", 0},
	"OperationDenied.NoStock":                       {403, "The requested resource is sold out in the specified zone; try other types of resources or other regions and zones.", 0},
	"InvalidParameter.KMSKeyId.NotFound":            {403, "The specified KMSKeyId is not found.", 400},
	"InvalidParameter.KMSKeyId.CMKUnauthorized":     {403, "ECS service have no right to access your KMS CMK.", 400},
	"InvalidParameter.KMSKeyId.CMKNotEnabled":       {403, "The CMK needs to be enabled.", 400},
	"InvalidParameter.KMSKeyId.KMSUnauthorized":     {403, "ECS service have no right to access your KMS.", 400},
	"QuotaExceed.ElasticQuota":                      {403, "The number of the specified instance type exceeds the elastic quota.", 0},
	"OperationDenied.HostRepairing":                 {403, "The operation is denied because the host of the instance is being repaired.", 0},
	"LackResource":                                  {400, "There's no enough resource on the specified host.", 0},
	"InvalidInstance.NotFoundSystemDisk":            {400, "The specified instance has no system disk.", 0},
	"Throttling":                                    {400, "Request was denied due to request throttling.", 0},
	"Throttling.User":                               {400, "Request was denied due to user flow control.", 0},
	"Throttling.Api":                                {400, "Request was denied due to api flow control.", 0},
	"Throttling.Resource":                           {429, "The request throttle by resource operation.", 0},
	"InvalidOperation.Conflict":                     {409, "Request was denied due to conflict with a previous request, please try again later.", 0},
	"InstanceExpiredOrInArrears":                    {403, "The specified operation is denied as your prepay instance is expired (prepay mode) or in arrears (afterpay mode).", 0},
	"OperationDenied.SpotPriceLowerThanPublicPrice": {403, "The specified spot price is lower than the current public price.", 0},
	"Invalid.PrivatePoolOptions.NoStock":            {400, "The private pool has no stock left.", 0},
	"InvalidDedicatedHost.NotEnoughResource":        {400, "The dedicated host has not enough resource.", 0},
	"InvalidCapacityReservationId.NotFound":         {404, "The specified capacity reservation does not exist.", 0},
	"InvalidInstanceId.NotFound":                    {404, "The specified InstanceId does not exist.", 0},
	"InternalError":                                 {500, "The request processing has failed due to some unknown error, exception or failure.", 0},
	"ServiceUnavailable":                            {503, "The request has failed due to a temporary failure of the server.", 0},
}

// instanceIDShape is what an instance id looks like (i- and letters or digits).
var instanceIDShape = regexp.MustCompile(`^i-[a-z0-9]{1,40}$`)

// prePaidExpired is InstanceExpired's message for a lapsed subscription
// (the table's is the pay-as-you-go one).
const prePaidExpired = "The prePaid instance has been expired."

// regionParam reads the mandatory RegionId, answering the error itself when
// it is missing or unknown.
func (s *Server) regionParam(w http.ResponseWriter, q url.Values) (string, bool) {
	region := q.Get("RegionId")
	if region == "" {
		s.fail(w, 400, "MissingParameter", "The input parameter \"RegionId\" that is mandatory for processing this request is not supplied.")
		return "", false
	}
	if !slices.Contains(s.regions, region) {
		s.fail(w, 400, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")
		return "", false
	}
	return region, true
}

func (s *Server) describeInstances(w http.ResponseWriter, q url.Values) {
	region, ok := s.regionParam(w, q)
	if !ok {
		return
	}
	f, ferr := parseFilter(q)
	if ferr != nil {
		s.fail(w, ferr.status, ferr.code, ferr.message)
		return
	}
	zone := f.zone

	s.mu.Lock()
	if zone != "" && !slices.Contains(s.zonesOf(region), zone) {
		s.mu.Unlock()
		s.fail(w, 400, "InvalidZoneId.NotFound", "The specified ZoneId does not exist in the region.")
		return
	}
	// Newest first, as the console shows them: an instance created during
	// a listing moves every later one a place down, so a client paging
	// through must expect to meet one twice. Only as much of the listing is
	// found as the page needs (see paging.go).
	l := s.newListing(region, &f, indexKey(q))
	listing := region + "/" + f.key // what a NextToken is bound to

	resp := map[string]any{}
	var page []*instance
	// MaxResults/NextToken win when both pagings are sent, as on ECS, and
	// then TotalCount is not sent: it is meaningful only for PageNumber.
	if (q.Has("PageNumber") || q.Has("PageSize")) && !q.Has("MaxResults") && !q.Has("NextToken") {
		// The deprecated paging, still answered. Its TotalCount is the whole
		// listing: found whole when a filter is on the status or public IP.
		num, err1 := intParam(q, "PageNumber", 1, 1, 1<<30)
		size, err2 := intParam(q, "PageSize", 10, 1, 100)
		if err1 != nil || err2 != nil {
			s.mu.Unlock()
			s.fail(w, 400, "InvalidParameter", "PageNumber must be at least 1 and PageSize from 1 to 100.")
			return
		}
		total := l.count(int(^uint(0) >> 1))
		resp["TotalCount"] = total
		from := min((num-1)*size, total)
		page = l.slice(from, min(from+size, total))
		resp["PageNumber"], resp["PageSize"] = num, size
	} else {
		max, err := intParam(q, "MaxResults", 10, 1, 100)
		if err != nil {
			s.mu.Unlock()
			s.fail(w, 400, "InvalidParameter.MaxResults", "MaxResults must be from 1 to 100.")
			return
		}
		from := 0
		if tok := q.Get("NextToken"); tok != "" {
			n, err := decodeToken(tok, listing)
			if err != nil || n < 0 || n > l.count(n) {
				s.mu.Unlock()
				s.fail(w, 400, "InvalidParameter.NextToken", "The specified NextToken is not valid.")
				return
			}
			from = n
		}
		// One more than the page: whether a NextToken is due.
		known := l.count(from + max + 1)
		to := min(from+max, known)
		page = l.slice(from, to)
		next := ""
		if to < known {
			next = encodeToken(to, listing)
		}
		resp["NextToken"] = next
	}
	s.mu.Unlock()
	list := make([]wireInstance, 0, len(page))
	s.mu.Lock()
	for _, in := range page {
		list = append(list, in.wire(s.statusOf(in)))
	}
	s.mu.Unlock()
	resp["Instances"] = map[string]any{"Instance": list}
	s.reply(w, 200, resp)
}

// wireInstance is DescribeInstances' instance, field for field as ECS
// sends it (a struct: encoding a map per instance was the simulator's
// largest cost at 10,000 instances).
type wireInstance struct {
	InstanceId         string
	InstanceName       string
	InstanceType       string
	InstanceTypeFamily string
	Status             string
	RegionId           string
	ZoneId             string
	InstanceChargeType string
	ExpiredTime        string
	CreationTime       string
	Cpu                int
	Memory             int
	StartTime          string
	StoppedMode        string
	ResourceGroupId    string
	HostName           string
	OSType             string
	OSName             string
	ImageId            string
	SpotStrategy       string
	DeletionProtection bool
	KeyPairName        string
	OperationLocks     struct{ LockReason []wireLock }
	VpcAttributes      struct {
		VpcId            string
		VSwitchId        string
		PrivateIpAddress struct{ IpAddress []string }
	}
	PublicIpAddress struct{ IpAddress []string }
	EipAddress      struct {
		IpAddress          string
		AllocationId       string
		InternetChargeType string
		Bandwidth          int
	}
	LocalStorageAmount   int
	LocalStorageCapacity int64
	Tags                 struct{ Tag []wireTag }
}

type wireLock struct{ LockReason, LockMsg string }

type wireTag struct{ TagKey, TagValue string }

func (in *instance) wire(status string) wireInstance {
	w := wireInstance{InstanceId: in.ID, InstanceName: in.Name, InstanceType: in.Type, InstanceTypeFamily: in.Family,
		Status: status, RegionId: in.Region, ZoneId: in.Zone, InstanceChargeType: in.ChargeType, ExpiredTime: in.ExpiredTime,
		CreationTime: in.CreationTime, Cpu: in.Cpu, Memory: in.Memory, LocalStorageAmount: in.LocalStorageAmount,
		LocalStorageCapacity: in.LocalStorageCapacity}
	w.OperationLocks.LockReason = []wireLock{}
	for _, l := range in.Locks {
		w.OperationLocks.LockReason = append(w.OperationLocks.LockReason, wireLock{l.reason, l.msg})
	}
	if status == "Stopped" {
		w.StoppedMode = in.StoppedMode
	}
	w.ResourceGroupId, w.HostName, w.KeyPairName = in.ResourceGroupID, in.Name, in.KeyPairName
	w.OSType, w.OSName, w.ImageId, w.SpotStrategy = "linux", "Alibaba Cloud Linux 3.2104 LTS 64 bit", "aliyun_3_x64_20G_alibase_20250101.vhd", "NoSpot"
	if status == "Running" || status == "Stopping" {
		w.StartTime = in.StartTime
	}
	w.VpcAttributes.VpcId, w.VpcAttributes.VSwitchId = in.VpcID, "vsw-"+strings.TrimPrefix(in.VpcID, "vpc-")+"-"+in.Zone[len(in.Zone)-1:]
	w.VpcAttributes.PrivateIpAddress.IpAddress = []string{in.PrivateIP}
	if in.EIP != "" {
		w.EipAddress.IpAddress, w.EipAddress.AllocationId = in.EIP, "eip-"+strings.TrimPrefix(in.ID, "i-")
		w.EipAddress.InternetChargeType, w.EipAddress.Bandwidth = "PayByTraffic", 100
	}
	w.PublicIpAddress.IpAddress = []string{}
	if in.PublicIP != "" {
		w.PublicIpAddress.IpAddress = append(w.PublicIpAddress.IpAddress, in.PublicIP)
	}
	w.Tags.Tag = []wireTag{}
	for k, v := range in.Tags {
		w.Tags.Tag = append(w.Tags.Tag, wireTag{k, v})
	}
	return w
}

func (s *Server) describeInstanceStatus(w http.ResponseWriter, q url.Values) {
	region := q.Get("RegionId")
	if !slices.Contains(s.regions, region) {
		s.fail(w, 400, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")
		return
	}
	num, err1 := intParam(q, "PageNumber", 1, 1, 1<<30)
	size, err2 := intParam(q, "PageSize", 10, 1, 50)
	if err1 != nil || err2 != nil {
		s.fail(w, 400, "InvalidParameter", "PageNumber must be at least 1 and PageSize from 1 to 50.")
		return
	}
	var ids []string
	for i := 1; i <= 100; i++ {
		if v := q.Get("InstanceId." + strconv.Itoa(i)); v != "" {
			ids = append(ids, v)
		}
	}
	s.mu.Lock()
	var all []map[string]any
	for _, id := range s.order {
		in := s.instances[id]
		if in.Region != region || (len(ids) > 0 && !slices.Contains(ids, id)) {
			continue
		}
		all = append(all, map[string]any{"InstanceId": id, "Status": s.statusOf(in)})
	}
	s.mu.Unlock()
	from := min((num-1)*size, len(all))
	page := all[from:min(from+size, len(all))]
	if page == nil {
		page = []map[string]any{}
	}
	s.reply(w, 200, map[string]any{"TotalCount": len(all), "PageNumber": num, "PageSize": size,
		"InstanceStatuses": map[string]any{"InstanceStatus": page}})
}

func (s *Server) describeRegions(w http.ResponseWriter) {
	list := make([]map[string]any, 0, len(s.regions))
	for _, r := range s.regions {
		list = append(list, map[string]any{"RegionId": r, "LocalName": r, "RegionEndpoint": "ecs." + r + ".aliyuncs.com", "Status": "available"})
	}
	s.reply(w, 200, map[string]any{"Regions": map[string]any{"Region": list}})
}

// describeZones lists a region's zones, except retired ones.
func (s *Server) describeZones(w http.ResponseWriter, q url.Values) {
	region, ok := s.regionParam(w, q)
	if !ok {
		return
	}
	s.mu.Lock()
	list := []map[string]any{}
	for _, z := range s.zonesOf(region) {
		if !s.retired[z] {
			list = append(list, map[string]any{"ZoneId": z, "LocalName": z, "ZoneType": "AvailabilityZone"})
		}
	}
	s.mu.Unlock()
	s.reply(w, 200, map[string]any{"Zones": map[string]any{"Zone": list}})
}

// zonesOf lists region's zones, retired or not; s.mu is held.
func (s *Server) zonesOf(region string) []string {
	zones := make([]string, s.opts.Zones)
	for i := range zones {
		zones[i] = zoneName(region, i)
	}
	return zones
}

// startInstance starts an instance of the endpoint's region: StartInstance
// names no region, so an instance of another region is not found there, as
// on ECS.
func (s *Server) startInstance(w http.ResponseWriter, q url.Values, region string) {
	id := q.Get("InstanceId")
	if id == "" {
		s.fail(w, 400, "MissingParameter", "The input parameter \"InstanceId\" that is mandatory for processing this request is not supplied.")
		return
	}
	initLocal, err1 := boolParam(q, "InitLocalDisk")
	dryRun, err2 := boolParam(q, "DryRun")
	if err1 != nil || err2 != nil {
		s.fail(w, 400, "InvalidParameter", "InitLocalDisk and DryRun must be true or false.")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	in, ok := s.instances[id]
	if !ok || (region != "" && in.Region != region) {
		s.failCode(w, "InvalidInstanceId.NotFound")
		return
	}
	if status, code, msg := s.refusal(in, initLocal, dryRun, false); code != "" {
		s.fail(w, status, code, msg)
		return
	}
	if dryRun {
		s.fail(w, 400, "DryRunOperation", "Request validation has been passed with DryRun flag set.")
		return
	}
	s.start(in, initLocal)
	s.reply(w, 200, map[string]any{})
}

// refusal is why ECS would not start in now (code "" when it would): an
// injected or random fault, a lock, a lapsed subscription, the status, or
// InitLocalDisk without local disks. A dry run does not use up a fault that
// answers a number of times. s.mu is held.
func (s *Server) refusal(in *instance, initLocal, dryRun, batch bool) (status int, code, msg string) {
	fault := func(code string) (int, string, string) {
		f := faultTable[code]
		if batch && f.batch != 0 {
			return f.batch, code, f.message
		}
		return f.status, code, f.message
	}
	if f := s.faults[in.ID]; f != nil && f.times != 0 {
		if f.times > 0 && !dryRun {
			f.times--
		}
		return fault(f.code)
	}
	for code, rate := range s.opts.RandomFaults {
		if s.rng.Float64() < rate {
			return fault(code)
		}
	}
	switch {
	case in.locked("security"):
		return fault("InstanceLockedForSecurity")
	case in.locked("financial") || in.lapsed(s.now()):
		if in.ChargeType == "PrePaid" {
			return 403, "InstanceExpired", prePaidExpired
		}
		return fault("InstanceExpired")
	case s.statusOf(in) != "Stopped":
		return fault("IncorrectInstanceStatus")
	case initLocal && in.LocalStorageAmount == 0:
		return 403, "IncorrectInstanceStatus", "InitLocalDisk applies only to instances with local disks."
	}
	return 0, "", ""
}

// start moves in to Starting; s.mu is held.
func (s *Server) start(in *instance, initLocal bool) {
	in.status, in.startedAt = "Starting", s.now()
	in.StartTime = s.now().UTC().Format("2006-01-02T15:04Z")
	if in.StoppedMode == "StopCharging" && in.PublicIP != "" {
		// Economical mode released the public IP: the start brings another.
		in.PublicIP = fmt.Sprintf("47.%d.%d.%d", 200+in.starts%50, s.rng.IntN(250), s.rng.IntN(250)+1)
	}
	in.starts++
	if initLocal {
		in.initLocalDisk++
	}
}

// startInstances is the batch start: up to 100 ids of one region. With
// BatchOptimization=AllTogether (the default) one refusal refuses the whole
// call and nothing starts; with SuccessFirst each instance is started on its
// own and InstanceResponses says how each went. DryRun checks without
// starting: DryRunOperation when every instance would start.
func (s *Server) startInstances(w http.ResponseWriter, q url.Values, hostRegion string) {
	region := q.Get("RegionId")
	if region == "" {
		s.fail(w, 400, "MissingParameter", "The input parameter \"RegionId\" that is mandatory for processing this request is not supplied.")
		return
	}
	if !slices.Contains(s.regions, region) || (hostRegion != "" && hostRegion != region) {
		s.fail(w, 400, "InvalidRegionId.NotFound", "The specified RegionId does not exist.")
		return
	}
	var ids []string
	for i := 1; i <= 101; i++ {
		if v := q.Get("InstanceId." + strconv.Itoa(i)); v != "" {
			ids = append(ids, v)
		}
	}
	switch {
	case len(ids) == 0:
		s.fail(w, 400, "MissingParameter", "The input parameter \"InstanceId\" that is mandatory for processing this request is not supplied.")
		return
	case len(ids) > 100:
		s.fail(w, 403, "InvalidParameter.TooManyInstanceIds", "The maximum number of InstanceIds is exceeded.")
		return
	}
	for _, id := range ids {
		if !instanceIDShape.MatchString(id) {
			s.fail(w, 403, "Abs.InvalidInstanceIds.MalFormed", "The specified InstanceIds are not valid.")
			return
		}
	}
	dryRun, err := boolParam(q, "DryRun")
	if err != nil {
		s.fail(w, 400, "InvalidParameter", "DryRun must be true or false.")
		return
	}
	batch := q.Get("BatchOptimization")
	if batch == "" {
		batch = "AllTogether"
	}
	if batch != "AllTogether" && batch != "SuccessFirst" {
		s.fail(w, 400, "InvalidBatchOptimization.ValueNotSupported", "BatchOptimization must be SuccessFirst or AllTogether.")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	type outcome struct {
		in              *instance
		status          int
		code, msg, prev string
	}
	outcomes := make([]outcome, len(ids))
	refused, unknown := -1, 0
	for i, id := range ids {
		in, ok := s.instances[id]
		if !ok || in.Region != region {
			f := faultTable["InvalidInstanceId.NotFound"]
			outcomes[i] = outcome{status: f.status, code: "InvalidInstanceId.NotFound", msg: f.message}
			unknown++
		} else {
			status, code, msg := s.refusal(in, false, dryRun || batch == "AllTogether", true)
			outcomes[i] = outcome{in: in, status: status, code: code, msg: msg, prev: s.statusOf(in)}
		}
		if outcomes[i].code != "" && refused < 0 {
			refused = i
		}
	}
	if unknown == len(ids) {
		s.fail(w, 404, "InvalidInstanceIds.NotFound", "The specified InstanceIds does not exist.")
		return
	}
	// A batch dry run answers DRYRUN.SUCCESS when it passes; with
	// SuccessFirst it answers so whatever each instance would do.
	if dryRun && (refused < 0 || batch == "SuccessFirst") {
		s.fail(w, 400, "DRYRUN.SUCCESS", "This request is a dryrun request with successful result.")
		return
	}
	if refused >= 0 && (batch == "AllTogether" || len(ids) == 1) {
		o := outcomes[refused]
		s.fail(w, o.status, o.code, o.msg)
		return
	}
	list := make([]map[string]any, 0, len(ids))
	for i, o := range outcomes {
		r := map[string]any{"InstanceId": ids[i], "Code": "200", "Message": "success", "PreviousStatus": o.prev, "CurrentStatus": o.prev}
		switch {
		case o.code != "":
			r["Code"], r["Message"] = o.code, o.msg
		default:
			s.start(o.in, false)
			r["CurrentStatus"] = "Starting"
		}
		list = append(list, r)
	}
	s.reply(w, 200, map[string]any{"InstanceResponses": map[string]any{"InstanceResponse": list}})
}

func (in *instance) locked(reason string) bool {
	return slices.ContainsFunc(in.Locks, func(l lock) bool { return l.reason == reason })
}

// lapsed reports a subscription past its expiry.
func (in *instance) lapsed(now time.Time) bool {
	t, err := time.Parse("2006-01-02T15:04Z", in.ExpiredTime)
	return in.ChargeType == "PrePaid" && err == nil && now.After(t)
}

func (s *Server) failCode(w http.ResponseWriter, code string) {
	f := faultTable[code]
	s.fail(w, f.status, code, f.message)
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s out of range", name)
	}
	return n, nil
}

func boolParam(q url.Values, name string) (bool, error) {
	switch strings.ToLower(q.Get(name)) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("%s is not a boolean", name)
}

// Tokens are opaque to clients and bound to the listing (region and zone)
// they page through.
func encodeToken(offset int, listing string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s:%d", listing, offset)))
}

func decodeToken(tok, listing string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, err
	}
	r, n, ok := strings.Cut(string(b), ":")
	if !ok || r != listing {
		return 0, fmt.Errorf("token of another listing")
	}
	return strconv.Atoi(n)
}

func parseForm(body []byte) (url.Values, error) { return url.ParseQuery(string(body)) }

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	return net.Listen("tcp", addr)
}
