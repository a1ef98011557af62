package users

import (
	"context"
	"fmt"

	"ecsdash/internal/audit"
	"ecsdash/internal/scope"
)

// Admin makes the changes to users and grants, from a page or a command,
// each an entry in the audit chain (user_add, user_role, grant_add, …):
// user is who made it ("cli" for a command), target the user or group
// changed, detail what changed in words. No password is ever written.
type Admin struct {
	Store *Store
	Log   *audit.Log
}

// By is who makes a change, and from where.
type By struct {
	User       string // "cli" for a command
	AuthMethod string // "password", "sso" or "cli"
	SourceIP   string
	UserAgent  string
}

// CLI is a command-line change.
var CLI = By{User: "cli", AuthMethod: "cli"}

// record appends the change's entry. The change is made; an entry that
// cannot be written is an error the caller shows (the command exits 1, the
// page says so), never silence.
func (a Admin) record(ctx context.Context, by By, action, target, detail string) error {
	if a.Log == nil {
		return nil
	}
	_, err := a.Log.Append(ctx, audit.Event{Action: action, User: by.User, AuthMethod: by.AuthMethod, SourceIP: by.SourceIP,
		UserAgent: by.UserAgent, State: audit.StateSucceeded, Target: target, Detail: detail})
	if err != nil {
		return fmt.Errorf("the change was made, but its audit entry could not be written: %w", err)
	}
	return nil
}

// AddUser creates a local user whose role holds over sc.
func (a Admin) AddUser(ctx context.Context, by By, name, role string, sc scope.Scope, password string) (User, error) {
	u, err := a.Store.CreateScoped(ctx, name, role, sc, password)
	if err != nil {
		return u, err
	}
	return u, a.record(ctx, by, audit.ActionUserAdd, u.Name, fmt.Sprintf("created with role %s over %s", u.Role, u.Scope.Words()))
}

// SetRole changes a user's own role and its scope.
func (a Admin) SetRole(ctx context.Context, by By, name, role string, sc scope.Scope) error {
	before, err := a.Store.ByName(ctx, name)
	if err != nil {
		return err
	}
	if err := a.Store.SetRoleScope(ctx, name, role, sc); err != nil {
		return err
	}
	return a.record(ctx, by, audit.ActionUserRole, before.Name, fmt.Sprintf("role %s over %s, was %s over %s", role, sc.Words(), before.Role, before.Scope.Words()))
}

// SetDisabled disables or enables a user.
func (a Admin) SetDisabled(ctx context.Context, by By, name string, disabled bool) error {
	u, err := a.Store.ByName(ctx, name)
	if err != nil {
		return err
	}
	if err := a.Store.SetDisabled(ctx, name, disabled); err != nil {
		return err
	}
	if disabled {
		return a.record(ctx, by, audit.ActionUserDisable, u.Name, "disabled; its sessions ended")
	}
	return a.record(ctx, by, audit.ActionUserEnable, u.Name, "enabled")
}

// SetPassword sets a user's password (never recorded).
func (a Admin) SetPassword(ctx context.Context, by By, name, password string) error {
	u, err := a.Store.ByName(ctx, name)
	if err != nil {
		return err
	}
	if err := a.Store.SetPassword(ctx, name, password); err != nil {
		return err
	}
	return a.record(ctx, by, audit.ActionUserPassword, u.Name, "password set; its sessions ended")
}

// AddGrant stores a grant.
func (a Admin) AddGrant(ctx context.Context, by By, g Grant) (Grant, error) {
	g, err := a.Store.AddGrant(ctx, g, by.User)
	if err != nil {
		return g, err
	}
	return g, a.record(ctx, by, audit.ActionGrantAdd, g.Who(), fmt.Sprintf("grant %d: %s", g.ID, g.Words()))
}

// RemoveGrant ends a grant.
func (a Admin) RemoveGrant(ctx context.Context, by By, id int64) (Grant, error) {
	g, err := a.Store.RemoveGrant(ctx, id)
	if err != nil {
		return g, err
	}
	return g, a.record(ctx, by, audit.ActionGrantRemove, g.Who(), fmt.Sprintf("grant %d ended: %s", g.ID, g.Words()))
}
