package starts

import (
	"fmt"
	"strings"

	"ecsdash/internal/apperr"
	"ecsdash/internal/ecs"
	"ecsdash/internal/i18n"
	"ecsdash/internal/scope"
	"ecsdash/internal/users"
)

// The rights check: one function, May, answers whether an actor may do
// something to an instance as ECS describes it now. Every entry point asks
// it — the list (PermView), a start, a check and each instance of a batch
// (PermStart), the approval queue, its count and each decision
// (PermDecide), the audit history (PermView), notifications' routing — and
// a caller that has a fresh description from ECS passes that one, never
// only the cached row.
//
// A right is held when some grant of the actor's has a role with the
// permission (the role table in internal/users) and a scope that covers the
// instance.

// grants are the actor's effective grants: Grants when the caller loaded
// them, else the actor's role over every instance (what a user without
// grants holds, as before grants existed).
func (a Actor) grants() []users.Grant {
	if a.Rights != nil {
		return a.Rights.Grants()
	}
	if a.Grants != nil {
		return a.Grants
	}
	return []users.Grant{{User: a.User, Role: a.Role}}
}

// Scopes are the scopes over which a holds p: the set to match instances
// against (scope.Set.Covers), and whose Key names the right for caches.
func (a Actor) Scopes(p users.Perm) scope.Set {
	if a.Rights != nil {
		return a.Rights.Scopes(p)
	}
	var s scope.Set
	for _, g := range a.grants() {
		if users.Can(g.Role, p) {
			s = append(s, g.Scope)
		}
	}
	return s
}

// Key is Scopes(p).Key(), computed once per grants when compiled.
func (a Actor) Key(p users.Perm) string {
	if a.Rights != nil {
		return a.Rights.Key(p)
	}
	return a.Scopes(p).Key()
}

// Holds reports whether a holds p over some instance (or, for PermAdmin,
// at all): whether a page offers the action anywhere.
func (a Actor) Holds(p users.Perm) bool {
	for _, g := range a.grants() { // Scopes' test, without making the list: a page view asks this several times
		if users.Can(g.Role, p) {
			return true
		}
	}
	return false
}

// Unscoped reports whether a holds p over every instance.
func (a Actor) Unscoped(p users.Perm) bool {
	if a.Rights != nil {
		return a.Rights.Unscoped(p)
	}
	for _, g := range a.grants() {
		if users.Can(g.Role, p) && g.Scope.IsAll() {
			return true
		}
	}
	return false
}

// Roles names a's roles, for words ("operator", "viewer and operator").
func (a Actor) Roles() string {
	if a.Rights != nil {
		return a.Rights.Roles()
	}
	var names []string
	for _, g := range a.grants() {
		if !contains(names, g.Role) {
			names = append(names, g.Role)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " and ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// roleRefusals and scopeRefusals are each permission's refusal, one
// sentence each, so that a translation has the verb in its own words.
var roleRefusals = map[users.Perm]string{
	users.PermView:    "Your role (%s) may not see instances.",
	users.PermStart:   "Your role (%s) may not start instances.",
	users.PermDecide:  "Your role (%s) may not approve or reject starts of instances.",
	users.PermExport:  "Your role (%s) may not export the audit log of instances.",
	users.PermAdmin:   "Your role (%s) may not administer instances.",
	users.PermRefresh: "Your role (%s) may not refresh the list of instances.",
}

var scopeRefusals = map[users.Perm]string{
	users.PermView:    "%s is outside the scope you may see: %s.",
	users.PermStart:   "%s is outside the scope you may start: %s.",
	users.PermDecide:  "%s is outside the scope whose starts you may approve or reject: %s.",
	users.PermExport:  "%s is outside the scope whose audit log you may export: %s.",
	users.PermAdmin:   "%s is outside the scope you may administer: %s.",
	users.PermRefresh: "%s is outside the scope you may refresh: %s.",
}

// roleNames are an actor's roles as Roles says them ("viewer and
// operator"), said in the reader's language in a refusal.
type roleNames string

func (r roleNames) String() string { return string(r) }

// In names each role, and the "and" between them, in l's language.
func (r roleNames) In(l *i18n.Localizer) string {
	names := strings.Split(string(r), " and ")
	for i, n := range names {
		names[i] = l.Sentence(n)
	}
	return strings.Join(names, l.Sentence(" and "))
}

// May is the rights check: whether a may do p to inst, as inst is described
// (pass ECS's fresh description when acting). An instance none of a's grants
// covers is not found (it is not listed for a either); one a sees but may
// not act on is forbidden, in words naming the grants' scopes.
func May(a Actor, p users.Perm, inst ecs.Instance) Answer {
	t := inst.Target()
	if a.Scopes(p).Covers(t) {
		return yes
	}
	if p == users.PermView || !a.Scopes(users.PermView).Covers(t) {
		return no(apperr.NotFound, "No instance %s in %s that you may see.", inst.ID, inst.Region)
	}
	held := a.Scopes(p)
	if len(held) == 0 {
		x := no(apperr.Forbidden, roleRefusals[p], roleNames(a.Roles()))
		x.ByRole = true
		return x
	}
	words := make([]string, len(held))
	for i, s := range held {
		words[i] = s.Words()
	}
	return no(apperr.Forbidden, scopeRefusals[p], describe(inst), strings.Join(words, "; or "))
}

// describe names an instance with what a scope matches: its region, tags
// and resource group.
func describe(inst ecs.Instance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s", inst.ID, inst.Region)
	for _, t := range inst.TagList() {
		b.WriteString(", " + t)
	}
	if inst.ResourceGroupID != "" {
		b.WriteString(", " + inst.ResourceGroupID)
	}
	b.WriteString(")")
	return b.String()
}

// Sees reports whether a may see inst (some grant covers it).
func Sees(a Actor, inst ecs.Instance) bool { return May(a, users.PermView, inst).OK }
