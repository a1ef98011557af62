package ecs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ecsdash/internal/ecs"
)

// answer reads a recorded answer of testdata/answers, without its header
// (the lines starting with #, which say where its shape comes from).
func answer(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "answers", name))
	if err != nil {
		t.Fatal(err)
	}
	var body []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "#") {
			body = append(body, l)
		}
	}
	return strings.Join(body, "\n")
}

// replaying is a client whose every call is answered with body and status.
func replaying(t *testing.T, status int, body string) *ecs.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json;charset=utf-8")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return clientFor(t, srv.URL, []string{"cn-hangzhou"}, "ak", "sk", func(o *ecs.Options) { o.MaxAttempts = 1 })
}

func TestDescribeInstancesAnswerAsECSSendsIt(t *testing.T) {
	t.Parallel()
	c := replaying(t, 200, answer(t, "describe_instances.txt"))
	list, calls, err := c.ListRegion(context.Background(), "cn-hangzhou")
	if err != nil || calls != 1 || len(list) != 2 {
		t.Fatalf("%d instances in %d calls: %v", len(list), calls, err)
	}
	byID := map[string]ecs.Instance{}
	for _, in := range list {
		byID[in.ID] = in
	}
	g5 := byID["i-bp67acfmxazb4ph1abcd"]
	checks := []struct {
		what      string
		got, want any
	}{
		{"name", g5.Name, "InstanceNameTest"},
		{"type", g5.Type, "ecs.g5.large"},
		{"family", g5.Family, "ecs.g5"},
		{"status", g5.Status, "Running"},
		{"region", g5.Region, "cn-hangzhou"},
		{"zone", g5.Zone, "cn-hangzhou-g"},
		{"charge", g5.ChargeType, "PostPaid"},
		{"expiry (the 2099 placeholder is none)", g5.ExpiredTime.IsZero(), true},
		{"locks", strings.Join(g5.LockReasons, ","), "recycling"},
		{"lock messages", strings.Join(g5.LockNotes, ","), "The specified instance is locked due to financial reason."},
		{"private IPs", strings.Join(g5.PrivateIPs, ","), "172.17.12.240"},
		{"public IPs (the elastic IP)", strings.Join(g5.PublicIPs, ","), "42.112.10.77"},
		{"local disks", g5.LocalStorageAmount, 2},
		{"settled", g5.Settled(), true},
	}
	i2 := byID["i-bp1expiredsubscr0001"]
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	checks = append(checks, []struct {
		what      string
		got, want any
	}{
		{"subscription name", i2.Name, "promo-site-2019"},
		{"subscription family", i2.Family, "ecs.i2"},
		{"subscription charge", i2.ChargeType, "PrePaid"},
		{"subscription expiry", i2.ExpiredTime, time.Date(2026, 9, 27, 16, 0, 0, 0, time.UTC)},
		{"subscription expired", i2.Expired(now), true},
		{"subscription locks", strings.Join(i2.LockReasons, ","), "financial"},
		{"subscription public IPs (no elastic IP)", strings.Join(i2.PublicIPs, ","), "121.40.22.9"},
		{"subscription local disk capacity", i2.LocalStorageCapacity, int64(894)},
	}...)
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if e := ecs.Check(i2, false, ecs.Families{"ecs.i2"}, now); e == nil || e.Code != ecs.CodeExpired {
		t.Errorf("the expired subscription passes the start check: %v", e)
	}
}

func TestDescribeInstanceStatusAnswerAsECSSendsIt(t *testing.T) {
	t.Parallel()
	c := replaying(t, 200, answer(t, "describe_instance_status.txt"))
	st, err := c.Statuses(context.Background(), "cn-hangzhou", []string{"i-bp67acfmxazb4ph1abcd", "i-bp1expiredsubscr0001"})
	if err != nil {
		t.Fatal(err)
	}
	if st["i-bp67acfmxazb4ph1abcd"] != "Running" || st["i-bp1expiredsubscr0001"] != "Starting" || len(st) != 2 {
		t.Fatalf("statuses %v", st)
	}
}

func TestStartInstanceAnswerAsECSSendsIt(t *testing.T) {
	t.Parallel()
	c := replaying(t, 200, answer(t, "start_instance.txt"))
	id, err := c.StartInstance(context.Background(), "cn-hangzhou", "i-bp67acfmxazb4ph1abcd", false, ecs.Hooks{})
	if err != nil || id != "473469C7-AA6F-4DC5-B3DB-A3DC0DE3C83E" {
		t.Fatalf("RequestId %q, %v", id, err)
	}
}

func TestErrorAnswerAsECSSendsIt(t *testing.T) {
	t.Parallel()
	c := replaying(t, 403, answer(t, "error_incorrect_status.txt"))
	var attempts []ecs.Attempt
	_, err := c.StartInstance(context.Background(), "cn-hangzhou", "i-bp67acfmxazb4ph1abcd", false, ecs.Hooks{After: func(a ecs.Attempt) { attempts = append(attempts, a) }})
	e := ecsErr(t, err)
	if e.Code != "IncorrectInstanceStatus" || e.HTTPStatus != 403 || e.Kind != ecs.KindPrecondition ||
		e.RequestID != "7B1C8A2E-4D3F-4A5B-9C6D-0E1F2A3B4C5D" || e.Message != "The current status of the resource does not support this operation." ||
		!strings.Contains(e.Summary, "must be Stopped") {
		t.Fatalf("got %+v", e)
	}
	if len(attempts) != 1 || attempts[0].RequestID != e.RequestID || !slices.Contains([]string{"IncorrectInstanceStatus"}, attempts[0].Err.Code) {
		t.Fatalf("attempts %+v", attempts)
	}
}

func TestExpiredSubscriptionAnswerAsECSSendsIt(t *testing.T) {
	t.Parallel()
	c := replaying(t, 403, answer(t, "error_instance_expired_prepaid.txt"))
	_, err := c.StartInstance(context.Background(), "cn-hangzhou", "i-bp1expiredsubscr0001", false, ecs.Hooks{})
	e := ecsErr(t, err)
	if e.Code != "InstanceExpired" || e.HTTPStatus != 403 || e.Kind != ecs.KindForbidden || e.Retryable() ||
		e.Message != "The prePaid instance has been expired." || !strings.Contains(e.Action, "Renew") {
		t.Fatalf("got %+v", e)
	}
}

// A conflict with a request still settling is retryable, as Terraform
// treats it (TestConflictIsRetriedWithinTheCallAndSucceeds retries it).
func TestConflictAnswerAsECSSendsItIsRetryable(t *testing.T) {
	t.Parallel()
	c := replaying(t, 409, answer(t, "error_conflict.txt"))
	var attempts int
	_, err := c.StartInstance(context.Background(), "cn-hangzhou", "i-bp67acfmxazb4ph1abcd", false, ecs.Hooks{After: func(ecs.Attempt) { attempts++ }})
	e := ecsErr(t, err)
	if e.Code != "InvalidOperation.Conflict" || e.HTTPStatus != 409 || e.Kind != ecs.KindPrecondition || !e.Retryable() {
		t.Fatalf("got %+v", e)
	}
	if attempts != 1 {
		t.Fatalf("%d attempts with MaxAttempts 1", attempts)
	}
}
