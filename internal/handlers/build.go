package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"ecsdash/internal/audit"
	"ecsdash/internal/books"
	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/idempotency"
	"ecsdash/internal/loops"
	"ecsdash/internal/metrics"
	"ecsdash/internal/notify"
	"ecsdash/internal/replica"
	"ecsdash/internal/scope"
	"ecsdash/internal/secrets"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/static"
	"ecsdash/web/templates"
)

// Deps are the parts the dashboard is assembled from. cmd/web and the tests
// both assemble it with Build, so the tests exercise the real wiring.
type Deps struct {
	Cfg     *config.Config
	Demo    bool // against the built-in simulator: the banner, and DemoUsers are seeded
	DB      *db.DB
	ECS     *ecs.Client
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// RequestLog takes the access log's lines of requests that did not
	// fail (nil: Logger's handler); serve's lets them wait to be written
	// together.
	RequestLog slog.Handler
	Now        func() time.Time // nil: time.Now
	// DBNow is the database's clock, which the audit log's times, the
	// approval window and the session windows are measured with (they
	// span replicas); nil: the database's own (db.Clock).
	DBNow       func() time.Time
	BcryptCost  int                  // 0: bcrypt's default
	SessionKeys [][]byte             // nil: read (or create) Cfg.SessionKeyFile
	DemoUsers   []templates.DemoUser // demo mode: created when missing, shown on the login page
}

// Server is the assembled dashboard: its HTTP handler, and the work it
// does in the background, which Start begins and Stop ends.
type Server struct {
	app     *App
	echo    *echo.Echo
	clock   *db.Clock        // the database's clock, kept in step by Start (nil: injected)
	replica *replica.Replica // on a shared store: this replica's lease, rescue and following
	book    *books.DBBook    // on a shared store: the throttle's and the tokens' rows
	outbox  *notify.Outbox   // nil without --notify-url
	bg      *loops.Group     // the background loops Start began
}

