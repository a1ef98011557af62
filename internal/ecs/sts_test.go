package ecs_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/credentials-go/credentials"
	"github.com/aliyun/credentials-go/credentials/providers"

	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
)

func stsCredential(t *testing.T, id, secret, token string) credentials.Credential {
	t.Helper()
	p, err := providers.NewStaticSTSCredentialsProviderBuilder().WithAccessKeyId(id).WithAccessKeySecret(secret).WithSecurityToken(token).Build()
	if err != nil {
		t.Fatal(err)
	}
	return credentials.FromCredentialsProvider("sts", p)
}

// stsRig is a simulator whose clock the test moves, and a way to build a
// client signing with given credentials.
type stsRig struct {
	sim   *ecssim.Server
	url   string
	ahead atomic.Int64 // added to the simulator's clock
}

func newSTSRig(t *testing.T) *stsRig {
	r := &stsRig{}
	r.sim = ecssim.New(ecssim.Options{Now: func() time.Time { return time.Now().Add(time.Duration(r.ahead.Load())) }})
	srv := httptest.NewServer(r.sim)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *stsRig) client(t *testing.T, cred credentials.Credential, renew func() (credentials.Credential, error)) *ecs.Client {
	t.Helper()
	c, err := ecs.New(ecs.Options{Regions: r.sim.Regions(), Endpoint: r.url, Credential: cred, Renew: renew, Timeout: 2 * time.Second,
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSecurityTokensAreCheckedAsECSDoes(t *testing.T) {
	t.Parallel()
	r := newSTSRig(t)
	id, secret, token := r.sim.IssueSTS(time.Hour)
	otherID, otherSecret, otherToken := r.sim.IssueSTS(time.Hour)
	list := func(c credentials.Credential) error {
		_, _, err := r.client(t, c, nil).ListRegion(context.Background(), "cn-hangzhou")
		return err
	}
	if err := list(stsCredential(t, id, secret, token)); err != nil {
		t.Fatalf("valid STS credentials refused: %v", err)
	}
	for name, tc := range map[string]struct {
		cred credentials.Credential
		code string
	}{
		"bogus token":              {stsCredential(t, id, secret, "CAISnot-a-token-we-issued"), "InvalidSecurityToken.Malformed"},
		"another grant's token":    {stsCredential(t, id, secret, otherToken), "InvalidSecurityToken.MismatchWithAccessKey"},
		"token on a permanent key": {stsCredential(t, ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret, otherToken), "InvalidSecurityToken.MismatchWithAccessKey"},
	} {
		e := ecsErr(t, list(tc.cred))
		if e.Code != tc.code || e.Kind != ecs.KindAuth || !strings.Contains(e.Summary, "security token") {
			t.Errorf("%s: got %+v, want %s in words", name, e, tc.code)
		}
	}
	if err := list(stsCredential(t, otherID, otherSecret, otherToken)); err != nil {
		t.Fatalf("the other grant's own credentials refused: %v", err)
	}
}

// When ECS says the token expired, the client builds the credential again
// from its source (a role hands out a fresh token) and the call succeeds;
// without a source to renew from, the failure is explained in words.
func TestAnExpiredSecurityTokenIsRenewedFromItsSource(t *testing.T) {
	t.Parallel()
	r := newSTSRig(t)
	id, secret, token := r.sim.IssueSTS(5 * time.Minute)
	var renewals atomic.Int32
	renew := func() (credentials.Credential, error) {
		renewals.Add(1)
		id, secret, token := r.sim.IssueSTS(5 * time.Minute)
		return stsCredential(t, id, secret, token), nil
	}
	c := r.client(t, stsCredential(t, id, secret, token), renew)
	if _, _, err := c.ListRegion(context.Background(), "cn-hangzhou"); err != nil || renewals.Load() != 0 {
		t.Fatalf("fresh token: err %v, %d renewals", err, renewals.Load())
	}
	stale := r.client(t, stsCredential(t, id, secret, token), nil)

	r.ahead.Store(int64(6 * time.Minute)) // the first token has expired
	list, _, err := c.ListRegion(context.Background(), "cn-hangzhou")
	if err != nil || len(list) == 0 {
		t.Fatalf("after expiry: %v", err)
	}
	if renewals.Load() != 1 {
		t.Fatalf("%d renewals, want 1", renewals.Load())
	}
	// A Stopped instance that starts: not locked, and none of those the
	// demo fleet fails on purpose (the simulator's fault list).
	i := slices.IndexFunc(list, func(x ecs.Instance) bool {
		return x.Status == ecs.StatusStopped && !x.SecurityLocked() && !x.HasLock("financial") && r.sim.Fault(x.ID) == ""
	})
	if i < 0 {
		t.Fatal("no Stopped instance the simulator starts")
	}
	in := list[i]
	if _, err := c.StartInstance(context.Background(), in.Region, in.ID, false, ecs.Hooks{}); err != nil {
		t.Fatalf("start with the renewed credential: %v", err)
	}

	_, _, err = stale.ListRegion(context.Background(), "cn-hangzhou")
	e := ecsErr(t, err)
	if e.Code != "InvalidSecurityToken.Expired" || e.Kind != ecs.KindAuth || !strings.Contains(e.Summary, "temporary (STS) credentials have expired") ||
		!strings.Contains(e.Action, "security token in the environment") {
		t.Fatalf("an expired token that cannot be renewed: %+v", e)
	}
}
