// Package scope parses and matches the scopes of grants: conditions on an
// instance, all of which must hold (the contract's "grants over scopes").
// A scope is matched against the instance as ECS describes it at the moment
// of the action; this package only knows the instance's fields.
package scope

import (
	"ecsdash/internal/apperr"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// The condition kinds, as written in a scope expression.
const (
	KindRegion        = "region"
	KindTag           = "tag"
	KindResourceGroup = "resource-group"
	KindAccount       = "account"
)

// Cond is one condition: Kind (region, tag, resource-group, account), the
// tag's Key for tags, and the Value the instance must have.
type Cond struct {
	Kind, Key, Value string
}

func (c Cond) String() string {
	if c.Kind == KindTag {
		return "tag:" + c.Key + "=" + c.Value
	}
	return c.Kind + "=" + c.Value
}

// Scope is conditions that must all hold; the zero Scope covers every
// instance.
type Scope struct {
	conds []Cond // sorted and without repeats: String is canonical
}

// All is the scope that covers every instance.
var All = Scope{}

// Target is what a scope is matched against: the instance's fields as ECS
// describes it.
type Target struct {
	Region, ResourceGroup, Account string
	Tags                           map[string]string
}

// MaxConds is the most conditions one scope may have.
const MaxConds = 20

var (
	regionRe = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+){1,3}$`)
	groupRe  = regexp.MustCompile(`^rg-[A-Za-z0-9]{1,64}$`)
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// Parse reads a scope expression: comma-separated conditions
// region=REGION, tag:KEY=VALUE, resource-group=rg-…, account=NAME, all of
// which must hold. "" is the scope of every instance. The errors say what
// is wrong in words.
func Parse(expr string) (Scope, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return All, nil
	}
	var s Scope
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return Scope{}, apperr.New(apperr.Invalid, "Scope %q has an empty condition (two commas, or a comma at an end).", expr)
		}
		c, err := parseCond(part)
		if err != nil {
			return Scope{}, err
		}
		s.conds = append(s.conds, c)
	}
	slices.SortFunc(s.conds, func(a, b Cond) int { return strings.Compare(a.String(), b.String()) })
	s.conds = slices.Compact(s.conds)
	for i := 1; i < len(s.conds); i++ {
		a, b := s.conds[i-1], s.conds[i]
		if a.Kind == b.Kind && a.Key == b.Key {
			// Two values for one field can never both hold: say so, rather than
			// store a grant that covers nothing.
			return Scope{}, apperr.New(apperr.Invalid, "Scope %q asks for both %s and %s, which no instance can be at once.", expr, a, b)
		}
	}
	if len(s.conds) > MaxConds {
		return Scope{}, apperr.New(apperr.Invalid, "Scope %q has %d conditions; at most %d are allowed.", expr, len(s.conds), MaxConds)
	}
	return s, nil
}

func parseCond(part string) (Cond, error) {
	k, v, ok := strings.Cut(part, "=")
	if !ok {
		return Cond{}, apperr.New(apperr.Invalid, "Scope condition %q has no '=': write region=REGION, tag:KEY=VALUE, resource-group=rg-… or account=NAME.", part)
	}
	k, v = strings.TrimSpace(k), strings.TrimSpace(v)
	if key, isTag := strings.CutPrefix(k, "tag:"); isTag {
		// ECS: a tag key has 1 to 128 characters, a value up to 128; neither
		// may start with aliyun or acs: (those are ECS's own).
		if key == "" || len(key) > 128 || len(v) > 128 {
			return Cond{}, apperr.New(apperr.Invalid, "Scope condition %q: a tag key has 1 to 128 characters and a value at most 128.", part)
		}
		if strings.ContainsAny(key+v, ",\n\r\t") {
			return Cond{}, apperr.New(apperr.Invalid, "Scope condition %q: a tag key or value here may not hold commas or control characters.", part)
		}
		return Cond{Kind: KindTag, Key: key, Value: v}, nil
	}
	switch k {
	case KindRegion:
		if !regionRe.MatchString(v) {
			return Cond{}, apperr.New(apperr.Invalid, "Scope condition %q: %q is not a region id (such as cn-hangzhou).", part, v)
		}
	case KindResourceGroup:
		if !groupRe.MatchString(v) {
			return Cond{}, apperr.New(apperr.Invalid, "Scope condition %q: %q is not a resource group id (rg- followed by letters and digits).", part, v)
		}
	case KindAccount:
		if !nameRe.MatchString(v) {
			return Cond{}, apperr.New(apperr.Invalid, "Scope condition %q: %q is not an account name (letters, digits, . _ -).", part, v)
		}
	default:
		return Cond{}, apperr.New(apperr.Invalid, "Scope condition %q: %q is not a condition; use region=, tag:KEY=, resource-group= or account=.", part, k)
	}
	return Cond{Kind: k, Value: v}, nil
}

// MustParse is Parse for expressions known to be valid (tests, constants).
func MustParse(expr string) Scope {
	s, err := Parse(expr)
	if err != nil {
		panic(err)
	}
	return s
}

// String is the scope's canonical expression ("" for every instance).
func (s Scope) String() string {
	parts := make([]string, len(s.conds))
	for i, c := range s.conds {
		parts[i] = c.String()
	}
	return strings.Join(parts, ",")
}

// IsAll reports whether the scope covers every instance.
func (s Scope) IsAll() bool { return len(s.conds) == 0 }

// Conds are the scope's conditions, in canonical order.
func (s Scope) Conds() []Cond { return slices.Clone(s.conds) }

// Covers reports whether every condition holds for t. A resource-group
// condition needs the instance's own group: an instance in the default
// group is not in rg-payments, whatever ECS's ResourceGroupId filter lists.
func (s Scope) Covers(t Target) bool {
	for _, c := range s.conds {
		switch c.Kind {
		case KindRegion:
			if t.Region != c.Value {
				return false
			}
		case KindResourceGroup:
			if t.ResourceGroup != c.Value {
				return false
			}
		case KindAccount:
			if t.Account != c.Value {
				return false
			}
		case KindTag:
			if v, ok := t.Tags[c.Key]; !ok || v != c.Value {
				return false
			}
		default:
			return false // unknown: fail closed
		}
	}
	return true
}

// Words says the scope for a person: "every instance", or its conditions.
func (s Scope) Words() string {
	if s.IsAll() {
		return "every instance"
	}
	return s.String()
}

// nothing is the scope of a stored expression that no longer parses: it
// covers no instance (fail closed), and says so.
var nothing = Scope{conds: []Cond{{Kind: "unreadable", Value: "covers nothing"}}}

// Stored reads an expression the database holds (written by String): one
// that no longer parses covers nothing rather than everything. Every
// request reads its user's grants, so each expression is parsed once and
// kept (a scope is immutable; at most maxStored are kept).
func Stored(expr string) Scope {
	if v, ok := stored.Load(expr); ok {
		return v.(Scope)
	}
	s, err := Parse(expr)
	if err != nil {
		s = nothing
	}
	if storedN.Add(1) <= maxStored {
		stored.Store(expr, s)
	}
	return s
}

const maxStored = 10000

var (
	stored  sync.Map // expression → Scope
	storedN atomic.Int64
)

// Set is scopes of which one must hold (a user's grants for one right).
// The nil Set covers nothing; a Set holding All covers everything.
type Set []Scope

// Covers reports whether some scope of the set covers t.
func (s Set) Covers(t Target) bool {
	for _, sc := range s {
		if sc.Covers(t) {
			return true
		}
	}
	return false
}

// Key is the set's canonical text, comparable and usable as a map key:
// "" when it covers everything, "!" when it covers nothing, else the
// scopes' expressions, sorted, one a line.
func (s Set) Key() string {
	if len(s) == 0 {
		return "!"
	}
	parts := make([]string, 0, len(s))
	for _, sc := range s {
		if sc.IsAll() {
			return ""
		}
		parts = append(parts, sc.String())
	}
	slices.Sort(parts)
	return strings.Join(slices.Compact(parts), "\n")
}

// ParseKey reads a Key back ("" covers everything).
func ParseKey(key string) Set {
	switch key {
	case "":
		return Set{All}
	case "!":
		return nil
	}
	var s Set
	for _, line := range strings.Split(key, "\n") {
		s = append(s, Stored(line))
	}
	return s
}
