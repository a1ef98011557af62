package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
	"ecsdash/internal/handlers"
	"ecsdash/internal/metrics"
	"ecsdash/internal/users"
	"ecsdash/web/templates"
)

// demoUsers are seeded in demo mode only and shown on its login page.
var demoUsers = []templates.DemoUser{
	{Name: "admin", Role: users.RoleAdmin, Password: "demo-admin-pw"},
	{Name: "olivia", Role: users.RoleOperator, Password: "demo-operator-pw"},
	{Name: "arthur", Role: users.RoleApprover, Password: "demo-approver-pw"},
	{Name: "vera", Role: users.RoleViewer, Password: "demo-viewer-pw"},
	// A team's operator: sees and starts only the data team's machines.
	{Name: "dana", Role: users.RoleOperator, Password: "demo-data-team-pw", Scope: "tag:team=data"},
}

// defaultMemoryLimit is the runtime's soft memory limit unless GOMEMLIMIT
// says otherwise (10,000 cached instances need about 45 MiB live).
const defaultMemoryLimit = 64 << 20

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.LogLevel]
	lines := newLogLines(stderr)
	defer lines.Close()
	logOpts := &slog.HandlerOptions{Level: level}
	logger := slog.New(slog.NewJSONHandler(lines.now(), logOpts))
	if getenv("GOMEMLIMIT") == "" {
		// A soft limit on the runtime's memory: the collector works harder
		// near it instead of letting the heap double, so a large fleet's
		// cache stays within a small container. GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(defaultMemoryLimit)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	store, err := db.OpenWith(ctx, cfg.DBPath, db.Options{MaxConns: cfg.DBMaxConns})
	if err != nil {
		return err
	}
	defer store.Close()
	if cfg.KeyFilesDefaulted {
		logger.Warn("PostgreSQL store: key files default to the working directory; give every replica the same --session-key-file and --audit-key-file",
			"session_key_file", cfg.SessionKeyFile, "audit_key_file", cfg.AuditKeyFile)
	}

	// The background work (the lease's heartbeat, the outcome writer, the
	// demo simulator) outlives the signal that ends serving: a shutdown
	// drains the requests in flight first, and they need it.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	m := metrics.New()
	client, demo, err := connectECS(bg, cfg, getenv, logger, m.ECSCall)
	if err != nil {
		return err
	}
	srv, err := handlers.Build(ctx, handlers.Deps{Cfg: cfg, Demo: demo, DB: store, ECS: client, Metrics: m, Logger: logger,
		RequestLog: slog.NewJSONHandler(lines.soon(), logOpts), DemoUsers: demoUsers})
	if err != nil {
		return err
	}
	if err := srv.Start(bg); err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 90 * time.Second, IdleTimeout: 120 * time.Second}
	mode := "ECS"
	if demo {
		mode = "the built-in ECS simulator (demo mode)"
	}
	fmt.Fprintf(stdout, "ECS dashboard on http://%s%s against %s\n", ln.Addr(), cfg.BasePath(), mode)
	logger.Info("serving", "addr", ln.Addr().String(), "base", cfg.BaseURL.String(), "demo", demo, "regions", client.Regions())

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	case <-srv.Failed(): // logged; returned after the drain
	}
	// Drain: no new requests; those in flight end and their outcomes are
	// written, with the lease renewed meanwhile; then the lease is
	// released. The deadline is the longest a start can take.
	drain := srv.Drain()
	logger.Info("shutting down: draining the requests in flight", "deadline", drain.String())
	sctx, scancel := context.WithTimeout(context.Background(), drain)
	defer scancel()
	serr := hs.Shutdown(sctx)
	if err := <-errc; serr == nil && err != nil && !errors.Is(err, http.ErrServerClosed) {
		serr = err
	}
	if err := srv.Stop(sctx); err != nil {
		logger.Error("shutdown: not every outcome was recorded; the lease is kept, and what is missing will be recorded as unknown when it runs out", "err", err)
		return fmt.Errorf("shutdown: %w", errors.Join(serr, err))
	}
	if serr != nil {
		return fmt.Errorf("shutdown: %w", serr)
	}
	if err := srv.Failure(); err != nil {
		return fmt.Errorf("stopped after the background work failed (the requests in flight were drained and recorded): %w", err)
	}
	logger.Info("stopped: every outcome recorded, the lease released")
	return nil
}

