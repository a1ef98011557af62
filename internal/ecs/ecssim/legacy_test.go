package ecssim_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	legacyerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	legacy "github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"ecsdash/internal/ecs/ecssim"
)

// The legacy Go SDK (github.com/aliyun/alibaba-cloud-sdk-go), which signs
// with the RPC signature (HMAC-SHA1) as the aliyun CLI and Terraform do,
// drives the simulator: a client nobody here wrote.
type legacyRig struct {
	sim  *ecssim.Server
	host string

	mu   sync.Mutex
	last *http.Request
	body []byte
}

func newLegacyRig(t *testing.T, opts ecssim.Options) *legacyRig {
	t.Helper()
	lr := &legacyRig{sim: ecssim.New(opts)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lr.mu.Lock()
		lr.last, lr.body = r.Clone(r.Context()), body
		lr.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		lr.sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	lr.host = u.Host
	return lr
}

// legacyMu serialises the legacy SDK's client constructors: they fill a
// package-level endpoint map lazily without a lock, which the race detector
// rightly reports when parallel tests build clients at once.
var legacyMu sync.Mutex

func newLegacy(build func() (*legacy.Client, error)) (*legacy.Client, error) {
	legacyMu.Lock()
	defer legacyMu.Unlock()
	return build()
}

func (lr *legacyRig) client(t *testing.T, id, secret string) *legacy.Client {
	t.Helper()
	c, err := newLegacy(func() (*legacy.Client, error) { return legacy.NewClientWithAccessKey("cn-hangzhou", id, secret) })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (lr *legacyRig) describe(c *legacy.Client, token string) (*legacy.DescribeInstancesResponse, error) {
	req := legacy.CreateDescribeInstancesRequest()
	req.Domain, req.Scheme = lr.host, "http"
	req.RegionId = "cn-hangzhou"
	req.MaxResults = requests.NewInteger(100)
	req.NextToken = token
	return c.DescribeInstances(req)
}

func legacyCode(err error) string {
	var se *legacyerrors.ServerError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return ""
}

func TestLegacySDKPagesStartsAndIsRefusedAWrongSecret(t *testing.T) {
	t.Parallel()
	lr := newLegacyRig(t, ecssim.Options{Instances: 750})
	c := lr.client(t, ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	seen := map[string]bool{}
	var stopped string
	token, pages := "", 0
	for {
		resp, err := lr.describe(c, token)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		for _, in := range resp.Instances.Instance {
			if seen[in.InstanceId] {
				t.Fatalf("%s listed twice", in.InstanceId)
			}
			seen[in.InstanceId] = true
			if in.Status == "Stopped" {
				stopped = in.InstanceId
			}
		}
		if token = resp.NextToken; token == "" || pages > 10 {
			break
		}
	}
	if len(seen) != 250 || pages != 3 {
		t.Fatalf("%d instances in %d pages, want 250 in 3", len(seen), pages)
	}

	start := legacy.CreateStartInstanceRequest()
	start.Domain, start.Scheme = lr.host, "http"
	start.InstanceId = stopped
	resp, err := c.StartInstance(start)
	if err != nil || resp.RequestId == "" {
		t.Fatalf("StartInstance: %v", err)
	}
	if n, _ := lr.sim.Starts(stopped); n != 1 || lr.sim.Status(stopped) != "Starting" {
		t.Fatalf("the legacy SDK's start did not take: %d starts, %s", n, lr.sim.Status(stopped))
	}

	if _, err := lr.describe(lr.client(t, ecssim.DemoAccessKeyID, "not-the-secret"), ""); legacyCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := lr.describe(lr.client(t, "LTAI-nobody", "x"), ""); legacyCode(err) != "InvalidAccessKeyId.NotFound" {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestRPCSignedRequestReplayedIsRefused(t *testing.T) {
	t.Parallel()
	lr := newLegacyRig(t, ecssim.Options{})
	if _, err := lr.describe(lr.client(t, ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret), ""); err != nil {
		t.Fatal(err)
	}
	lr.mu.Lock()
	last, body := lr.last, lr.body
	lr.mu.Unlock()
	if q := last.URL.Query(); q.Get("Signature") == "" && !strings.Contains(string(body), "Signature=") {
		t.Fatal("the legacy SDK's request carries no RPC signature")
	}
	replay := func(mutate func(q url.Values)) (int, string) {
		u := *last.URL
		u.Scheme, u.Host = "http", lr.host
		b := body
		if mutate != nil {
			q := u.Query()
			form, _ := url.ParseQuery(string(body))
			for k, v := range form {
				q[k] = v
			}
			mutate(q)
			u.RawQuery, b = q.Encode(), nil
		}
		req, _ := http.NewRequest(last.Method, u.String(), bytes.NewReader(b))
		req.Header = last.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if status, out := replay(nil); status != 400 || !strings.Contains(out, "SignatureNonceUsed") {
		t.Fatalf("replay answered %d %s", status, out)
	}
	if status, out := replay(func(q url.Values) { q.Set("RegionId", "cn-shanghai"); q.Set("SignatureNonce", "fresh") }); status != 400 ||
		!strings.Contains(out, "SignatureDoesNotMatch") {
		t.Fatalf("tampered request answered %d %s", status, out)
	}
}

func TestLegacySDKWithSTSCredentials(t *testing.T) {
	t.Parallel()
	lr := newLegacyRig(t, ecssim.Options{})
	id, secret, token := lr.sim.IssueSTS(time.Hour)
	c, err := newLegacy(func() (*legacy.Client, error) { return legacy.NewClientWithStsToken("cn-hangzhou", id, secret, token) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lr.describe(c, ""); err != nil {
		t.Fatalf("valid STS credentials: %v", err)
	}
	bogus, _ := newLegacy(func() (*legacy.Client, error) {
		return legacy.NewClientWithStsToken("cn-hangzhou", id, secret, "CAISforged")
	})
	if _, err := lr.describe(bogus, ""); legacyCode(err) != "InvalidSecurityToken.Malformed" {
		t.Fatalf("forged token: %v", err)
	}
	noToken := lr.client(t, id, secret)
	if _, err := lr.describe(noToken, ""); legacyCode(err) != "MissingSecurityToken" {
		t.Fatalf("temporary key without its token: %v", err)
	}
}
