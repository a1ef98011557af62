package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/metrics"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/static"
	"ecsdash/web/templates"
)

// Deps are the parts the dashboard is assembled from. cmd/web and the tests
// both assemble it with Build, so the tests exercise the real wiring.
type Deps struct {
	Cfg         *config.Config
	DB          *db.DB
	ECS         *ecs.Client
	Metrics     *metrics.Metrics
	Logger      *slog.Logger
	Now         func() time.Time     // nil: time.Now
	BcryptCost  int                  // 0: bcrypt's default
	SessionKeys [][]byte             // nil: read (or create) Cfg.SessionKeyFile
	DemoUsers   []templates.DemoUser // shown on the login page in demo mode
}

// Build assembles the App: users, the audit log, the fleet cache, the start
// service, sessions, assets and metrics. It makes no network call.
func Build(d Deps) (*App, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	keys := d.SessionKeys
	if keys == nil {
		var err error
		if keys, err = LoadSessionKeys(d.Cfg.SessionKeyFile); err != nil {
			return nil, err
		}
	}
	assets, err := static.Load()
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	fleet := ecs.NewFleet(d.ECS, d.Logger, 2*time.Minute)
	log := audit.New(d.DB.Write, d.DB.Read, d.Now)
	log.OnAppend = func(e audit.Event) { d.Metrics.AuditEvent(e.Action, e.State) }
	svc := &starts.Service{ECS: d.ECS, Fleet: fleet, Log: log, Families: d.Cfg.LocalDiskFamilies, Approval: d.Cfg.Approval,
		TTL: d.Cfg.ApprovalTTL, Now: d.Now, Logger: d.Logger, CallLimit: 3 * d.Cfg.ECSTimeout}
	a := &App{Cfg: d.Cfg, DB: d.DB, Users: users.NewStore(d.DB.Write, d.DB.Read, d.Now, d.BcryptCost), Audit: log, Starts: svc,
		Fleet: fleet, Regions: d.ECS.Regions(), Sessions: NewCookieStore(d.Cfg, keys), Assets: assets, Logger: d.Logger,
		DemoUsers: d.DemoUsers, Now: d.Now, Metrics: d.Metrics, statusSeen: map[string]time.Time{},
		ECSReady: func(context.Context) error {
			s := fleet.Snapshot()
			if s.Fetched.IsZero() {
				return errors.New("no successful listing yet")
			}
			if len(s.RegionErr) > 0 {
				return fmt.Errorf("%d regions failing", len(s.RegionErr))
			}
			return nil
		}}
	d.Metrics.Registry.MustRegister(a.ScrapeCollectors()...)
	return a, nil
}
