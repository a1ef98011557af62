package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	ecsapi "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/dara"

	"ecsdash/internal/ecs/ecssim"
)

// startFigures times sequential starts through the dashboard's page (form
// POST with a session) and through its JSON API (a bearer token), each of
// other stopped instances, against the bare SDK StartInstance call, all in
// one run against one simulator with no call latency: the figures are the
// dashboard's own overhead.
func startFigures(ctx context.Context, bin, dir string) ([]row, error) {
	sim := ecssim.New(ecssim.Options{Instances: 3000, Seed: 2, StartDelay: time.Hour})
	simURL, _, err := ecssim.Serve(ctx, sim, "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dir, "dash2.db")
	if out, err := runBin(bin, "pw-for-bench\n", "user", "add", "--db", dbPath, "--role", "operator", "bench"); err != nil {
		return nil, fmt.Errorf("user add: %v %s", err, out)
	}
	out, err := runBin(bin, "", "token", "create", "--db", dbPath, "--user", "bench", "--name", "bench")
	if err != nil {
		return nil, fmt.Errorf("token create: %v %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	// No start rate limit and no API pace: the figure is the dashboard's own overhead.
	child, err := startDashboard(bin, dbPath, simURL, sim.Regions(), "--approval", "none", "--start-rate", "0", "--api-rate", "0")
	if err != nil {
		return nil, err
	}
	defer child.stop()
	if err := waitReady(child.base, 60*time.Second); err != nil {
		return nil, err
	}
	c, csrf, err := login(child.base, "bench", "pw-for-bench")
	if err != nil {
		return nil, err
	}
	n := 250
	if *quick {
		n = 50
	}
	stopped, err := stoppedIDs(c, child.base, 3*n)
	if err != nil {
		return nil, err
	}
	if len(stopped) < 3*n {
		return nil, fmt.Errorf("%d stopped instances, want %d", len(stopped), 3*n)
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var page, api, bare []time.Duration
	for _, s := range stopped[:n] {
		id, region, _ := strings.Cut(s, " ")
		t0 := time.Now()
		resp, err := c.PostForm(child.base+"/instances/"+id+"/start", url.Values{"region": {region}, "_csrf": {csrf}})
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("start %s: %d", id, resp.StatusCode)
		}
		page = append(page, time.Since(t0))
	}
	bot := &http.Client{Timeout: 30 * time.Second}
	for _, s := range stopped[n : 2*n] {
		id, region, _ := strings.Cut(s, " ")
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodPost, child.base+"/api/v1/instances/"+id+"/start", bytes.NewReader([]byte(`{"region":"`+region+`"}`)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := bot.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("API start %s: %d", id, resp.StatusCode)
		}
		api = append(api, time.Since(t0))
	}
	sdk, err := bareSDK(simURL, "cn-hangzhou")
	if err != nil {
		return nil, err
	}
	for _, s := range stopped[2*n : 3*n] {
		id, _, _ := strings.Cut(s, " ")
		t0 := time.Now()
		if _, err := sdk.StartInstanceWithContext(context.Background(), &ecsapi.StartInstanceRequest{InstanceId: dara.String(id)}, &dara.RuntimeOptions{}); err != nil {
			return nil, fmt.Errorf("bare start: %w", err)
		}
		bare = append(bare, time.Since(t0))
	}
	bp50, bp99 := pct(bare, 50), pct(bare, 99)
	ref := fmt.Sprintf("bare SDK StartInstance: p50 %.2f ms, p99 %.2f ms", ms(bp50), ms(bp99))
	figure := func(what string, d []time.Duration) row {
		p50, p99 := pct(d, 50), pct(d, 99)
		return row{fmt.Sprintf("%s end to end (%d starts, sequential)", what, n), fmt.Sprintf("p50 %.2f ms, p99 %.2f ms", ms(p50), ms(p99)), ref,
			fmt.Sprintf("%.1f× at p50; adds %.2f ms p50, %.2f ms p99", float64(p50)/float64(bp50), ms(p50-bp50), ms(p99-bp99))}
	}
	fmt.Fprintln(os.Stderr, "starts measured")
	return []row{figure("POST /instances/{id}/start", page), figure("POST /api/v1/instances/{id}/start", api)}, nil
}
