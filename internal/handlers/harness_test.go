package handlers_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/labstack/echo/v4"
	"golang.org/x/crypto/bcrypt"

	"ecsdash/internal/audit"
	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/ecs/ecssim"
	"ecsdash/internal/handlers"
	"ecsdash/internal/metrics"
	"ecsdash/internal/users"
)

func TestMain(m *testing.M) {
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	os.Exit(m.Run())
}

const password = "password-123"

// harness is the whole dashboard on a real SQLite file, the real SDK client
// and the simulator, served by a real HTTP server on a loopback port.
type harness struct {
	t     testing.TB
	cfg   *config.Config
	sim   *ecssim.Server
	store *db.DB
	srvr  *handlers.Server
	audit *audit.Log
	fleet *ecs.Fleet
	echo  http.Handler
	srv   *httptest.Server
	skew  *atomic.Int64 // added to the wall clock, so tests can jump ahead
	users *users.Store

	cloud         *ecssim.Cloud // with opts.cloud
	prod, staging *ecssim.Account
}

type opts struct {
	args     []string // extra serve flags
	keys     [][]byte
	dbPath   string
	simOpts  ecssim.Options
	beforeUp func(*echo.Echo)
	logs     io.Writer                       // the server's log, as JSON lines
	reqLogs  io.Writer                       // with logs: the access log's lines of requests that did not fail
	bcrypt   int                             // the users' bcrypt cost; bcrypt.MinCost when 0
	simWrap  func(http.Handler) http.Handler // wraps the simulator (to watch its calls)
	cloud    bool                            // two accounts (accounts_test.go) instead of one simulator
	refuse   bool                            // with cloud: STS refuses prod's role
	// hostSkew sets this host's wall clock off the database's by that
	// much (advance moves both).
	hostSkew time.Duration
	manual   bool // Start is the test's to call
	dbClock  bool // the database's own clock (db.Clock and its sync), not the test's
}