// Build assembles the dashboard: users, the audit log, the fleet cache, the
// start service, sessions, assets and metrics. It makes no network call.
func Build(ctx context.Context, d Deps) (*Server, error) {
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
	fleet := ecs.NewFleet(d.ECS, d.Logger, ecs.FleetOptions{})
	var clock *db.Clock
	if d.DBNow == nil {
		clock = db.NewClock(d.DB.Read)
		d.DBNow = clock.Now
	}
	log := audit.New(d.DB.Write, d.DB.Read, d.DBNow)
	rawKeys, err := secrets.Load(d.Cfg.AuditKeyFile, "audit key file", audit.NewKeyFile)
	if err != nil {
		return nil, err
	}
	auditKeys, err := audit.ParseKeys(rawKeys)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Cfg.AuditKeyFile, err)
	}
	log.UseKeys(auditKeys)
	appended := &eventCount{signal: make(chan struct{}, 1), notes: make(chan struct{}, 1)}
	var app *App // set below, before anything is appended
	log.OnAppend = func(e audit.Event) {
		d.Metrics.AuditEvent(e.Action, e.State)
		if app != nil {
			app.took(e)
		} else {
			appended.add()
		}
	}
	so := starts.Options{ECS: d.ECS, Batch: d.ECS, Fleet: fleet, Log: log, Families: d.Cfg.LocalDiskFamilies, Approval: d.Cfg.Approval,
		TTL: d.Cfg.ApprovalTTL, Now: d.DBNow, Logger: d.Logger, CallLimit: 3 * d.Cfg.ECSTimeout}
	if d.Cfg.StartRate > 0 {
		// A full batch may go at once; then starts refill at the rate.
		so.Limiter = rate.NewLimiter(rate.Limit(float64(d.Cfg.StartRate)/60), ecs.MaxBatch)
	}
	svc := starts.New(so)
	a := &App{cfg: d.Cfg, demo: d.Demo, store: d.DB, users: users.NewStore(d.DB.Write, d.DB.Read, d.DBNow, d.BcryptCost),
		auditLog: log, starts: svc, fleet: fleet, regions: d.ECS.Regions(), accounts: d.ECS.Accounts(), accountErrs: d.ECS.AccountErrors, sessions: NewCookieStore(d.Cfg, keys),
		assets: assets, log: d.Logger, requestLog: d.RequestLog, now: d.Now, dbNow: d.DBNow, metrics: d.Metrics, appended: appended,
		idem: idempotency.New(d.DB.Write, d.DB.Read, d.DBNow)}
	a.cookies = &decodedCookies{store: a.sessions, now: a.now}
	a.styleURL = a.cfg.BasePath() + "static/" + assets.Path("style.css")
	a.appJSURL = a.cfg.BasePath() + "static/" + assets.Path("app.js")
	app = a
	srv := &Server{app: a, clock: clock}
	hashing := max(2, runtime.NumCPU())
	if d.DB.Write.Has(db.Shared) {
		// Replicas share one store: each names its entries, and what the
		// throttle counts and the used form tokens live in the database.
		log.SetReplica(d.Cfg.ReplicaID)
		srv.book = books.NewDBBook(d.DB.Write)
		a.throttle, a.tokens = books.NewThrottle(srv.book, hashing), srv.book
		srv.replica = replica.New(replica.Options{ID: d.Cfg.ReplicaID, Lease: d.Cfg.ReplicaLease, Log: log, Starts: svc, Book: srv.book,
			Logger: d.Logger, Now: d.DBNow, Head: a.lastSeq.Load, Took: a.took})
	} else {
		a.throttle, a.tokens = books.NewThrottle(&books.MemoryBook{}, hashing), &books.UsedTokens{}
	}
	if h, err := audit.LastSeq(ctx, d.DB.Read); err == nil {
		a.lastSeq.Store(h)
	}
	if d.Demo {
		a.demoUsers = d.DemoUsers
		for _, u := range d.DemoUsers {
			sc, err := scope.Parse(u.Scope)
			if err != nil {
				return nil, fmt.Errorf("demo user %s: %w", u.Name, err)
			}
			if _, err := a.users.CreateScoped(ctx, u.Name, u.Role, sc, u.Password); err != nil && !errors.Is(err, users.ErrExists) {
				return nil, fmt.Errorf("seed demo user %s: %w", u.Name, err)
			}
		}
	}
	if len(d.Cfg.NotifyURLs) > 0 {
		var secret []byte
		if f := d.Cfg.NotifySecretFile; f != "" {
			b, err := secrets.Load(f, "notification secret file", nil)
			if err != nil {
				return nil, err
			}
			secret = bytes.TrimSpace(b)
		}
		holder := d.Cfg.ReplicaID
		if !d.DB.Write.Has(db.Shared) {
			holder = "" // one process: the outbox's own name for it
		}
		n := notify.New(notify.Options{URLs: d.Cfg.NotifyURLs, Format: d.Cfg.NotifyFormat, Lang: d.Cfg.NotifyLang, Langs: d.Cfg.NotifyLangs, Secret: secret,
			Logger: d.Logger, Outcome: d.Metrics.Notification, Now: d.Now})
		srv.outbox = notify.NewOutbox(n, notify.OutboxOptions{Store: d.DB.Write, Read: d.DB.Read, Log: log, Messages: a.messages,
			Holder: holder, Wake: appended.notes})
	}
	if f := d.Cfg.MetricsTokenFile; f != "" {
		b, err := secrets.Load(f, "metrics token file", nil)
		if err != nil {
			return nil, err
		}
		if a.metricsToken = bytes.TrimSpace(b); len(a.metricsToken) < 16 {
			return nil, fmt.Errorf("metrics token file %s: the token needs at least 16 characters", f)
		}
	}
	d.Metrics.Registry.MustRegister(a.scrapeCollectors()...)
	srv.echo = routes(a)
	return srv, nil
}

// eventCount counts audit events written and signals each (a signal may
// stand for several).
type eventCount struct {
	n      atomic.Int64
	signal chan struct{}
	notes  chan struct{} // the notifications' outbox reads the log again
}

