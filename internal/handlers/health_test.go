package handlers_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"ecsdash/internal/ecs/ecssim"
)

// While another connection holds the database's write lock, no start can be
// recorded: /readyz is 503, in words; once it is released, 200 again.
func TestReadyzIs503WhileTheDatabaseRefusesAWrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{})
	if p := h.browser().get("readyz"); p.status != http.StatusOK {
		t.Fatalf("readyz %d %q", p.status, p.body)
	}
	other, err := sql.Open("sqlite", "file:"+h.cfg.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	if p := h.browser().get("readyz"); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "does not accept a write") {
		t.Fatalf("readyz with the write lock held elsewhere: %d %q", p.status, p.body)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// The check that timed out finishes once the lock is gone; until then
	// /readyz says so. Bounded by count.
	var last page
	for range 100 {
		if last = h.browser().get("readyz"); last.status == http.StatusOK {
			return
		}
		if !strings.Contains(last.body, "previous write check") {
			t.Fatalf("readyz after the lock was released: %d %q", last.status, last.body)
		}
	}
	t.Fatalf("readyz never came back: %d %q", last.status, last.body)
}

// ECS is shared by every replica: while it fails, /readyz stays 200 (a load
// balancer would drain every replica at once), and /metrics shows it.
func TestReadyzStays200WhileECSFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t, opts{simOpts: ecssim.Options{}})
	if err := h.sim.SetOutage("ServiceUnavailable"); err != nil {
		t.Fatal(err)
	}
	if err := h.fleet.Refresh(context.Background()); err == nil {
		t.Fatal("a refresh during the outage succeeded")
	}
	if p := h.browser().get("readyz"); p.status != http.StatusOK {
		t.Fatalf("readyz while ECS fails: %d %q", p.status, p.body)
	}
	m := h.browser().get("metrics")
	if !strings.Contains(m.body, "ecsdash_fleet_regions_failing 3") {
		t.Fatalf("/metrics does not show the failing regions:\n%.2000s", m.body)
	}
}
