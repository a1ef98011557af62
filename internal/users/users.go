// Package users stores the dashboard's users, their roles and password
// hashes, and decides what each role may do.
package users

import (
	"cmp"
	"context"
	"database/sql"
	"ecsdash/internal/apperr"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"

	"ecsdash/internal/db"
	"ecsdash/internal/scope"
)

// Roles.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleApprover = "approver"
	RoleAdmin    = "admin"
)

// Roles lists every role, least privileged first.
var Roles = []string{RoleViewer, RoleOperator, RoleApprover, RoleAdmin}

// Where an account comes from.
const (
	SourceLocal = "local" // created with a password
	SourceSSO   = "sso"   // created from the trusted proxy's header
)

// User is one account.
type User struct {
	ID        int64
	Name      string
	Source    string // SourceLocal or SourceSSO
	Role      string
	Scope     scope.Scope // where Role holds (scope.All: every instance)
	Disabled  bool
	Epoch     int64
	CreatedAt time.Time
	UpdatedAt time.Time
	hash      string
}

var (
	// ErrNotFound means no such user.
	ErrNotFound = errors.New("users: no such user")
	// ErrBadCredentials is the one answer for a wrong name, a wrong password
	// and a disabled account, so a caller cannot tell them apart.
	ErrBadCredentials = errors.New("users: wrong user name or password")
	// ErrExists means the name is taken.
	ErrExists = errors.New("users: a user of that name exists")
	// ErrNameClash means a single sign-on name matches a local account's:
	// they are separate identities and are never merged.
	ErrNameClash = errors.New("users: a local account has this name")
)

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ValidName reports whether name is acceptable as a user name.
func ValidName(name string) bool { return nameRe.MatchString(name) }

// Store reads and writes users.
type Store struct {
	w, r *db.Pool
	now  func() time.Time
	cost int
	// dummy is compared against when a name is unknown, so a wrong name
	// costs the same time as a wrong password.
	dummy []byte
	// byID is prepared once: every signed-in request loads its user fresh,
	// and parsing the query each time was a fifth of a list page's CPU.
	prepOnce sync.Once
	byID     *sql.Stmt
	// stamp reads what says whether a cached record is still the row:
	// its epoch, which every change bumps, and its creation time, which a
	// row made again under a reused id would not share; and the grants'
	// version. A lookup (db.Lookup): the driver's statement, without
	// database/sql's machinery, on every request.
	stamp lookup
	mu    sync.RWMutex
	cache map[int64]cachedUser
	// version reads the grants' version alone, for single sign-on
	// requests (rights.go); rights are their compiled rights at the newest
	// version seen.
	version lookup
	rights  rightsCache
	// wait bounds a prepare (prepareWait when 0; tests set it).
	wait time.Duration
}

func (s *Store) prepareWait() time.Duration { return cmp.Or(s.wait, prepareWait) }

// cachedUser is a user's record as read at one epoch, and their grants as
// read at one version of the grants table (migration 0120: every change to
// a grant bumps it).
type cachedUser struct {
	u        User
	created  string
	grantsAt int64
	grants   []Grant // their own role's first
	rights   *Rights // grants compiled, once asked (Compiled)
}

// maxCached bounds the cache of records; past it the cache starts again.
const maxCached = 4096

// NewStore returns a Store. cost is bcrypt's cost (bcrypt.DefaultCost when 0).
func NewStore(w, r *db.Pool, now func() time.Time, cost int) *Store {
	if now == nil {
		now = time.Now
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte("dummy password for timing"), cost) // fails only for cost out of range
	return &Store{w: w, r: r, now: now, cost: cost, dummy: dummy,
		stamp: lookup{q: stampQuery, cols: 3}, version: lookup{q: versionQuery, cols: 1}}
}

const userCols = "id, name, source, role, scope, disabled, epoch, created_at, updated_at, password_hash"

func scanUser(s interface{ Scan(...any) error }) (User, error) {
	var u User
	var c, up, sc string
	if err := s.Scan(&u.ID, &u.Name, &u.Source, &u.Role, &sc, &u.Disabled, &u.Epoch, &c, &up, &u.hash); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, ErrNotFound
		}
		return User{}, err
	}
	u.Scope = scope.Stored(sc)
	u.CreatedAt, _ = time.Parse(time.RFC3339, c) // written by us in this format
	u.UpdatedAt, _ = time.Parse(time.RFC3339, up)
	return u, nil
}

// Create adds a local user with a password, whose role holds over every
// instance.
func (s *Store) Create(ctx context.Context, name, role, password string) (User, error) {
	return s.CreateScoped(ctx, name, role, scope.All, password)
}

