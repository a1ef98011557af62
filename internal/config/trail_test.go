package config_test

import (
	"strings"
	"testing"

	"ecsdash/internal/config"
)

// --actiontrail-url: the console's event lookup by default, any https
// template naming the call instead, "" for no link; anything else refused
// in words.
func TestActionTrailURLIsATemplateThatNamesTheCall(t *testing.T) {
	t.Parallel()
	c, err := parse(nil, nil)
	if err != nil || c.ActionTrailURL != config.DefaultActionTrailURL {
		t.Fatalf("default: %q %v", c.ActionTrailURL, err)
	}
	own := "https://trail.example.com/lookup?account={account_id}&region={region}&event={request_id}"
	if c, err := parse([]string{"--actiontrail-url", own}, nil); err != nil || c.ActionTrailURL != own {
		t.Fatalf("a template of one's own: %q %v", c.ActionTrailURL, err)
	}
	if c, err := parse(nil, map[string]string{"ECS_DASHBOARD_ACTIONTRAIL_URL": ""}); err != nil || c.ActionTrailURL != config.DefaultActionTrailURL {
		t.Fatalf("an empty variable keeps the default: %q %v", c.ActionTrailURL, err)
	}
	if c, err := parse([]string{"--actiontrail-url", ""}, nil); err != nil || c.ActionTrailURL != "" {
		t.Fatalf("no link: %q %v", c.ActionTrailURL, err)
	}
	for bad, words := range map[string]string{
		"https://trail.example.com/lookup":                 "names no call",
		"ftp://trail.example.com/{request_id}":             "not an http(s) URL",
		"https://trail.example.com/{requestid}/{region}":   "names no call",
		"https://trail.example.com/{request_id}/{user}":    "only {region}",
		"http://trail.example.com/?event={request_id}":     "only to a loopback",
		"https://{region}.example.com/?e={request_id}/{x}": "only {region}",
	} {
		if _, err := parse([]string{"--actiontrail-url", bad}, nil); err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("%q: %v, want %q", bad, err, words)
		}
	}
}
