package ecssim

import "testing"

// The demo's staging account: a few instances in each region, tagged
// env=staging, none named as a demo fleet's instance is (a name then says
// which account it is in), none with its ids.
func TestAStagingFleetIsSmallTaggedStagingAndSharesNoNameOrIDWithTheDemoFleet(t *testing.T) {
	demo := New(Options{Seed: 1})
	staging := New(Options{Regions: []string{"cn-hangzhou"}, Staging: true, Seed: 2})
	names := map[string]bool{}
	for id, in := range demo.instances {
		names[in.Name] = true
		if staging.instances[id] != nil {
			t.Fatalf("id %s is in both fleets", id)
		}
	}
	if n := len(staging.instances); n == 0 || n > 10 {
		t.Fatalf("%d staging instances", n)
	}
	stopped := 0
	for _, in := range staging.instances {
		if names[in.Name] {
			t.Errorf("%s is a name of the demo fleet too", in.Name)
		}
		if in.Tags["env"] != "staging" || in.Region != "cn-hangzhou" {
			t.Errorf("%s: env %q, region %s", in.Name, in.Tags["env"], in.Region)
		}
		if in.status == "Stopped" {
			stopped++
		}
	}
	if stopped == 0 {
		t.Fatal("no stopped staging instance to start in the demo")
	}
}
