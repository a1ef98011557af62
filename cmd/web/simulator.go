package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"

	"ecsdash/internal/ecs/ecssim"
)

// simulatorCmd runs the ECS simulator on its own, so the aliyun CLI,
// Terraform, the SDKs or a script can be pointed at it: it prints the
// endpoint and the demo AccessKey pair, and serves until interrupted.
func simulatorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9999", "listen address, HOST:PORT (PORT 0 picks a free one)")
	n := fs.Int("demo-instances", 0, "0: the demo fleet (about 60 instances with the awkward cases); N: a generated fleet of N instances")
	regions := fs.String("regions", "", "comma-separated regions (default cn-hangzhou,cn-shanghai,ap-southeast-1)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("simulator takes no arguments, got %q", fs.Args())
	}
	if *n < 0 || *n > 1_000_000 {
		return fmt.Errorf("--demo-instances must be from 0 to 1000000, got %d", *n)
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr %q is not HOST:PORT: %v", *addr, err)
	}
	var list []string
	for _, r := range strings.Split(*regions, ",") {
		if r = strings.TrimSpace(r); r != "" {
			list = append(list, r)
		}
	}
	sim := ecssim.New(ecssim.Options{Regions: list, Instances: *n, Seed: 1})
	url, done, err := ecssim.Serve(ctx, sim, *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		fmt.Fprintf(stderr, "warning: %s is reachable from other machines, and its AccessKey pair is public\n", *addr)
	}
	fmt.Fprintf(stdout, `ECS simulator: %s
  endpoint           %s
  access key id      %s
  access key secret  %s
  regions            %s
It speaks ECS's RPC API (version 2014-05-26) and checks both signatures (ACS3-HMAC-SHA256 and
HMAC-SHA1). Point the dashboard at it with
  ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s web serve --ecs-endpoint %s
Interrupt (Ctrl-C) to stop.
`, url, url, ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret, strings.Join(sim.Regions(), ","),
		ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret, url)
	select {
	case <-ctx.Done():
		return <-done
	case err := <-done:
		return err
	}
}
