package ecssim_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"ecsdash/internal/ecs/ecssim"
)

// batch builds a StartInstances request of cn-hangzhou for ids.
func batch(mode string, dry bool, ids ...string) *ecsapi.StartInstancesRequest {
	req := &ecsapi.StartInstancesRequest{RegionId: dara.String("cn-hangzhou"), BatchOptimization: dara.String(mode), DryRun: dara.Bool(dry)}
	for _, id := range ids {
		req.InstanceId = append(req.InstanceId, dara.String(id))
	}
	return req
}

func TestStartInstancesWith101IdsIsTooManyInstanceIds(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	var ids []string
	for i := range 101 {
		ids = append(ids, fmt.Sprintf("i-bp1toomany%05d", i))
	}
	_, err := c.StartInstances(batch("SuccessFirst", false, ids...))
	if status, code := sdkCode(err); status != 403 || code != "InvalidParameter.TooManyInstanceIds" {
		t.Fatalf("101 ids: %d %s", status, code)
	}
}

func TestBatchInputErrorsAreECSs(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	_, err := c.StartInstances(batch("SuccessFirst", false, "i-bp1doesnotexist000", "i-bp1doesnotexist001"))
	if status, code := sdkCode(err); status != 404 || code != "InvalidInstanceIds.NotFound" {
		t.Fatalf("only unknown ids: %d %s", status, code)
	}
	_, err = c.StartInstances(batch("SuccessFirst", false, "not an id"))
	if status, code := sdkCode(err); status != 403 || code != "Abs.InvalidInstanceIds.MalFormed" {
		t.Fatalf("malformed id: %d %s", status, code)
	}
}

func TestBatchDryRunAnswersDRYRUNSUCCESSAndSuccessFirstWhateverTheOutcome(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{})
	c := typedClient(t, sim)
	ids := demoIDs(t, c, "ci-runner-01", "web-prod-01")
	for _, tc := range []struct {
		mode   string
		names  []string
		status int
		code   string
	}{
		{"AllTogether", []string{"ci-runner-01"}, 400, "DRYRUN.SUCCESS"},
		{"AllTogether", []string{"ci-runner-01", "web-prod-01"}, 403, "IncorrectInstanceStatus"},
		{"SuccessFirst", []string{"ci-runner-01", "web-prod-01"}, 400, "DRYRUN.SUCCESS"},
	} {
		var list []string
		for _, n := range tc.names {
			list = append(list, ids[n])
		}
		_, err := c.StartInstances(batch(tc.mode, true, list...))
		if status, code := sdkCode(err); status != tc.status || code != tc.code {
			t.Errorf("%s dry run of %v: %d %s, want %d %s", tc.mode, tc.names, status, code, tc.status, tc.code)
		}
	}
	if n, _ := sim.Starts(ids["ci-runner-01"]); n != 0 {
		t.Fatal("a dry run started an instance")
	}
}

func TestKMSCodesAre403AloneAnd400InTheBatch(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	id := demoIDs(t, c, "vault-encrypted-01")["vault-encrypted-01"] // KMSUnauthorized on every start
	_, err := c.StartInstance(&ecsapi.StartInstanceRequest{InstanceId: dara.String(id)})
	if status, code := sdkCode(err); status != 403 || code != "InvalidParameter.KMSKeyId.KMSUnauthorized" {
		t.Fatalf("StartInstance: %d %s", status, code)
	}
	_, err = c.StartInstances(batch("AllTogether", false, id))
	if status, code := sdkCode(err); status != 400 || code != "InvalidParameter.KMSKeyId.KMSUnauthorized" {
		t.Fatalf("StartInstances: %d %s", status, code)
	}
}

func TestExpiredSubscriptionAnswersThePrePaidMessage(t *testing.T) {
	t.Parallel()
	c := typedClient(t, ecssim.New(ecssim.Options{}))
	id := demoIDs(t, c, "promo-site-2019")["promo-site-2019"]
	_, err := c.StartInstance(&ecsapi.StartInstanceRequest{InstanceId: dara.String(id)})
	if status, code := sdkCode(err); status != 403 || code != "InstanceExpired" {
		t.Fatalf("%d %s", status, code)
	}
	if msg := sdkMessage(err); msg != "The prePaid instance has been expired." {
		t.Fatalf("message %q", msg)
	}
}

func TestThrottledAnswersCarryRetryAfterAndResourceThrottlingIs429(t *testing.T) {
	t.Parallel()
	sim := ecssim.New(ecssim.Options{RetryAfter: 1500 * time.Millisecond})
	var mu sync.Mutex
	var retryAfter []string
	c := typedClientVia(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sim.ServeHTTP(w, r)
		mu.Lock()
		retryAfter = append(retryAfter, w.Header().Get("x-acs-retry-after"))
		mu.Unlock()
	}))
	id := demoIDs(t, c, "ci-runner-01")["ci-runner-01"]
	if err := sim.InjectFault(id, "Throttling.Resource", 1); err != nil {
		t.Fatal(err)
	}
	_, err := c.StartInstance(&ecsapi.StartInstanceRequest{InstanceId: dara.String(id)})
	if status, code := sdkCode(err); status != 429 || code != "Throttling.Resource" {
		t.Fatalf("%d %s", status, code)
	}
	if _, err := c.StartInstance(&ecsapi.StartInstanceRequest{InstanceId: dara.String(id)}); err != nil {
		t.Fatalf("the fault answered once: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// DescribeInstances, the throttled start, the accepted start.
	if len(retryAfter) != 3 || retryAfter[0] != "" || retryAfter[1] != "1500" || retryAfter[2] != "" {
		t.Fatalf("x-acs-retry-after per answer: %q, want only the throttled one's, 1500 (ms)", retryAfter)
	}
}

func sdkMessage(err error) string {
	var e *tea.SDKError
	if errors.As(err, &e) {
		var body struct{ Message string }
		_ = json.Unmarshal([]byte(dara.StringValue(e.Data)), &body) // empty when Data is not ECS's body
		return body.Message
	}
	return ""
}
