// Package config parses and validates the serve command's configuration once,
// from flags with environment-variable fallbacks, into one typed value.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"ecsdash/internal/db"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
)

// EnvPrefix prefixes every environment variable the serve flags read.
const EnvPrefix = "ECS_DASHBOARD_"

// Config is the validated configuration of `web serve`.
type Config struct {
	Addr              string
	DBPath            string
	Regions           []string // empty: the simulator's regions in demo mode
	ECSEndpoint       string   // one endpoint URL for every region, or ""
	Demo              bool     // --demo: run against the built-in simulator (see DemoSet)
	DemoSet           bool     // --demo was given explicitly; otherwise demo mode is decided at start-up
	DemoScale         int      // simulated instances in demo mode (0: the seeded demo fleet)
	Approval          starts.Policy
	ApprovalTTL       time.Duration
	LocalDiskFamilies []string
	SessionKeyFile    string
	AuditKeyFile      string
	MetricsTokenFile  string
	NotifyURLs        []string // webhooks for approval events
	NotifyFormat      string   // json, slack or dingtalk
	NotifySecretFile  string
	StartRate         int // starts a minute, all users together; 0: no limit
	FrameAncestors    []string
	AuthHeader        string
	GroupsHeader      string
	GroupRoles        map[string]string // SSO group -> role
	TrustedProxies    []netip.Prefix
	BaseURL           *url.URL // always ends with "/"
	CrossSiteCookies  bool     // SameSite=None; Secure; Partitioned
	RefreshInterval   time.Duration
	ECSTimeout        time.Duration
	ECSRAMRole        string
	IdleTimeout       time.Duration
	SessionLifetime   time.Duration
	LogLevel          string
	Postgres          bool          // --db is a postgres:// DSN: the store may be shared by replicas
	KeyFilesDefaulted bool          // with Postgres: a key file was not named (serve warns: replicas must share them)
	ReplicaID         string        // with Postgres: this replica's name
	ReplicaLease      time.Duration // with Postgres: the lease a heartbeat renews
}

// BasePath is the path prefix every link, redirect and cookie carries, with a
// trailing slash ("/" when served at the root).
func (c *Config) BasePath() string { return c.BaseURL.Path }

// SecureCookies reports whether cookies must be marked Secure.
func (c *Config) SecureCookies() bool { return c.BaseURL.Scheme == "https" || c.CrossSiteCookies }

// listFlag collects a repeatable flag; the first use on the command line
// replaces what the environment gave.
type listFlag struct {
	set     []string
	fromEnv bool
}

func (l *listFlag) String() string { return strings.Join(l.set, ",") }

func (l *listFlag) Set(v string) error {
	if l.fromEnv {
		l.set, l.fromEnv = nil, false
	}
	l.set = append(l.set, v)
	return nil
}

// ErrHelp is returned when --help was asked for; the usage has been printed.
var ErrHelp = flag.ErrHelp

