package users

import "ecsdash/internal/perm"

// Perm is one thing a role lets its holder do. A role is a set of them, in
// one table (rolePerms); every entry point asks Can, never compares role
// names. The scoped grants to come answer (user, permission, instance) by
// finding the user's grants that cover the instance and asking Can of each
// grant's role, so this table stays the one place a role's rights are.
type Perm = perm.Perm

// The permissions (internal/perm's, named here beside the roles).
const (
	PermView    = perm.View
	PermStart   = perm.Start
	PermDecide  = perm.Decide
	PermExport  = perm.Export
	PermAdmin   = perm.Admin
	PermRefresh = perm.Refresh
)

// rolePerms is what each role may do (the contract's roles).
var rolePerms = map[string]Perm{
	RoleViewer:   PermView,
	RoleOperator: PermView | PermStart | PermRefresh,
	RoleApprover: PermView | PermDecide | PermExport | PermRefresh,
	RoleAdmin:    PermView | PermStart | PermDecide | PermExport | PermAdmin | PermRefresh,
}

// Can reports whether role holds every permission of p. An unknown role
// holds none.
func Can(role string, p Perm) bool {
	have, ok := rolePerms[role]
	return ok && p != 0 && have&p == p
}

// ValidRole reports whether r is a role.
func ValidRole(r string) bool {
	_, ok := rolePerms[r]
	return ok
}
