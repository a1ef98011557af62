package ecssim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

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
	srv, r := signedRequest(t, ecssim.New(ecssim.Options{}))
	status, body := send(t, srv, r, nil)
	if status != 400 || body["Code"] != "SignatureNonceUsed" {
		t.Fatalf("replay answered %d %v", status, body)
	}
}

func TestTamperedQueryIsRefused(t *testing.T) {
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
	srv, r := signedRequest(t, ecssim.New(ecssim.Options{}))
	status, body := send(t, srv, r, func(req *http.Request) { req.Header.Set("x-acs-version", "2016-01-01") })
	if status != 400 || body["Code"] != "InvalidVersion" {
		t.Fatalf("answered %d %v", status, body)
	}
}

func TestSkewedDateIsRefused(t *testing.T) {
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
	srv, r := signedRequest(t, ecssim.New(ecssim.Options{}))
	_, body := send(t, srv, r, nil)
	for _, f := range []string{"RequestId", "HostId", "Code", "Message", "Recommend"} {
		if s, _ := body[f].(string); s == "" {
			t.Errorf("error body lacks %s: %v", f, body)
		}
	}
}

func TestThrottlingAboveTheRate(t *testing.T) {
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
	if err := ecssim.New(ecssim.Options{}).InjectFault("i-x", "NoSuchCode", 1); err == nil {
		t.Fatal("accepted an undocumented code")
	}
}

func TestDemoFleetHasTheAwkwardCases(t *testing.T) {
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