// CreateScoped adds a local user with a password whose role holds over sc.
func (s *Store) CreateScoped(ctx context.Context, name, role string, sc scope.Scope, password string) (User, error) {
	if !ValidName(name) {
		return User{}, apperr.New(apperr.Invalid, "%q is not a valid name (letters, digits, . _ @ -; at most 64).", name)
	}
	if err := CheckGrant(role, sc); err != nil {
		return User{}, err
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return User{}, err
	}
	return s.insert(ctx, name, SourceLocal, role, sc.String(), string(hash))
}

// maxPassword is the most bytes bcrypt reads of a password.
const maxPassword = 72

func checkPassword(p string) error {
	if len(p) < 8 {
		return apperr.New(apperr.Invalid, "The password needs at least 8 characters.")
	}
	if len(p) > maxPassword {
		return apperr.New(apperr.Invalid, "The password has %d bytes; at most %d are allowed (bcrypt would silently ignore the rest).", len(p), maxPassword)
	}
	return nil
}

func (s *Store) insert(ctx context.Context, name, source, role, sc, hash string) (User, error) {
	now := s.now().UTC().Format(time.RFC3339)
	var id int64
	err := s.w.QueryRowContext(ctx, "INSERT INTO users (name, source, role, scope, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
		name, source, role, sc, hash, now, now).Scan(&id)
	if db.IsUnique(err) {
		return User{}, ErrExists
	}
	if err != nil {
		return User{}, err
	}
	return s.ByID(ctx, id)
}

// ByID returns the user with id.
func (s *Store) ByID(ctx context.Context, id int64) (User, error) {
	const q = "SELECT " + userCols + " FROM users WHERE id = ?"
	s.prepOnce.Do(func() {
		// Bounded (prepareWait): every call waits for this one.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.prepareWait())
		defer cancel()
		s.byID, _ = s.r.PrepareContext(pctx, q) // on failure, the plain query below
	})
	if s.byID != nil {
		return scanUser(s.byID.QueryRowContext(ctx, id))
	}
	return scanUser(s.r.QueryRowContext(ctx, q, id))
}

// Current returns the user with id as the database holds it now, for a
// signed-in request, and the grants the user holds now: their own role's
// first (User.Own), then every grant given to them by name. It reads the
// row's epoch and creation time and the grants' version (one narrow query,
// no cache between them and the database, so a logout, disable, role
// change or grant given or taken on any replica takes effect at the next
// request here), and the whole record or the grants only when the epoch or
// the version is not the one it cached. The grants are shared: the caller
// must not change them.
func (s *Store) Current(ctx context.Context, id int64) (User, []Grant, error) {
	st, err := s.stamp.on(ctx, s.r, s.prepareWait())
	if err != nil {
		return User{}, nil, err
	}
	var epoch, version int64
	var created string
	if err := st.Row(ctx, id, &epoch, &created, &version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return User{}, nil, ErrNotFound
		}
		return User{}, nil, err
	}
	s.mu.RLock()
	c, ok := s.cache[id]
	s.mu.RUnlock()
	if ok && c.u.Epoch == epoch && c.created == created && c.grantsAt == version {
		return c.u, c.grants, nil
	}
	u := c.u
	if !ok || c.u.Epoch != epoch || c.created != created {
		var err error
		if u, err = s.ByID(ctx, id); err != nil {
			return User{}, nil, err
		}
	}
	// Read after the version: what they say is of that version or newer,
	// and a newer version is never served from this entry.
	held, err := s.GrantsFor(ctx, u.Name, nil)
	if err != nil {
		return User{}, nil, err
	}
	grants := append([]Grant{u.Own()}, held...)
	if u.Epoch == epoch { // not changed again in between: the record of this stamp
		s.mu.Lock()
		if s.cache == nil || len(s.cache) >= maxCached {
			s.cache = map[int64]cachedUser{}
		}
		s.cache[id] = cachedUser{u: u, created: created, grantsAt: version, grants: grants}
		s.mu.Unlock()
	}
	return u, grants, nil
}

// stampQuery is Current's query: the row's epoch and creation time, and
// the grants' version. Named with a letter each: the driver makes a string
// of every column's name at every query, and one of a single byte costs
// no allocation.
const stampQuery = "SELECT epoch AS e, created_at AS c, (SELECT n FROM grants_version WHERE id = 1) AS v FROM users WHERE id = ?"

// lookup is a db.Lookup prepared at its first use (again after a failure
// to prepare it). Once prepared, on is an atomic load. Until then one
// prepare at a time runs, detached from the calls waiting for it and under
// a deadline of its own (prepareWait), so that a server that accepts the
// connection and never answers cannot hold it longer; every call waiting
// for it (the one that began it too) waits no longer than its own context
// allows, and fails with ctx's error rather than stalling every signed-in
// request of the process behind it. Its failure is every waiting call's;
// a call after it prepares afresh.
type lookup struct {
	q     string
	cols  int
	sf    singleflight.Group
	tries atomic.Int64 // prepares begun (for tests)
	l     atomic.Pointer[db.Lookup]
}

