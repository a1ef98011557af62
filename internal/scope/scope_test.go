package scope

import (
	"strings"
	"testing"
)

func TestParseIsCanonicalAndRefusesInWords(t *testing.T) {
	s, err := Parse(" tag:team=payments , region=cn-hangzhou,tag:team=payments")
	if err != nil || s.String() != "region=cn-hangzhou,tag:team=payments" {
		t.Fatalf("%q %v", s, err)
	}
	if s, err := Parse(""); err != nil || !s.IsAll() || s.Words() != "every instance" {
		t.Fatalf("empty: %v %v", s, err)
	}
	for expr, words := range map[string]string{
		"team=payments":           "not a condition",
		"tag:team":                "no '='",
		"region=Hangzhou":         "not a region id",
		"resource-group=payments": "not a resource group id",
		"region=cn-hangzhou,":     "empty condition",
		"tag:team=a,tag:team=b":   "no instance can be at once",
		"account=prod team":       "not an account name",
		"tag:=x":                  "1 to 128 characters",
	} {
		if _, err := Parse(expr); err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("%q: %v, want %q", expr, err, words)
		}
	}
}

func TestCoversNeedsEveryConditionAndTheInstancesOwnGroup(t *testing.T) {
	s := MustParse("region=cn-hangzhou,tag:team=payments,resource-group=rg-pay")
	in := Target{Region: "cn-hangzhou", ResourceGroup: "rg-pay", Tags: map[string]string{"team": "payments", "env": "prod"}}
	if !s.Covers(in) {
		t.Fatal("an instance meeting every condition is not covered")
	}
	for name, t2 := range map[string]Target{
		"another region":    {Region: "cn-shanghai", ResourceGroup: "rg-pay", Tags: in.Tags},
		"the default group": {Region: "cn-hangzhou", ResourceGroup: "rg-default", Tags: in.Tags},
		"no group":          {Region: "cn-hangzhou", Tags: in.Tags},
		"no tag":            {Region: "cn-hangzhou", ResourceGroup: "rg-pay"},
		"another team":      {Region: "cn-hangzhou", ResourceGroup: "rg-pay", Tags: map[string]string{"team": "data"}},
	} {
		if s.Covers(t2) {
			t.Errorf("%s is covered", name)
		}
	}
	if !MustParse("account=prod").Covers(Target{Account: "prod"}) || MustParse("account=prod").Covers(Target{}) {
		t.Error("account= does not match the instance's account")
	}
	if Stored("garbage").Covers(in) {
		t.Error("an unreadable stored scope covers something")
	}
}

func TestSetKeysRoundTrip(t *testing.T) {
	set := Set{MustParse("tag:team=b"), MustParse("tag:team=a"), MustParse("tag:team=a")}
	if set.Key() != "tag:team=a\ntag:team=b" || ParseKey(set.Key()).Key() != set.Key() {
		t.Fatalf("key %q", set.Key())
	}
	if (Set{MustParse("tag:team=a"), All}).Key() != "" || Set(nil).Key() != "!" || ParseKey("!").Covers(Target{}) || !ParseKey("").Covers(Target{}) {
		t.Fatal("all / nothing keys")
	}
}