func (c *eventCount) add() {
	c.n.Add(1)
	for _, ch := range []chan struct{}{c.signal, c.notes} {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// took takes in an entry appended here or, followed, by another replica:
// the newest known entry, the requester's ending, the count of entries
// written (checkpoints, the outbox's wake-up).
func (a *App) took(e audit.Event) {
	a.sawSeq(e.Seq)
	a.noteEnding(e)
	a.appended.add()
}

// sawSeq moves the newest known entry forward (never back: appends finish
// out of order).
func (a *App) sawSeq(seq int64) {
	for {
		cur := a.lastSeq.Load()
		if seq <= cur || a.lastSeq.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// messages are the notifications entry e stands for (starts.Notes), each
// with a link to the request on the audit page.
func (a *App) messages(ctx context.Context, e audit.Event) ([]notify.Message, bool, error) {
	if !starts.MayNote(e) {
		return nil, true, nil
	}
	op, err := a.auditLog.Operation(ctx, e.OpID)
	if err != nil {
		return nil, false, err
	}
	notes, settled, err := a.starts.Notes(ctx, op, e)
	if err != nil || !settled {
		return nil, settled, err
	}
	ms := make([]notify.Message, 0, len(notes))
	for _, note := range notes {
		m := a.message(note, op.First, e)
		m.EventID = notify.EventID(m)
		ms = append(ms, m)
	}
	return ms, true, nil
}

// message is one approval event, with a link to the request on the audit
// page.
func (a *App) message(event string, first, last audit.Event) notify.Message {
	return notify.Message{Event: event, AuditID: last.Seq, OperationID: first.OpID, InstanceID: first.InstanceID,
		InstanceName: first.InstanceName, Region: first.Region, InitLocalDisk: first.InitLocalDisk, Requester: first.User,
		Approver: last.Approver, Reason: noteReason(event, first, last), ReasonWords: noteReasonWords(event, last), RequestID: last.RequestID, ErrorCode: last.ErrorCode,
		URL: a.cfg.BaseURL.JoinPath("audit").String() + "#request-" + strconv.FormatInt(first.OpID, 10), Time: last.Time}
}

// noteReason is the reason that matters for the event: the rejection's for
// a rejection, the request's otherwise.
func noteReason(event string, first, last audit.Event) string {
	if event == starts.NoteRejected || event == starts.NoteWithdrawn || event == starts.NoteExpired {
		return last.Reason
	}
	return first.Reason
}

// noteReasonWords is the dashboard's own reason of a withdrawal or an
// expiry, to say in a chat text's language (nil for a person's reason).
func noteReasonWords(event string, last audit.Event) i18n.Said {
	if event == starts.NoteWithdrawn || event == starts.NoteExpired {
		return starts.Reason(last)
	}
	return nil
}

// Stop ends what Start began: call it after the HTTP server's shutdown,
// when no request is in flight. It waits (within ctx) until every outcome
// ECS gave is written, with the background loops (the heartbeat renewing
// the lease among them) still running; then it cancels the loops and waits
// until every one has returned (the notifications finish the delivery in
// flight); then it gives up the receivers' leases and, on a shared store,
// the replica's, so that nothing of this replica is waited for. When ctx
// ends first, the leases are kept: the outcomes not written are left to
// run out with them, and another replica (or the next start) records them
// as unknown. A loop that failed is Failure's to report.
func (s *Server) Stop(ctx context.Context) error {
	a := s.app
	err := a.starts.Flush(ctx)
	if serr := s.bg.Stop(ctx); serr != nil {
		// The loops did not stop in time: what they hold is kept.
		return errors.Join(err, serr)
	}
	if s.outbox != nil {
		if rerr := s.outbox.Release(context.WithoutCancel(ctx)); rerr != nil {
			a.log.Warn("notifications: leases not given up; another replica takes them over once they run out", "err", rerr)
		}
	}
	if err != nil || s.replica == nil {
		return err
	}
	return s.replica.Release(context.WithoutCancel(ctx))
}

// Failed is closed when a background loop failed (Failure says how): the
// process is to shut down, draining, and exit non-zero. Before Start it is
// nil (never closes).
func (s *Server) Failed() <-chan struct{} { return s.bg.Failed() }

// Failure is the first background loop's failure once Failed is closed
// (nil before, and when none failed).
func (s *Server) Failure() error { return s.bg.Failure() }

// Drain is how long a shutdown waits for the requests in flight to end and
// their outcomes to be written: the longest a start can take (the fresh
// check, the call with its retries, the lookup after an unknown outcome),
// plus the audit appends of a full batch.
func (s *Server) Drain() time.Duration {
	t := s.app.cfg.ECSTimeout
	return t + s.app.starts.CallLimit() + 5*time.Second + time.Duration(2*ecs.MaxBatch)*50*time.Millisecond + 5*time.Second
}

// Handler serves every page and endpoint.
func (s *Server) Handler() http.Handler { return s.echo }

// Fleet is the shared fleet cache (for a first refresh before serving).
func (s *Server) Fleet() *ecs.Fleet { return s.app.fleet }

// Start begins the dashboard's background work. First, before it returns,
// it takes the replica's lease (refused while another process holds this
// --replica-id's) and records as unknown the operations whose outcome was
// lost when the process last stopped (an error here stops start-up). Then,
// until ctx ends or Stop, it runs the background loops (work): it
// refreshes the fleet, follows moving instances, reconciles its own
// dangling intents and unknown outcomes, expires approval requests past
// their time, and, as configured, syncs the database's clock, renews the
// replica's lease and delivers notifications.
func (s *Server) Start(ctx context.Context) error {
	a := s.app
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if s.clock != nil {
		if err := s.clock.Sync(rctx); err != nil {
			return err
		}
	}
	if s.replica != nil {
		if err := s.replica.Claim(rctx); err != nil {
			return err
		}
	}
	if err := a.auditLog.EnsureKeyed(rctx); err != nil {
		return fmt.Errorf("mark the keyed audit chain: %w", err)
	}
	n, err := a.starts.RecoverDangling(rctx, true)
	if err != nil {
		return fmt.Errorf("recover unfinished operations: %w", err)
	}
	if n > 0 {
		a.log.Warn("recorded unfinished operations as outcome unknown", "count", n)
	}
	a.auditLog.LogCheckpoint(rctx, a.log)
	if s.outbox != nil {
		if err := s.outbox.Prepare(rctx); err != nil {
			return err
		}
	}
	s.bg = loops.Start(ctx, s.work(), a.log)
	return nil
}

// clockSync is how often the database's clock is read again (db.Clock).
const clockSync = 30 * time.Second

// work lists the background loops of this configuration; each loop's body
// is its own package's.
func (s *Server) work() []loops.Loop {
	a := s.app
	var ls []loops.Loop
	if s.clock != nil {
		ls = append(ls, loops.Loop{Name: "database clock", Run: func(ctx context.Context) error { return s.clock.Run(ctx, clockSync, a.log) }})
	}
	if s.replica != nil {
		// The heartbeat on its own: a slow rescue or follow must not delay
		// it past the lease.
		ls = append(ls, loops.Loop{Name: "replica heartbeat", Run: s.replica.Heartbeat}, loops.Loop{Name: "replica rescue and following", Run: s.replica.Run})
	}
	ls = append(ls,
		loops.Loop{Name: "audit checkpoints", Run: func(ctx context.Context) error {
			return a.auditLog.CheckpointLoop(ctx, a.appended.n.Load, a.appended.signal, a.log)
		}},
		// With replicas, the rescue records their dangling intents.
		loops.Loop{Name: "reconcile", Run: func(ctx context.Context) error { return a.starts.ReconcileLoop(ctx, s.replica == nil) }},
		loops.Loop{Name: "fleet refresh", Run: func(ctx context.Context) error { return a.fleet.Run(ctx, a.cfg.RefreshInterval) }},
		loops.Loop{Name: "fleet tracking", Run: a.fleet.Track},
		loops.Loop{Name: "approval expiry", Run: a.starts.ExpiryLoop})
	if s.outbox != nil {
		ls = append(ls, loops.Loop{Name: "notifications", Run: s.outbox.Run})
	}
	return ls
}