// prepareWait bounds one prepare of a lookup. It is not a request's
// deadline: the prepare outlives the request that began it, for the others
// waiting on it, so it has one of its own; a database that takes longer
// than this to answer a prepare is not serving requests either.
const prepareWait = 10 * time.Second

func (k *lookup) on(ctx context.Context, p *db.Pool, wait time.Duration) (*db.Lookup, error) {
	if l := k.l.Load(); l != nil {
		return l, nil
	}
	ch := k.sf.DoChan("", func() (any, error) {
		if l := k.l.Load(); l != nil { // prepared while this call came in
			return l, nil
		}
		k.tries.Add(1)
		// Detached from the call that began it (others may be waiting for
		// it), but bounded.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
		defer cancel()
		l, err := p.PrepareLookup(pctx, k.q, k.cols)
		if err != nil {
			return nil, fmt.Errorf("users: prepare the user lookup: %w", err)
		}
		k.l.Store(l)
		return l, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*db.Lookup), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("users: waiting for the user lookup to be prepared: %w", context.Cause(ctx))
	}
}

// ByName returns the user called name (case-insensitive).
func (s *Store) ByName(ctx context.Context, name string) (User, error) {
	return scanUser(s.r.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE lower(name) = lower(?)", name))
}

// List returns every user by name.
func (s *Store) List(ctx context.Context) ([]User, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY lower(name), name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Authenticate checks a name and password. Every failure is ErrBadCredentials
// and costs one bcrypt comparison.
func (s *Store) Authenticate(ctx context.Context, name, password string) (User, error) {
	if len(password) > maxPassword { // never set so: bcrypt would compare its first 72 bytes only
		_ = bcrypt.CompareHashAndPassword(s.dummy, []byte(password[:maxPassword]))
		return User{}, ErrBadCredentials
	}
	u, err := s.ByName(ctx, name)
	if errors.Is(err, ErrNotFound) || (err == nil && (u.hash == "" || u.Source != SourceLocal)) {
		_ = bcrypt.CompareHashAndPassword(s.dummy, []byte(password)) // spend the same time; the result is irrelevant
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(u.hash), []byte(password)) != nil || u.Disabled {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// EnsureSSO returns the SSO account a trusted proxy named, creating it
// (without a password) or moving it to role when the proxy's groups say so.
// A name that matches a local account (names compare case-insensitively)
// is ErrNameClash: the proxy can neither sign in as a local account nor
// change its role.
func (s *Store) EnsureSSO(ctx context.Context, name, role string) (User, error) {
	u, err := s.ByName(ctx, name)
	if errors.Is(err, ErrNotFound) {
		u, err = s.insert(ctx, name, SourceSSO, role, "", "")
		if errors.Is(err, ErrExists) { // created by a concurrent request
			u, err = s.ByName(ctx, name)
		}
	}
	if err != nil {
		return User{}, err
	}
	if u.Source != SourceSSO {
		return User{}, ErrNameClash
	}
	if u.Role == role {
		return u, nil
	}
	if err := s.SetRole(ctx, name, role); err != nil {
		return User{}, err
	}
	return s.ByName(ctx, name)
}

// update runs one change and bumps the epoch, so the user's sessions end.
func (s *Store) update(ctx context.Context, name, set string, args ...any) error {
	args = append(args, s.now().UTC().Format(time.RFC3339), name)
	res, err := s.w.ExecContext(ctx, "UPDATE users SET "+set+", epoch = epoch + 1, updated_at = ? WHERE lower(name) = lower(?)", args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SetDisabled disables or enables a user; disabling ends its sessions.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.update(ctx, name, "disabled = ?", disabled)
}

// SetRole changes a user's role; its sessions end.
func (s *Store) SetRole(ctx context.Context, name, role string) error {
	if !ValidRole(role) {
		return apperr.New(apperr.Invalid, "%q is not a role (viewer, operator, approver, admin).", role)
	}
	return s.update(ctx, name, "role = ?", role)
}

// SetRoleScope changes a user's own role and the scope it holds over; its
// sessions end.
func (s *Store) SetRoleScope(ctx context.Context, name, role string, sc scope.Scope) error {
	if err := CheckGrant(role, sc); err != nil {
		return err
	}
	return s.update(ctx, name, "role = ?, scope = ?", role, sc.String())
}

// SetPassword changes a user's password; its sessions end.
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.cost)
	if err != nil {
		return err
	}
	return s.update(ctx, name, "password_hash = ?", string(hash))
}

// EndSessions bumps the epoch (logout everywhere).
func (s *Store) EndSessions(ctx context.Context, name string) error {
	return s.update(ctx, name, "disabled = disabled")
}
