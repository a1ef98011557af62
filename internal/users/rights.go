package users

import (
	"context"
	"math/bits"
	"slices"
	"strings"
	"sync"

	"ecsdash/internal/scope"
)

// Rights are a holder's grants compiled once: for each permission the
// scopes over which it holds, that set's key, whether it holds everywhere,
// and the words the page header shows. A Rights is immutable and shared by
// every request made with the same grants at one grants version; the rights
// check (internal/starts) asks it instead of walking the grants each time.
type Rights struct {
	grants []Grant
	perm   [nPerms]compiled
	roles  string
	words  string
	scoped bool   // some grant is not over every instance
	base   string // single sign-on: the role --group-roles gave, if kept
}

type compiled struct {
	set scope.Set
	key string
	all bool
}

// nPerms is the number of permission bits (Perm's constants).
const nPerms = 6

// Compile compiles gs (the holder's own role first, then their grants).
func Compile(gs []Grant) *Rights {
	r := &Rights{grants: gs}
	for i := range nPerms {
		r.perm[i] = compile(gs, Perm(1)<<i)
	}
	var names, words []string
	for _, g := range gs {
		if !contains(names, g.Role) {
			names = append(names, g.Role)
		}
		words = append(words, g.Words())
		r.scoped = r.scoped || !g.Scope.IsAll()
	}
	r.roles = "none"
	if len(names) > 0 {
		r.roles = strings.Join(names, " and ")
	}
	r.words = strings.Join(words, "; ")
	return r
}

func compile(gs []Grant, p Perm) compiled {
	var c compiled
	for _, g := range gs {
		if Can(g.Role, p) {
			c.set = append(c.set, g.Scope)
			c.all = c.all || g.Scope.IsAll()
		}
	}
	c.key = c.set.Key()
	return c
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// of is p's compiled rights: p's own when p is one permission, else
// compiled now (a permission made of several is held where all are).
func (r *Rights) of(p Perm) compiled {
	if bits.OnesCount16(uint16(p)) == 1 && bits.TrailingZeros16(uint16(p)) < nPerms {
		return r.perm[bits.TrailingZeros16(uint16(p))]
	}
	return compile(r.grants, p)
}

// Grants are the grants compiled (not to be changed).
func (r *Rights) Grants() []Grant { return r.grants }

// Scopes are the scopes over which p is held (not to be changed).
func (r *Rights) Scopes(p Perm) scope.Set { return r.of(p).set }

// Key is Scopes(p).Key(), computed once.
func (r *Rights) Key(p Perm) string { return r.of(p).key }

// Unscoped reports whether p is held over every instance.
func (r *Rights) Unscoped(p Perm) bool { return r.of(p).all }

// Roles names the roles held: "operator", "viewer and operator", "none".
func (r *Rights) Roles() string { return r.roles }

// Words says the grants for a person: "operator over tag:team=payments;
// viewer over every instance".
func (r *Rights) Words() string { return r.words }

// Scoped reports whether some grant holds over less than every instance.
func (r *Rights) Scoped() bool { return r.scoped }

// rightsKey names a single sign-on user's rights at one grants version:
// the role --group-roles gives and the groups the proxy named. (A local
// user's are kept with their record: Compiled.)
type rightsKey struct {
	name   string // lower-case
	role   string // --group-roles' role ("" none)
	groups string // the groups, one a line
	keep   bool   // --group-roles is set
}

// rightsCache keeps compiled rights for one grants version: a newer
// version read by any request starts it again.
type rightsCache struct {
	mu      sync.RWMutex
	version int64
	m       map[rightsKey]*Rights
}

func (c *rightsCache) get(version int64, k rightsKey) *Rights {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.version != version {
		return nil
	}
	return c.m[k]
}

func (c *rightsCache) put(version int64, k rightsKey, r *Rights) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case version < c.version: // read before a change another request has seen: not kept
		return
	case version > c.version || c.m == nil || len(c.m) >= maxCached:
		c.version, c.m = version, map[rightsKey]*Rights{}
	}
	c.m[k] = r
}

// GrantsVersion reads the grants' version: a number every change to the
// grants table raises in its own transaction (migration 0120), on any
// replica. Rights compiled at one version hold until the next.
func (s *Store) GrantsVersion(ctx context.Context) (int64, error) {
	l, err := s.version.on(ctx, s.r, s.prepareWait())
	if err != nil {
		return 0, err
	}
	var v int64
	err = l.Row(ctx, 1, &v)
	return v, err
}

// versionQuery is GrantsVersion's, by the table's one key (1).
const versionQuery = "SELECT n AS n FROM grants_version WHERE id = ?"

// Compiled is grants — what Current returned for the local user id —
// compiled: once per cached entry (so once per user epoch and grants'
// version), or now when the grants are not the entry's.
func (s *Store) Compiled(id int64, grants []Grant) *Rights {
	same := func(c cachedUser) bool {
		return len(c.grants) == len(grants) && len(grants) > 0 && &c.grants[0] == &grants[0]
	}
	s.mu.RLock()
	c, ok := s.cache[id]
	s.mu.RUnlock()
	if ok && same(c) && c.rights != nil {
		return c.rights
	}
	r := Compile(grants)
	s.mu.Lock()
	if c, ok := s.cache[id]; ok && same(c) {
		c.rights = r
		s.cache[id] = c
	}
	s.mu.Unlock()
	return r
}

// SSORights are what the single sign-on user name holds now: role over
// every instance ("" none: the role --group-roles gives) and the
// database's grants of the user and of groups. With keepRole false (no
// --group-roles) a user whom some group grant covers holds exactly the
// grants, not role beside them. As Rights, compiled once per grants
// version.
func (s *Store) SSORights(ctx context.Context, name, role string, groups []string, keepRole bool) (*Rights, error) {
	version, err := s.GrantsVersion(ctx)
	if err != nil {
		return nil, err
	}
	k := rightsKey{name: strings.ToLower(name), role: role, groups: strings.Join(groups, "\n"), keep: keepRole}
	if r := s.rights.get(version, k); r != nil {
		return r, nil
	}
	held, err := s.GrantsFor(ctx, name, groups)
	if err != nil {
		return nil, err
	}
	if !keepRole && slices.ContainsFunc(held, func(g Grant) bool { return g.Group != "" }) {
		role = "" // the group grants give the rights; no viewer beside them
	}
	var gs []Grant
	if role != "" {
		gs = append(gs, Grant{User: name, Role: role}) // --group-roles: unscoped
	}
	r := Compile(append(gs, held...))
	r.base = role
	s.rights.put(version, k, r)
	return r, nil
}

// Base is, for a single sign-on user, the role over every instance they
// hold beside their grants ("" none).
func (r *Rights) Base() string { return r.base }