func newHarness(t testing.TB, o opts) *harness {
	t.Helper()
	dir := t.TempDir()
	if o.dbPath == "" {
		o.dbPath = filepath.Join(dir, "dash.db")
	}
	args := append([]string{"--db", o.dbPath, "--session-key-file", filepath.Join(dir, "keys")}, o.args...)
	cfg, err := config.Parse(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{t: t, cfg: cfg}
	h.skew = new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(h.skew.Load())) }
	host := func() time.Time { return clock().Add(o.hostSkew) }

	if o.simOpts.StartDelay == 0 {
		o.simOpts.StartDelay = 300 * time.Millisecond
	}
	o.simOpts.Seed = 1
	m := metrics.New()
	var client *ecs.Client
	if o.cloud {
		client = h.cloudClient(o, clock, m)
	} else {
		h.sim = ecssim.New(o.simOpts)
		var simHandler http.Handler = h.sim
		if o.simWrap != nil {
			simHandler = o.simWrap(h.sim)
		}
		simSrv := httptest.NewServer(simHandler)
		t.Cleanup(simSrv.Close)
		cred, _ := ecs.StaticCredential(ecssim.DemoAccessKeyID, ecssim.DemoAccessKeySecret)
		client, err = ecs.New(ecs.Options{Regions: h.sim.Regions(), Endpoint: simSrv.URL, Credential: cred, Timeout: 2 * time.Second,
			BaseDelay: time.Millisecond, Observe: m.ECSCall})
		if err != nil {
			t.Fatal(err)
		}
	}
	h.store, err = db.Open(context.Background(), o.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.store.Close() })
	if o.bcrypt == 0 {
		o.bcrypt = bcrypt.MinCost
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if o.logs != nil {
		logger = slog.New(slog.NewJSONHandler(o.logs, nil))
	}
	var reqLog slog.Handler
	if o.reqLogs != nil {
		reqLog = slog.NewJSONHandler(o.reqLogs, nil)
	}
	dbNow := clock
	if o.dbClock {
		dbNow = nil
	}
	h.srvr, err = handlers.Build(context.Background(), handlers.Deps{Cfg: cfg, Demo: true, DB: h.store, ECS: client, Metrics: m,
		Logger: logger, RequestLog: reqLog, Now: host, DBNow: dbNow, BcryptCost: o.bcrypt, SessionKeys: o.keys})
	if err != nil {
		t.Fatal(err)
	}
	h.fleet = h.srvr.Fleet()
	h.audit = audit.New(h.store.Write, h.store.Read, clock)
	h.users = users.NewStore(h.store.Write, h.store.Read, clock, o.bcrypt)
	for name, role := range map[string]string{"op1": "operator", "op2": "operator", "appr": "approver", "appr2": "approver", "adm": "admin", "view": "viewer"} {
		if _, err := h.users.Create(context.Background(), name, role, password); err != nil && err != users.ErrExists {
			t.Fatal(err)
		}
	}
	if err := h.fleet.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !o.manual {
		ctx, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		if err := h.srvr.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h.echo = h.srvr.Handler()
	if o.beforeUp != nil {
		o.beforeUp(handlers.EchoOf(h.srvr))
	}
	h.srv = httptest.NewServer(h.echo)
	t.Cleanup(h.srv.Close)
	return h
}

// instance finds a simulated instance by name in cn-hangzhou.
func (h *harness) instance(name string) ecs.Instance {
	h.t.Helper()
	for _, in := range h.fleet.Snapshot().Instances {
		if in.Name == name && in.Region == "cn-hangzhou" {
			return *in
		}
	}
	h.t.Fatalf("no instance %s", name)
	return ecs.Instance{}
}

// healthy reports whether the simulator answers a start of in as ECS would
// a plain one: the demo fleet fails some instances on purpose (a fault list:
// DiskError, KMS, InstanceNotReady, NoStock; see ecssim's seedDemo), and a
// test that picks instances by position must not pick those.
func (h *harness) healthy(in *ecs.Instance) bool {
	for _, sim := range []*ecssim.Server{h.sim, h.simOf(h.prod), h.simOf(h.staging)} {
		if sim != nil && sim.Fault(in.ID) != "" {
			return false
		}
	}
	return true
}

func (h *harness) simOf(a *ecssim.Account) *ecssim.Server {
	if a == nil {
		return nil
	}
	return a.Sim
}

func (h *harness) url(p string) string {
	return h.srv.URL + h.cfg.BasePath() + strings.TrimPrefix(p, "/")
}

// browser is a cookie-keeping client that does not follow redirects, GETs
// pages and takes the CSRF token from them, as a browser would.
type browser struct {
	t     testing.TB
	h     *harness
	c     *http.Client
	token string
	hdr   http.Header
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: h.t, h: h, hdr: http.Header{}, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	resp   *http.Response
	body   string
	doc    *goquery.Document
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	for k, v := range b.hdr {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(string(raw)))
	if tok, ok := doc.Find(`input[name=_csrf]`).First().Attr("value"); ok {
		b.token = tok
	}
	return page{status: resp.StatusCode, resp: resp, body: string(raw), doc: doc}
}

func (b *browser) get(p string) page {
	req, _ := http.NewRequest(http.MethodGet, b.h.url(p), nil)
	return b.do(req)
}

// post sends a form with the current CSRF token (unless form sets _csrf).
func (b *browser) post(p string, form url.Values) page {
	if form == nil {
		form = url.Values{}
	}
	if _, set := form["_csrf"]; !set {
		if b.token == "" {
			b.get("login")
		}
		form.Set("_csrf", b.token)
	}
	req, _ := http.NewRequest(http.MethodPost, b.h.url(p), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) login(name string) *browser {
	b.t.Helper()
	b.get("login")
	p := b.post("login", url.Values{"username": {name}, "password": {password}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d %s", name, p.status, p.body)
	}
	b.get("instances")
	return b
}

func (h *harness) loggedIn(name string) *browser { return h.browser().login(name) }

// ops returns every operation in the audit log, newest first.
func (h *harness) ops() []audit.Op {
	h.t.Helper()
	ops, _, err := h.audit.Operations(context.Background(), audit.Filter{PerPage: 1000})
	if err != nil {
		h.t.Fatal(err)
	}
	return ops
}

// advance moves the dashboard's clock forward.
func (h *harness) advance(d time.Duration) { h.skew.Add(int64(d)) }
