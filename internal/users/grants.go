package users

import (
	"context"
	"database/sql"
	"ecsdash/internal/apperr"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"ecsdash/internal/scope"
)

// Grant gives Role over Scope to a user (User) or to every single sign-on
// user in a group (Group). ID 0 is a user's own role (the users row), or a
// role --group-roles gives.
type Grant struct {
	ID        int64
	User      string
	Group     string
	Role      string
	Scope     scope.Scope
	CreatedBy string
	CreatedAt time.Time
}

// Who names the grant's holder: "user NAME" or "group NAME".
func (g Grant) Who() string {
	if g.Group != "" {
		return "group " + g.Group
	}
	return "user " + g.User
}

// Words says the grant for a person and the audit log's detail.
func (g Grant) Words() string {
	return fmt.Sprintf("%s over %s", g.Role, g.Scope.Words())
}

// Own is the grant of a user's own role.
func (u User) Own() Grant { return Grant{User: u.Name, Role: u.Role, Scope: u.Scope} }

// ErrScopedAdmin refuses a scoped admin: admin administers users and
// grants, which no scope can bound, so it is always unscoped.
var ErrScopedAdmin = apperr.New(apperr.Invalid, "An admin is always unscoped: it administers users and grants, which a scope cannot bound. Give a scoped operator or approver instead.")

// ErrNoGrant means no grant has that id.
var ErrNoGrant = errors.New("users: no such grant")

// CheckGrant is the rule for a role over a scope: a role, and admin only
// over every instance.
func CheckGrant(role string, sc scope.Scope) error {
	if !ValidRole(role) {
		return apperr.New(apperr.Invalid, "%q is not a role (viewer, operator, approver, admin).", role)
	}
	if role == RoleAdmin && !sc.IsAll() {
		return ErrScopedAdmin
	}
	return nil
}

var groupRe = regexp.MustCompile(`^[^\s,][^,\x00-\x1f]{0,127}$`)

// ValidGroup reports whether g can name an SSO group (as the groups header
// lists them, comma-separated).
func ValidGroup(g string) bool { return groupRe.MatchString(g) && strings.TrimSpace(g) == g }

const grantCols = "id, user_name, group_name, role, scope, created_by, created_at"

func scanGrant(s interface{ Scan(...any) error }) (Grant, error) {
	var g Grant
	var sc, at string
	if err := s.Scan(&g.ID, &g.User, &g.Group, &g.Role, &sc, &g.CreatedBy, &at); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Grant{}, ErrNoGrant
		}
		return Grant{}, err
	}
	g.Scope = scope.Stored(sc)
	g.CreatedAt, _ = time.Parse(time.RFC3339, at)
	return g, nil
}

// AddGrant stores g (for a user who exists, named as stored, or for a
// group) and returns it with its id. by is who gave it.
func (s *Store) AddGrant(ctx context.Context, g Grant, by string) (Grant, error) {
	if err := CheckGrant(g.Role, g.Scope); err != nil {
		return Grant{}, err
	}
	switch {
	case (g.User == "") == (g.Group == ""):
		return Grant{}, apperr.New(apperr.Invalid, "A grant is for a user or for a group (one of them).")
	case g.User != "":
		u, err := s.ByName(ctx, g.User)
		if err != nil {
			return Grant{}, fmt.Errorf("users: grant for %q: %w", g.User, err)
		}
		g.User = u.Name
	case !ValidGroup(g.Group):
		return Grant{}, apperr.New(apperr.Invalid, "%q is not a group name (1 to 128 characters, no commas).", g.Group)
	}
	at := s.now().UTC().Format(time.RFC3339)
	err := s.w.QueryRowContext(ctx, "INSERT INTO grants (user_name, group_name, role, scope, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
		g.User, g.Group, g.Role, g.Scope.String(), by, at).Scan(&g.ID)
	if err != nil {
		return Grant{}, err
	}
	g.CreatedBy, g.CreatedAt = by, s.now().UTC().Truncate(time.Second)
	return g, nil
}

// RemoveGrant ends grant id and returns what it was.
func (s *Store) RemoveGrant(ctx context.Context, id int64) (Grant, error) {
	g, err := scanGrant(s.w.QueryRowContext(ctx, "DELETE FROM grants WHERE id = ? RETURNING "+grantCols, id))
	return g, err
}

// Grants lists every grant, users' first, by holder and id.
func (s *Store) Grants(ctx context.Context) ([]Grant, error) {
	return s.grants(ctx, "SELECT "+grantCols+" FROM grants ORDER BY group_name <> '', lower(user_name), group_name, id")
}

// GrantsFor lists the grants of a user and of the SSO groups given: with
// the user's own role, what the user holds at this moment (read on every
// request, so a removed grant takes effect at once on every replica).
func (s *Store) GrantsFor(ctx context.Context, user string, groups []string) ([]Grant, error) {
	q := "SELECT " + grantCols + " FROM grants WHERE (user_name <> '' AND lower(user_name) = lower(?))"
	args := []any{user}
	if len(groups) > 0 {
		q += " OR group_name IN (" + strings.TrimSuffix(strings.Repeat("?,", len(groups)), ",") + ")"
		for _, g := range groups {
			args = append(args, g)
		}
	}
	return s.grants(ctx, q+" ORDER BY id", args...)
}

func (s *Store) grants(ctx context.Context, q string, args ...any) ([]Grant, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