var (
	regionRe = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+){1,4}$`)
	familyRe = regexp.MustCompile(`^ecs\.[a-z0-9-]+$`)
)

// Parse reads args (after the subcommand) and the environment. Flags win over
// environment variables; every flag's variable is named in --help.
func Parse(args []string, getenv func(string) string, usageOut io.Writer) (*Config, error) {
	fs := flag.NewFlagSet("web serve", flag.ContinueOnError)
	fs.SetOutput(usageOut)
	var raw struct {
		addr, db, regions, endpoint, demo, demoScale, approval, approvalTTL, families,
		keyFile, auditKeyFile, metricsToken, frameAncestors, authHeader, groupsHeader, groupRoles, trustedProxies,
		baseURL, crossSite, refresh, ecsTimeout, ramRole, idle, lifetime, logLevel,
		notifyFormat, notifySecret, startRate, replicaID, replicaLease string
		notifyURLs listFlag
	}
	def := func(p *string, name, value, usage string) {
		env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v := getenv(env); v != "" {
			value = v
		}
		fs.StringVar(p, name, value, fmt.Sprintf("%s (env %s)", usage, env))
	}
	// defBool is def for switches: "--demo" alone means true.
	defBool := func(p *string, name, value, usage string) {
		env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if v := getenv(env); v != "" {
			value = v
		}
		*p = value
		fs.Var((*boolString)(p), name, fmt.Sprintf("%s (env %s)", usage, env))
	}
	def(&raw.addr, "addr", "127.0.0.1:8080", "listen address")
	def(&raw.db, "db", "./ecs-dashboard.db", "the store of users and the audit log: a SQLite file, or postgres://… for several replicas on one PostgreSQL database")
	def(&raw.regions, "regions", "", "comma-separated ECS regions to list (default: the simulator's regions in demo mode, else every region DescribeRegions lists)")
	def(&raw.endpoint, "ecs-endpoint", "", "one ECS endpoint URL for every region, e.g. http://127.0.0.1:9999 (default https://ecs.<region>.aliyuncs.com)")
	notifyEnv := EnvPrefix + "NOTIFY_URL"
	if v := getenv(notifyEnv); v != "" {
		raw.notifyURLs.set = []string{v}
	}
	raw.notifyURLs.fromEnv = true
	fs.Var(&raw.notifyURLs, "notify-url", fmt.Sprintf("a webhook that receives each approval event; repeatable or comma-separated (env %s)", notifyEnv))
	def(&raw.notifyFormat, "notify-format", "json", "json, slack or dingtalk")
	def(&raw.startRate, "start-rate", "300", "StartInstance calls a minute the dashboard allows itself (ECS allows an account about 500); 0 for no limit")
	def(&raw.notifySecret, "notify-secret-file", "", "a file holding the secret that signs each notification (json: X-ECS-Dashboard-Signature; dingtalk: the robot's signing secret)")
	defBool(&raw.demo, "demo", "", "run against the built-in ECS simulator (default: on when no credentials and no --ecs-endpoint)")
	def(&raw.demoScale, "demo-instances", "0", "demo mode: simulate this many instances instead of the seeded demo fleet (e.g. 10000)")
	def(&raw.approval, "approval", string(starts.PolicyInitLocalDisk), "which starts need a second person: init-local-disk, all, none")
	def(&raw.approvalTTL, "approval-ttl", "24h", "how long a start waits for approval before it expires")
	def(&raw.families, "local-disk-families", "ecs.d1,ecs.i1,ecs.i2", "instance families whose Start offers InitLocalDisk")
	def(&raw.keyFile, "session-key-file", "", "session keys, created with mode 0600 when missing (default: beside the database; with PostgreSQL, ./session-keys, and every replica needs the same file)")
	def(&raw.metricsToken, "metrics-token-file", "", "a file holding a bearer token that /metrics then requires (default: /metrics is open; restrict it at the proxy)")
	def(&raw.auditKeyFile, "audit-key-file", "", "the audit chain's HMAC key, created with mode 0600 when missing; keep a copy apart from the database (default: beside the database; with PostgreSQL, ./audit-key, and every replica needs the same file)")
	def(&raw.frameAncestors, "frame-ancestors", "'self'", "space- or comma-separated origins allowed to embed the pages (CSP frame-ancestors)")
	def(&raw.authHeader, "auth-header", "", "single sign-on: request header holding the user name, set by a trusted reverse proxy")
	def(&raw.groupsHeader, "groups-header", "", "single sign-on: request header holding the user's comma-separated groups")
	def(&raw.groupRoles, "group-roles", "", "single sign-on: group=role pairs, comma-separated, e.g. ops=operator,sre-leads=approver")
	def(&raw.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose --auth-header is honoured")
	def(&raw.baseURL, "base-url", "", "external URL, e.g. https://portal.example.com/ecs/ (default: derived from --addr)")
	defBool(&raw.crossSite, "cross-site-cookies", "false", "mark cookies SameSite=None; Secure; Partitioned, for a portal on another site (needs https)")
	def(&raw.refresh, "refresh-interval", "30s", "how often the fleet cache is refreshed from ECS")
	def(&raw.ecsTimeout, "ecs-timeout", "10s", "deadline for one ECS call")
	def(&raw.ramRole, "ecs-ram-role", "", "use this ECS instance RAM role for credentials (asks the metadata service)")
	def(&raw.idle, "idle-timeout", "30m", "a session ends after this long without a request")
	def(&raw.lifetime, "session-lifetime", "12h", "a session ends this long after login, active or not")
	def(&raw.logLevel, "log-level", "info", "debug, info, warn or error")
	def(&raw.replicaID, "replica-id", "", "with PostgreSQL: this replica's name on its audit entries and lease (default: host name and a random suffix, new at each start)")
	def(&raw.replicaLease, "replica-lease", "15s", "with PostgreSQL: how long a replica's calls are left to it after its last heartbeat, before another records their outcome as unknown")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	var errs []error
	bad := func(flagName, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flagName, fmt.Sprintf(format, a...)))
	}
	c := &Config{Addr: raw.addr, DBPath: raw.db, AuthHeader: raw.authHeader, GroupsHeader: raw.groupsHeader,
		ECSRAMRole: raw.ramRole, LogLevel: raw.logLevel, GroupRoles: map[string]string{}}

	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port", c.Addr)
	}
	if c.DBPath == "" {
		bad("db", "must not be empty")
	}
	for _, r := range splitList(raw.regions) {
		if !regionRe.MatchString(r) {
			bad("regions", "%q is not a region id like cn-hangzhou", r)
		}
		c.Regions = append(c.Regions, r)
	}
	if raw.endpoint != "" {
		u, err := url.Parse(raw.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("ecs-endpoint", "%q is not an http(s)://host[:port] URL", raw.endpoint)
		}
		c.ECSEndpoint = strings.TrimSuffix(raw.endpoint, "/")
	}
	if raw.demo != "" {
		v, err := parseBool(raw.demo)
		if err != nil {
			bad("demo", "%v", err)
		}
		c.Demo, c.DemoSet = v, true
	}
	if _, err := fmt.Sscan(raw.demoScale, &c.DemoScale); err != nil || c.DemoScale < 0 || c.DemoScale > 100000 {
		bad("demo-instances", "%q is not a count from 0 to 100000", raw.demoScale)
	}
	if p, err := starts.ParsePolicy(raw.approval); err != nil {
		bad("approval", "%v", err)
	} else {
		c.Approval = p
	}
	c.ApprovalTTL = parseDuration(raw.approvalTTL, "approval-ttl", time.Minute, bad)
	for _, f := range splitList(raw.families) {
		f = strings.ToLower(f)
		if !familyRe.MatchString(f) {
			bad("local-disk-families", "%q is not a family like ecs.d1", f)
		}
		c.LocalDiskFamilies = append(c.LocalDiskFamilies, f)
	}
	c.Postgres = db.IsPostgresDSN(c.DBPath)
	c.SessionKeyFile = raw.keyFile
	if c.Postgres {
		// Nothing sits "beside" a DSN: the key files default to the working
		// directory, and every replica must be given the same ones.
		if c.SessionKeyFile == "" {
			c.SessionKeyFile, c.KeyFilesDefaulted = "session-keys", true
		}
		if raw.auditKeyFile == "" {
			c.KeyFilesDefaulted = true
		}
		c.ReplicaID = raw.replicaID
		if c.ReplicaID == "" {
			c.ReplicaID = defaultReplicaID()
		}
		if !replicaRe.MatchString(c.ReplicaID) {
			bad("replica-id", "%q is not a name of letters, digits, '.', '_' or '-' (at most 64)", c.ReplicaID)
		}
		c.ReplicaLease = parseDuration(raw.replicaLease, "replica-lease", 2*time.Second, bad)
	} else if c.SessionKeyFile == "" {
		c.SessionKeyFile = filepath.Join(filepath.Dir(c.DBPath), "session-keys")
	}
	c.MetricsTokenFile = raw.metricsToken
	for _, v := range raw.notifyURLs.set {
		for _, u := range splitList(v) {
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				bad("notify-url", "%q is not an http(s) URL", u)
				continue
			}
			c.NotifyURLs = append(c.NotifyURLs, u)
		}
	}
	c.NotifyFormat = raw.notifyFormat
	if c.NotifyFormat != "json" && c.NotifyFormat != "slack" && c.NotifyFormat != "dingtalk" {
		bad("notify-format", "%q is not json, slack or dingtalk", c.NotifyFormat)
	}
	c.NotifySecretFile = raw.notifySecret
	if n, err := strconv.Atoi(raw.startRate); err != nil || n < 0 || n > 100000 {
		bad("start-rate", "%q is not a number of starts a minute (0 to 100000)", raw.startRate)
	} else {
		c.StartRate = n
	}
	c.AuditKeyFile = raw.auditKeyFile
	if c.AuditKeyFile == "" {
		c.AuditKeyFile = DefaultAuditKeyFile(c.DBPath)
	}
	for _, o := range strings.FieldsFunc(raw.frameAncestors, func(r rune) bool { return r == ',' || r == ' ' }) {
		if strings.ContainsAny(o, ";\"\r\n") {
			bad("frame-ancestors", "%q is not a CSP source", o)
		}
		c.FrameAncestors = append(c.FrameAncestors, o)
	}
	if len(c.FrameAncestors) == 0 {
		c.FrameAncestors = []string{"'self'"}
	}
	for _, p := range splitList(raw.trustedProxies) {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			if a, err2 := netip.ParseAddr(p); err2 == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			} else {
				bad("trusted-proxies", "%q is not a CIDR", p)
				continue
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
	}
	if c.AuthHeader != "" && len(c.TrustedProxies) == 0 {
		bad("auth-header", "needs --trusted-proxies: a user header is only honoured from known proxies")
	}
	for _, pair := range splitList(raw.groupRoles) {
		g, r, ok := strings.Cut(pair, "=")
		if !ok || g == "" || !users.ValidRole(r) {
			bad("group-roles", "%q is not group=role with a role of viewer, operator, approver or admin", pair)
			continue
		}
		c.GroupRoles[g] = r
	}
	baseRaw := raw.baseURL
	if baseRaw == "" {
		baseRaw = "http://" + c.Addr + "/"
	}
	if u, err := url.Parse(baseRaw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		bad("base-url", "%q is not an absolute http(s) URL", baseRaw)
		c.BaseURL = &url.URL{Scheme: "http", Host: c.Addr, Path: "/"}
	} else {
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		c.BaseURL = u
	}
	cs, err := parseBool(raw.crossSite)
	if err != nil {
		bad("cross-site-cookies", "%v", err)
	}
	c.CrossSiteCookies = cs
	if cs && c.BaseURL.Scheme != "https" {
		bad("cross-site-cookies", "needs an https --base-url: browsers drop SameSite=None cookies that are not Secure")
	}
	c.RefreshInterval = parseDuration(raw.refresh, "refresh-interval", time.Second, bad)
	c.ECSTimeout = parseDuration(raw.ecsTimeout, "ecs-timeout", 100*time.Millisecond, bad)
	c.IdleTimeout = parseDuration(raw.idle, "idle-timeout", time.Minute, bad)
	c.SessionLifetime = parseDuration(raw.lifetime, "session-lifetime", time.Minute, bad)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q is not debug, info, warn or error", c.LogLevel)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// DefaultAuditKeyFile is where the audit key lives when not given: beside
// the database (the CLI's audit verify looks there too); for a PostgreSQL
// DSN, in the working directory.
func DefaultAuditKeyFile(dbPath string) string {
	if db.IsPostgresDSN(dbPath) {
		return "audit-key"
	}
	return filepath.Join(filepath.Dir(dbPath), "audit-key")
}

var replicaRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// defaultReplicaID is the host's name and a random suffix: each start is a
// new replica, whose predecessor's calls wait only for its lease to end.
func defaultReplicaID() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, host)
	if len(host) > 40 {
		host = host[:40]
	}
	if host == "" {
		host = "replica"
	}
	b := make([]byte, 3)
	rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

func parseDuration(s, name string, min time.Duration, bad func(string, string, ...any)) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d < min {
		bad(name, "%q is not a duration of at least %s", s, min)
	}
	return d
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// boolString keeps a switch's raw text, so that "not given" stays
// distinguishable from "false", while accepting the bare "--flag" form.
type boolString string

func (b *boolString) String() string     { return string(*b) }
func (b *boolString) Set(v string) error { *b = boolString(v); return nil }
func (b *boolString) IsBoolFlag() bool   { return true }