// connectECS decides between demo mode and real ECS, without the network,
// and says which it chose: demo runs when asked, or when there are no
// credentials and no endpoint.
func connectECS(ctx context.Context, cfg *config.Config, getenv func(string) string, logger *slog.Logger,
	observe func(action, code string, attempt int, d time.Duration)) (client *ecs.Client, demo bool, err error) {
	var src ecs.CredentialSource
	var credErr error
	if !(cfg.DemoSet && cfg.Demo) {
		src, credErr = ecs.DetectCredentials(getenv, cfg.ECSRAMRole)
	}
	demo = cfg.Demo
	if !cfg.DemoSet {
		demo = errors.Is(credErr, ecs.ErrNoCredentials) && cfg.ECSEndpoint == "" && len(cfg.Accounts) == 0
	}
	if demo {
		c, err := demoECS(ctx, cfg, logger, observe)
		return c, true, err
	}
	if credErr != nil && len(cfg.Accounts) > 0 && !needsBase(cfg.Accounts) {
		// Every account has keys of its own: no base credentials needed.
		c, err := connectAccounts(ctx, cfg, getenv, logger, ecs.CredentialSource{}, observe)
		return c, false, err
	}
	if credErr != nil {
		return nil, false, fmt.Errorf("%w: set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, a CLI profile, or --ecs-ram-role; or run with --demo", credErr)
	}
	logger.Info("using Alibaba Cloud credentials", "source", src.Name)
	if len(cfg.Accounts) > 0 {
		c, err := connectAccounts(ctx, cfg, getenv, logger, src, observe)
		return c, false, err
	}
	opts := ecs.Options{Regions: cfg.Regions, Endpoint: cfg.ECSEndpoint, Credential: src.Credential, Renew: src.Renew, Timeout: cfg.ECSTimeout, Observe: observe}
	if len(opts.Regions) == 0 {
		// No --regions: every region the account can use.
		dctx, cancel := context.WithTimeout(ctx, 3*cfg.ECSTimeout)
		regions, err := ecs.DiscoverRegions(dctx, opts)
		cancel()
		if err != nil {
			return nil, false, fmt.Errorf("no --regions given, and asking ECS for the account's regions failed: %w", err)
		}
		logger.Info("no --regions given: listing every region of the account", "regions", regions)
		opts.Regions = regions
	}
	c, err := ecs.New(opts)
	return c, false, err
}

// demoECS serves the demo's two simulated accounts (ecssim.NewDemoCloud)
// and STS on a loopback port and returns a client over both: prod reached
// by assuming its role with the demo key, so its starts carry the user's
// session name, and staging with keys of its own.
func demoECS(ctx context.Context, cfg *config.Config, logger *slog.Logger, observe func(action, code string, attempt int, d time.Duration)) (*ecs.Client, error) {
	cloud, prod, staging := ecssim.NewDemoCloud(ecssim.Options{Regions: cfg.Regions, Instances: cfg.DemoScale, Seed: 1})
	first := staging.Sim.Regions()
	url, _, err := ecssim.Serve(ctx, cloud, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the ECS simulator: %w", err)
	}
	base, err := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
	if err != nil {
		return nil, err
	}
	keys, err := ecs.StaticCredential(staging.KeyID, staging.KeySecret)
	if err != nil {
		return nil, err
	}
	sts, err := ecs.NewSTS(ecs.STSOptions{Endpoint: url, Credential: base, Timeout: cfg.ECSTimeout})
	if err != nil {
		return nil, err
	}
	logger.Info("demo mode: ECS simulator running", "endpoint", url, "accounts", "prod (role), staging (keys)")
	return ecs.New(ecs.Options{Endpoint: url, Timeout: cfg.ECSTimeout, Observe: observe, STS: sts, Accounts: []ecs.Options{
		{Account: prod.Name, AccountID: prod.UID, RoleARN: prod.RoleARN(ecssim.DemoRole), Regions: prod.Sim.Regions()},
		{Account: staging.Name, AccountID: staging.UID, Credential: keys, Regions: first},
	}})
}
