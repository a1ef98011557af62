// Package handlers is the dashboard's HTTP surface: routes, middleware,
// sessions, CSRF and the pages.
package handlers

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/sessions"

	"ecsdash/internal/audit"
	"ecsdash/internal/books"
	"ecsdash/internal/config"
	"ecsdash/internal/db"
	"ecsdash/internal/ecs"
	"ecsdash/internal/idempotency"
	"ecsdash/internal/metrics"
	"ecsdash/internal/starts"
	"ecsdash/internal/users"
	"ecsdash/web/static"
	"ecsdash/web/templates"
)

// App holds what the handlers need: the services Build gives them, the
// sessions, and the caches of what the pages show. Build assembles it;
// nothing changes it afterwards but its own caches. The background work is
// the Server's (Start, Stop), each loop's body its own package's.
type App struct {
	cfg         *config.Config
	demo        bool // against the built-in simulator
	store       *db.DB
	users       *users.Store
	auditLog    *audit.Log
	starts      *starts.Service
	fleet       *ecs.Fleet
	regions     []string
	accounts    []string                // the --accounts names; nil with one account
	accountErrs func() map[string]error // per account whose last listing failed, why
	sessions    *sessions.CookieStore
	cookies     *decodedCookies // what session cookies decoded to
	assets      *static.Assets
	styleURL    string // every page's stylesheet and script, by their hashed names
	appJSURL    string
	log         *slog.Logger
	requestLog  slog.Handler // the access log's lines of requests that did not fail; nil: log's
	demoUsers   []templates.DemoUser
	now         func() time.Time // this host's clock
	dbNow       func() time.Time // the database's: the audit log's times, the session windows
	metrics     *metrics.Metrics

	rows         rowsCache
	lists        listCache          // the list page around its rows
	routeNames   map[string]bool    // the route templates, the only route labels of metrics
	appended     *eventCount        // audit events written, for checkpoints
	metricsToken []byte             // with --metrics-token-file, what /metrics requires
	opens        openCache          // open requests, read again when the log grows
	lastSeq      atomic.Int64       // the newest audit entry's seq
	endings      sync.Map           // requester -> the newest entry that ended a start of theirs (int64)
	throttle     *books.Throttle    // the sign-in throttle, counting in memory or in the database
	refreshes    refreshLimits      // forced refreshes of the fleet
	exports      exportSlots        // audit exports running, per user
	tokens       books.TokenBook    // one-time form tokens used
	probing      sync.Mutex         // held while /readyz's write check runs
	apiLimits    apiLimits          // each API token's pace, on this replica
	idem         *idempotency.Store // the API starts' Idempotency-Keys
	apiDoc       apiDoc             // /api/v1/openapi.json
}
