// Package perm names the permissions a role is a set of (internal/users
// holds the role table) and an action needs (internal/audit's action
// table). It is a leaf: both import it.
package perm

// Perm is one thing a role lets its holder do; a set of them is their OR.
type Perm uint16

// The permissions.
const (
	View    Perm = 1 << iota // see the instances and the audit history
	Start                    // start, batch-start and check (dry-run) instances
	Decide                   // approve or reject someone else's request
	Export                   // export the audit log: it holds every user's address and browser
	Admin                    // administer: users, and withdrawing anyone's request
	Refresh                  // force a fresh listing from ECS (it spends the account's API budget)
)
