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
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
)

// EnvPrefix prefixes every environment variable the serve flags read.
const EnvPrefix = "ECS_DASHBOARD_"

// Config is the validated configuration of `web serve`.
type Config struct {
	Addr              string
	DBPath            string
	DBMaxConns        int      // PostgreSQL: the pool's size; 0: the DSN's pool_max_conns, else db.DefaultMaxConns
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
	NotifyURLs        []string          // webhooks for approval events
	NotifyFormat      string            // json, slack or dingtalk
	NotifyLang        string            // the chat texts' language: en or zh-CN
	NotifyLangs       map[string]string // a receiver's own language, by its URL (URL#lang=)
	NotifySecretFile  string
	StartRate         int // starts a minute, all users together; 0: no limit
	APIRate           int // API requests a minute per token; 0: no limit
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
	AccountsFile      string            // --accounts; "" for the one account of the credential chain
	Accounts          []ecs.AccountSpec // read from AccountsFile, checked
	STSEndpoint       string            // where AssumeRole is asked
	ActionTrailURL    string            // the audit page's link to one ECS call in ActionTrail ({region}, {request_id}, …); "" none
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
	raw := make([]string, len(serveFlags))
	lists := make([]listFlag, len(serveFlags))
	for i, f := range serveFlags {
		env := envVar(f.name)
		usage := fmt.Sprintf("%s (env %s)", f.usage, env)
		v := f.value
		if e := getenv(env); e != "" {
			v = e
		}
		switch f.kind {
		case kindList:
			if v != "" {
				lists[i].set = []string{v}
			}
			lists[i].fromEnv = true
			fs.Var(&lists[i], f.name, usage)
		case kindSwitch:
			raw[i] = v
			fs.Var((*boolString)(&raw[i]), f.name, usage)
		default:
			fs.StringVar(&raw[i], f.name, v, usage)
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	p := &parser{c: &Config{GroupRoles: map[string]string{}}, raw: map[string]string{}}
	for i, f := range serveFlags {
		p.flag = f.name
		p.raw[f.name] = raw[i]
		if f.kind == kindList {
			for _, v := range lists[i].set {
				f.set(p, v)
			}
			continue
		}
		f.set(p, raw[i])
	}
	p.across()
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return p.c, nil
}

// LoopbackHost is whether h names this machine only: serve takes plain
// http to an STS or a trail only there.
func LoopbackHost(h string) bool {
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// envVar is the environment variable a serve flag reads.
func envVar(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parser is one Parse under way: the config so far, each flag's raw value,
// and every problem found (all are reported at once).
type parser struct {
	c    *Config
	raw  map[string]string
	flag string // the flag being read
	errs []error
}

// bad records a problem with the flag being read.
func (p *parser) bad(format string, a ...any) { p.badFlag(p.flag, format, a...) }

func (p *parser) badFlag(name, format string, a ...any) {
	p.errs = append(p.errs, fmt.Errorf("--%s: %s", name, fmt.Sprintf(format, a...)))
}

func (p *parser) duration(s string, min time.Duration) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d < min {
		p.bad("%q is not a duration of at least %s", s, min)
	}
	return d
}

func (p *parser) boolean(s string) bool {
	v, err := parseBool(s)
	if err != nil {
		p.bad("%v", err)
	}
	return v
}

// The kinds of flag.
const (
	kindText   = iota
	kindSwitch // "--demo" alone means true; its raw text keeps "not given" apart from "false"
	kindList   // repeatable; the first use on the command line replaces the environment's
)

// flagSpec is one serve flag: its name (its variable is envVar(name)), its
// default and usage, and how its value lands in the Config. The specs run
// in this order, so a flag may read the ones before it; what needs every
// flag is in across.
type flagSpec struct {
	name, value, usage string
	kind               int
	set                func(p *parser, v string)
}

var serveFlags = []flagSpec{
	{name: "addr", value: "127.0.0.1:8080", usage: "listen address", set: func(p *parser, v string) {
		p.c.Addr = v
		if _, _, err := net.SplitHostPort(v); err != nil {
			p.bad("%q is not host:port", v)
		}
	}},
	{name: "db", value: "./ecs-dashboard.db", usage: "the store of users and the audit log: a SQLite file, or postgres://… for several replicas on one PostgreSQL database", set: func(p *parser, v string) {
		p.c.DBPath, p.c.Postgres = v, db.IsPostgresDSN(v)
		if v == "" {
			p.bad("must not be empty")
		}
	}},
	{name: "regions", usage: "comma-separated ECS regions to list (default: the simulator's regions in demo mode, else every region DescribeRegions lists)", set: func(p *parser, v string) {
		for _, r := range splitList(v) {
			if !regionRe.MatchString(r) {
				p.bad("%q is not a region id like cn-hangzhou", r)
			}
			p.c.Regions = append(p.c.Regions, r)
		}
	}},
	{name: "ecs-endpoint", usage: "one ECS endpoint URL for every region, e.g. http://127.0.0.1:9999 (default https://ecs.<region>.aliyuncs.com)", set: func(p *parser, v string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			p.bad("%q is not an http(s)://host[:port] URL", v)
		}
		p.c.ECSEndpoint = strings.TrimSuffix(v, "/")
	}},
	{name: "demo", kind: kindSwitch, usage: "run against the built-in ECS simulator (default: on when no credentials and no --ecs-endpoint)", set: func(p *parser, v string) {
		if v != "" {
			p.c.Demo, p.c.DemoSet = p.boolean(v), true
		}
	}},
	{name: "demo-instances", value: "0", usage: "demo mode: simulate this many instances instead of the seeded demo fleet (e.g. 10000)", set: func(p *parser, v string) {
		if _, err := fmt.Sscan(v, &p.c.DemoScale); err != nil || p.c.DemoScale < 0 || p.c.DemoScale > 100000 {
			p.bad("%q is not a count from 0 to 100000", v)
		}
	}},
	{name: "approval", value: string(starts.PolicyInitLocalDisk), usage: "which starts need a second person: init-local-disk, all, none", set: func(p *parser, v string) {
		if pol, err := starts.ParsePolicy(v); err != nil {
			p.bad("%v", err)
		} else {
			p.c.Approval = pol
		}
	}},
	{name: "approval-ttl", value: "24h", usage: "how long a start waits for approval before it expires", set: func(p *parser, v string) {
		p.c.ApprovalTTL = p.duration(v, time.Minute)
	}},
	{name: "local-disk-families", value: "ecs.d1,ecs.i1,ecs.i2", usage: "instance families whose Start offers InitLocalDisk", set: func(p *parser, v string) {
		for _, f := range splitList(v) {
			f = strings.ToLower(f)
			if !familyRe.MatchString(f) {
				p.bad("%q is not a family like ecs.d1", f)
			}
			p.c.LocalDiskFamilies = append(p.c.LocalDiskFamilies, f)
		}
	}},
	{name: "session-key-file", usage: "session keys, created with mode 0600 when missing (default: beside the database; with PostgreSQL, ./session-keys, and every replica needs the same file)", set: func(p *parser, v string) {
		p.c.SessionKeyFile = v // its default is in across
	}},
	{name: "replica-id", usage: "with PostgreSQL: this replica's name on its audit entries and lease (default: host name and a random suffix, new at each start)", set: func(*parser, string) {}},                       // read in across
	{name: "replica-lease", value: "15s", usage: "with PostgreSQL: how long a replica's calls are left to it after its last heartbeat, before another records their outcome as unknown", set: func(*parser, string) {}}, // read in across
	{name: "metrics-token-file", usage: "a file holding a bearer token that /metrics then requires (default: /metrics is open; restrict it at the proxy)", set: func(p *parser, v string) {
		p.c.MetricsTokenFile = v
	}},
	{name: "notify-url", kind: kindList, usage: "a webhook that receives each approval event; repeatable or comma-separated; URL#lang=zh-CN sets its chat texts' language", set: func(p *parser, v string) {
		for _, u := range splitList(v) {
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
				p.bad("%q is not an http(s) URL", u)
				continue
			}
			// The fragment is the receiver's settings, never sent: the URL
			// without it is the receiver (its cursor, its deliveries).
			if frag := pu.Fragment; frag != "" {
				lang, ok := strings.CutPrefix(frag, "lang=")
				if !ok || i18n.Valid(lang) == "" {
					p.bad("%q: the fragment of a webhook's URL sets its language, as #lang=en or #lang=zh-CN", u)
					continue
				}
				pu.Fragment, pu.RawFragment = "", ""
				u = pu.String()
				if p.c.NotifyLangs == nil {
					p.c.NotifyLangs = map[string]string{}
				}
				p.c.NotifyLangs[u] = i18n.Valid(lang)
			}
			p.c.NotifyURLs = append(p.c.NotifyURLs, u)
		}
	}},
	{name: "notify-lang", value: "en", usage: "the language of the slack and dingtalk texts: en or zh-CN (a URL's #lang= sets its own)", set: func(p *parser, v string) {
		p.c.NotifyLang = i18n.Valid(v)
		if p.c.NotifyLang == "" {
			p.bad("%q is not en or zh-CN", v)
		}
	}},
	{name: "notify-format", value: "json", usage: "json, slack or dingtalk", set: func(p *parser, v string) {
		p.c.NotifyFormat = v
		if v != "json" && v != "slack" && v != "dingtalk" {
			p.bad("%q is not json, slack or dingtalk", v)
		}
	}},
	{name: "notify-secret-file", usage: "a file holding the secret that signs each notification (json: X-ECS-Dashboard-Signature; dingtalk: the robot's signing secret)", set: func(p *parser, v string) {
		p.c.NotifySecretFile = v
	}},
	{name: "db-max-conns", value: "0", usage: "PostgreSQL: connections this replica's pool may open (default: the DSN's pool_max_conns, else 8); the server's max_connections must cover every replica's pool and the CLI", set: func(p *parser, v string) {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 1000 {
			p.bad("%q is not a number of connections (0 to 1000)", v)
		} else {
			p.c.DBMaxConns = n
		}
	}},
	{name: "start-rate", value: "300", usage: "StartInstance calls a minute the dashboard allows itself (ECS allows an account about 500); 0 for no limit", set: func(p *parser, v string) {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 100000 {
			p.bad("%q is not a number of starts a minute (0 to 100000)", v)
		} else {
			p.c.StartRate = n
		}
	}},
	{name: "api-rate", value: "600", usage: "JSON API requests a minute each token may make (a burst of up to 60 first); 0 for no limit", set: func(p *parser, v string) {
		if n, err := strconv.Atoi(v); err != nil || n < 0 || n > 1000000 {
			p.bad("%q is not a number of requests a minute (0 to 1000000)", v)
		} else {
			p.c.APIRate = n
		}
	}},
	{name: "audit-key-file", usage: "the audit chain's HMAC key, created with mode 0600 when missing; keep a copy apart from the database (default: beside the database; with PostgreSQL, ./audit-key, and every replica needs the same file)", set: func(p *parser, v string) {
		p.c.AuditKeyFile = v // its default is in across
	}},
	{name: "frame-ancestors", value: "'self'", usage: "space- or comma-separated origins allowed to embed the pages (CSP frame-ancestors)", set: func(p *parser, v string) {
		for _, o := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
			if strings.ContainsAny(o, ";\"") || strings.ContainsFunc(o, unicode.IsControl) {
				p.bad("%q is not a CSP source", o)
			}
			p.c.FrameAncestors = append(p.c.FrameAncestors, o)
		}
		if len(p.c.FrameAncestors) == 0 {
			p.c.FrameAncestors = []string{"'self'"}
		}
	}},
	{name: "auth-header", usage: "single sign-on: request header holding the user name, set by a trusted reverse proxy", set: func(p *parser, v string) {
		p.c.AuthHeader = v
	}},
	{name: "groups-header", usage: "single sign-on: request header holding the user's comma-separated groups", set: func(p *parser, v string) {
		p.c.GroupsHeader = v
	}},
	{name: "trusted-proxies", usage: "comma-separated CIDRs of reverse proxies whose --auth-header is honoured", set: func(p *parser, v string) {
		for _, s := range splitList(v) {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				a, err2 := netip.ParseAddr(s)
				if err2 != nil {
					p.bad("%q is not a CIDR", s)
					continue
				}
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
			p.c.TrustedProxies = append(p.c.TrustedProxies, pfx.Masked())
		}
	}},
	{name: "group-roles", usage: "single sign-on: group=role pairs, comma-separated, e.g. ops=operator,sre-leads=approver", set: func(p *parser, v string) {
		for _, pair := range splitList(v) {
			g, r, ok := strings.Cut(pair, "=")
			if !ok || g == "" || !users.ValidRole(r) {
				p.bad("%q is not group=role with a role of %s", pair, roleWords)
				continue
			}
			p.c.GroupRoles[g] = r
		}
	}},
	{name: "base-url", usage: "external URL, e.g. https://portal.example.com/ecs/ (default: derived from --addr)", set: func(p *parser, v string) {
		if v == "" {
			v = "http://" + p.c.Addr + "/"
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			p.bad("%q is not an absolute http(s) URL", v)
			p.c.BaseURL = &url.URL{Scheme: "http", Host: p.c.Addr, Path: "/"}
			return
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		p.c.BaseURL = u
	}},
	{name: "cross-site-cookies", value: "false", kind: kindSwitch, usage: "mark cookies SameSite=None; Secure; Partitioned, for a portal on another site (needs https)", set: func(p *parser, v string) {
		p.c.CrossSiteCookies = p.boolean(v)
		if p.c.CrossSiteCookies && p.c.BaseURL.Scheme != "https" {
			p.bad("needs an https --base-url: browsers drop SameSite=None cookies that are not Secure")
		}
	}},
	{name: "refresh-interval", value: "30s", usage: "how often the fleet cache is refreshed from ECS", set: func(p *parser, v string) {
		p.c.RefreshInterval = p.duration(v, time.Second)
	}},
	{name: "ecs-timeout", value: "10s", usage: "deadline for one ECS call", set: func(p *parser, v string) {
		p.c.ECSTimeout = p.duration(v, 100*time.Millisecond)
	}},
	{name: "ecs-ram-role", usage: "use this ECS instance RAM role for credentials (asks the metadata service)", set: func(p *parser, v string) {
		p.c.ECSRAMRole = v
	}},
	{name: "accounts", usage: "YAML file of Alibaba Cloud accounts, each by role_arn or keys of its own (docs/accounts.md; default: the one account of the credential chain)", set: func(p *parser, v string) {
		if v == "" {
			return
		}
		specs, err := ecs.LoadAccounts(v)
		if err != nil {
			p.bad("%v", err)
		}
		p.c.AccountsFile, p.c.Accounts = v, specs
	}},
	{name: "sts-endpoint", value: ecs.DefaultSTSEndpoint, usage: "where STS AssumeRole is asked for role_arn accounts (a loopback http:// URL for the simulator and tests)", set: func(p *parser, v string) {
		u, err := url.Parse(v)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/"):
			p.bad("%q is not an http(s)://host[:port] URL", v)
		case u.Scheme == "http" && !LoopbackHost(u.Hostname()):
			p.bad("%q: plain http is allowed only to a loopback address; use https", v)
		}
		p.c.STSEndpoint = strings.TrimSuffix(v, "/")
	}},
	{name: "actiontrail-url", value: DefaultActionTrailURL, usage: "the audit page's link to an ECS call in ActionTrail, with {region}, {request_id}, {instance_id}, {account_id} filled in; \"\" for no link (docs/accounts.md)", set: func(p *parser, v string) {
		if err := checkTrailURL(v); err != nil {
			p.bad("%v", err)
		}
		p.c.ActionTrailURL = v
	}},
	{name: "idle-timeout", value: "30m", usage: "a session ends after this long without a request", set: func(p *parser, v string) {
		p.c.IdleTimeout = p.duration(v, time.Minute)
	}},
	{name: "session-lifetime", value: "12h", usage: "a session ends this long after login, active or not", set: func(p *parser, v string) {
		p.c.SessionLifetime = p.duration(v, time.Minute)
	}},
	{name: "log-level", value: "info", usage: "debug, info, warn or error", set: func(p *parser, v string) {
		p.c.LogLevel = v
		switch v {
		case "debug", "info", "warn", "error":
		default:
			p.bad("%q is not debug, info, warn or error", v)
		}
	}},
}

