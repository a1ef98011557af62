package ecssim_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"ecsdash/internal/ecs/ecssim"
)

// A simulator left running (`web simulator`) remembers a bounded number of
// the starts it was sent, the newest among them, not every one since it
// began.
func TestTheCloudRemembersABoundedNumberOfStarts(t *testing.T) {
	t.Parallel()
	cloud, _, _ := ecssim.NewDemoCloud(ecssim.Options{Seed: 1})
	const sent = 25_000
	for i := range sent {
		r := httptest.NewRequest(http.MethodPost, "/?Action=StartInstance&AccessKeyId="+ecssim.DemoAccessKeyID+"&Signature=x", nil)
		if i == sent-1 {
			r = httptest.NewRequest(http.MethodPost, "/?Action=StartInstance&AccessKeyId="+ecssim.DemoAccessKeyID+"&Signature=x&DryRun=true", nil)
		}
		cloud.ServeHTTP(httptest.NewRecorder(), r)
	}
	got := cloud.Signed()
	if len(got) == 0 || len(got) > 10_000 {
		t.Fatalf("after %d starts the cloud remembers %d", sent, len(got))
	}
	if !got[len(got)-1].DryRun {
		t.Fatal("the newest start is not among those remembered")
	}
}
