package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"ecsdash/internal/config"
	"ecsdash/internal/ecs/ecssim"
)

// simulatorCmd runs the ECS simulator on its own, so the aliyun CLI,
// Terraform, the SDKs, a script or a dashboard can be pointed at it: the
// demo's two accounts (prod and staging, as demo mode has them) and STS
// behind one endpoint. It prints the endpoint, the key pairs and how to
// reach one account or both, and serves until interrupted.
func simulatorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9999", "listen address, HOST:PORT (PORT 0 picks a free one)")
	n := fs.Int("demo-instances", 0, "0: the demo fleet (about 60 instances a region with the awkward cases); N: a generated fleet of N instances")
	regions := fs.String("regions", "", "comma-separated regions (default cn-hangzhou,cn-shanghai,ap-southeast-1)")
	accountsFile := fs.String("accounts-file", "", "write the accounts file for `web serve --accounts` to reach both accounts here (it holds no secret)")
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
	cloud, prod, staging := ecssim.NewDemoCloud(ecssim.Options{Regions: list, Instances: *n, Seed: 1})
	accounts := demoAccountsYAML(prod, staging)
	file := *accountsFile
	if file != "" {
		// Never over a file: it may be the operator's own accounts file.
		if _, err := os.Lstat(file); err == nil {
			return fmt.Errorf("--accounts-file %s exists: remove it or name another path (nothing was started)", file)
		}
	}
	url, done, err := ecssim.Serve(ctx, cloud, *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	if file != "" {
		// Written once the simulator it names is listening.
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			_, err = f.WriteString(accounts)
			err = errors.Join(err, f.Close())
		}
		if err != nil {
			return fmt.Errorf("--accounts-file: %w", err)
		}
	}
	if !config.LoopbackHost(host) {
		fmt.Fprintf(stderr, "warning: %s is reachable from other machines, and its AccessKey pairs are public\n", *addr)
	}
	fmt.Fprintf(stdout, `ECS simulator: %s
  endpoint           %s
  access key id      %s
  access key secret  %s
  regions            %s
  accounts           prod (UID %s, the demo fleet; the key above, or its role %s through STS at the endpoint)
                     staging (UID %s, six staging-… instances in %s, by its own keys)
  staging key id     %s
  staging key secret %s
It speaks ECS's RPC API (version 2014-05-26) and STS AssumeRole, and checks both signatures
(ACS3-HMAC-SHA256 and HMAC-SHA1). `, url, url, ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret, strings.Join(prod.Sim.Regions(), ","),
		prod.UID, ecssim.DemoRole, staging.UID, strings.Join(staging.Sim.Regions(), ","),
		staging.KeyID, staging.KeySecret)
	fmt.Fprint(stdout, serveCommands(url, host, cmp.Or(file, "accounts.yaml"), staging))
	if file == "" {
		fmt.Fprintf(stdout, "where accounts.yaml holds (or run with --accounts-file accounts.yaml to have it written):\n%s", accounts)
	}
	fmt.Fprintln(stdout, "Interrupt (Ctrl-C) to stop.")
	select {
	case <-ctx.Done():
		return <-done
	case err := <-done:
		return err
	}
}

// demoAccountsYAML is the accounts file that reaches the simulator's two
// accounts as demo mode does: prod by its role, staging by the keys in
// STAGING_ACCESS_KEY_ID and STAGING_ACCESS_KEY_SECRET.
func demoAccountsYAML(prod, staging *ecssim.Account) string {
	return fmt.Sprintf(`accounts:
  - name: %s
    role_arn: %s
    regions: [%s]
  - name: %s
    access_key_id_env: STAGING_ACCESS_KEY_ID
    access_key_secret_env: STAGING_ACCESS_KEY_SECRET
    regions: [%s]
`, prod.Name, prod.RoleARN(ecssim.DemoRole), strings.Join(prod.Sim.Regions(), ", "), staging.Name, strings.Join(staging.Sim.Regions(), ", "))
}

// serveCommands says how `web serve` reaches the simulator listening at
// url (on host, as --addr named it): prod alone by --ecs-endpoint, and both
// accounts with --sts-endpoint too, which serve takes over plain http only
// to a loopback address. A simulator on every address (0.0.0.0, ::) is on
// loopback too, so the command for both names 127.0.0.1; one on another
// address only cannot be reached that way, and the words say so.
func serveCommands(url, host, accounts string, staging *ecssim.Account) string {
	prodAlone := func(endpoint string) string {
		return fmt.Sprintf("  ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s web serve --ecs-endpoint %s\n",
			ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret, endpoint)
	}
	both := func(endpoint string) string {
		return fmt.Sprintf("  ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s \\\n"+
			"  STAGING_ACCESS_KEY_ID=%s STAGING_ACCESS_KEY_SECRET=%s \\\n"+
			"  web serve --ecs-endpoint %s --sts-endpoint %s --accounts %s\n",
			ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret, staging.KeyID, staging.KeySecret, endpoint, endpoint, accounts)
	}
	switch ip := net.ParseIP(host); {
	case config.LoopbackHost(host):
		return "Point the dashboard at prod alone with\n" + prodAlone(url) +
			"or at both accounts, as demo mode has them, with\n" + both(url)
	case host == "" || ip.IsUnspecified():
		local := "http://" + net.JoinHostPort("127.0.0.1", port(url))
		return "Point a dashboard on another machine at prod alone with (this machine's address for HOST)\n" +
			prodAlone("http://"+net.JoinHostPort("HOST", port(url))) +
			"A dashboard on this machine reaches both accounts, as demo mode has them, with\n" + both(local) +
			"(the dashboard asks STS over plain http only on a loopback address, so both accounts are reached from this machine only).\n"
	}
	return "Point the dashboard at prod alone with\n" + prodAlone(url) +
		"Both accounts need STS, which the dashboard asks over plain http only on a loopback address: run the\n" +
		"simulator with --addr 127.0.0.1:PORT (or 0.0.0.0:PORT) on the dashboard's machine to reach them both.\n"
}

// port is the port of an http://HOST:PORT url.
func port(url string) string {
	_, p, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	return p
}