// roleWords lists the roles in a sentence: "viewer, operator, approver or admin".
var roleWords = strings.Join(users.Roles[:len(users.Roles)-1], ", ") + " or " + users.Roles[len(users.Roles)-1]

// across is what depends on several flags: the key files' defaults and the
// replica's name and lease (with PostgreSQL), and a user header's need of
// trusted proxies.
func (p *parser) across() {
	c := p.c
	if c.Postgres {
		// Nothing sits "beside" a DSN: the key files default to the working
		// directory, and every replica must be given the same ones.
		if c.SessionKeyFile == "" {
			c.SessionKeyFile, c.KeyFilesDefaulted = "session-keys", true
		}
		if c.AuditKeyFile == "" {
			c.KeyFilesDefaulted = true
		}
		c.ReplicaID = p.raw["replica-id"]
		if c.ReplicaID == "" {
			c.ReplicaID = defaultReplicaID()
		}
		if !replicaRe.MatchString(c.ReplicaID) {
			p.badFlag("replica-id", "%q is not a name of letters, digits, '.', '_' or '-' (at most 64)", c.ReplicaID)
		}
		p.flag = "replica-lease"
		c.ReplicaLease = p.duration(p.raw["replica-lease"], 2*time.Second)
	} else if c.SessionKeyFile == "" {
		c.SessionKeyFile = filepath.Join(filepath.Dir(c.DBPath), "session-keys")
	}
	if c.AuditKeyFile == "" {
		c.AuditKeyFile = DefaultAuditKeyFile(c.DBPath)
	}
	if c.AuthHeader != "" && len(c.TrustedProxies) == 0 {
		p.badFlag("auth-header", "needs --trusted-proxies: a user header is only honoured from known proxies")
	}
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

// DefaultActionTrailURL is the ActionTrail console's event list of one
// region, asked for one event id (an ECS call's RequestId). The host is the
// console's documented endpoint; the path and the eventId parameter are the
// console's as seen in use, not documented by Alibaba Cloud: hence
// --actiontrail-url (docs/accounts.md).
const DefaultActionTrailURL = "https://actiontrail.console.aliyun.com/{region}/event-list?eventId={request_id}"

// trailFields are the placeholders --actiontrail-url may hold.
var trailFields = []string{"{region}", "{request_id}", "{instance_id}", "{account_id}"}

// checkTrailURL refuses a link template that is not an https URL (http
// only to a loopback host) naming the call by {request_id} or
// {instance_id}; "" is no link.
func checkTrailURL(v string) error {
	if v == "" {
		return nil
	}
	if !strings.Contains(v, "{request_id}") && !strings.Contains(v, "{instance_id}") {
		return fmt.Errorf("%q names no call: put {request_id} (ActionTrail's event id) or {instance_id} in it", v)
	}
	filled := v
	for _, f := range trailFields {
		filled = strings.ReplaceAll(filled, f, "x")
	}
	u, err := url.Parse(filled)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(filled, "{}"):
		return fmt.Errorf("%q is not an http(s) URL with only %s in braces", v, strings.Join(trailFields, ", "))
	case u.Scheme == "http" && !LoopbackHost(u.Hostname()):
		return fmt.Errorf("%q: plain http is allowed only to a loopback address; use https", v)
	}
	return nil
}
