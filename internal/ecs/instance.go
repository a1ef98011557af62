package ecs

import (
	"maps"
	"slices"
	"strings"
	"time"

	"ecsdash/internal/i18n"
	"ecsdash/internal/scope"
)

// LockReasons are the operation locks' reasons DescribeInstances documents
// (OperationLocks.LockReason): a page says each in words.
var LockReasons = []string{"financial", "security", "recycling", "dedicatedhostfinancial", "refunded"}

// Instance is what the dashboard knows of one ECS instance.
type Instance struct {
	ID                   string
	Name                 string
	Type                 string // e.g. ecs.g7.large
	Family               string // e.g. ecs.g7, lower case
	Status               string // Pending, Running, Starting, Stopping, Stopped
	Region               string
	Zone                 string
	ChargeType           string // PrePaid, PostPaid
	ExpiredTime          time.Time
	LockReasons          []string // lower case: financial, security, recycling, …
	LockNotes            []string // ECS's LockMsg of the locks that carry one
	PrivateIPs           []string
	PublicIPs            []string
	LocalStorageAmount   int
	LocalStorageCapacity int64 // GiB
	// StoppedMode is how a Stopped instance was stopped: KeepCharging,
	// StopCharging (economical mode) or Not-applicable (local-disk families).
	StoppedMode     string
	Tags            map[string]string // ECS's tags, key to value
	ResourceGroupID string            // rg-…; "" when ECS sends none
	Account         string            // the account's name when several are configured; "" without
}

// Target is the instance as a grant's scope is matched against it.
func (i *Instance) Target() scope.Target {
	return scope.Target{Region: i.Region, ResourceGroup: i.ResourceGroupID, Account: i.Account, Tags: i.Tags}
}

// TagList is the tags as KEY=VALUE, sorted.
func (i *Instance) TagList() []string {
	out := make([]string, 0, len(i.Tags))
	for k, v := range i.Tags {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// Stopped modes ECS reports.
const (
	ModeKeepCharging  = "KeepCharging"
	ModeStopCharging  = "StopCharging"
	ModeNotApplicable = "Not-applicable"
)

// Economical reports a Stopped instance stopped in economical mode: it gave
// its vCPUs and memory back, so a start must find them again.
func (i Instance) Economical() bool {
	return i.Status == StatusStopped && strings.EqualFold(i.StoppedMode, ModeStopCharging)
}

// EconomicalWords says what economical mode means for a start.
const EconomicalWords = "Stopped in economical mode: its vCPUs and memory were released, so ECS must find them again. " +
	"The start may fail for lack of stock (then try later, another zone or another type); it comes back with a new public IP, and burstable CPU credits are cleared."

// Equal reports whether two views of an instance show the same.
func (i *Instance) Equal(j *Instance) bool {
	return i.ID == j.ID && i.Name == j.Name && i.Type == j.Type && i.Family == j.Family && i.Status == j.Status &&
		i.Region == j.Region && i.Zone == j.Zone && i.ChargeType == j.ChargeType && i.ExpiredTime.Equal(j.ExpiredTime) &&
		slices.Equal(i.LockReasons, j.LockReasons) && slices.Equal(i.LockNotes, j.LockNotes) && slices.Equal(i.PrivateIPs, j.PrivateIPs) &&
		slices.Equal(i.PublicIPs, j.PublicIPs) && i.LocalStorageAmount == j.LocalStorageAmount &&
		i.LocalStorageCapacity == j.LocalStorageCapacity && i.StoppedMode == j.StoppedMode && maps.Equal(i.Tags, j.Tags) &&
		i.ResourceGroupID == j.ResourceGroupID && i.Account == j.Account
}

// Status values ECS reports.
const (
	StatusStopped  = "Stopped"
	StatusStarting = "Starting"
	StatusRunning  = "Running"
	StatusStopping = "Stopping"
	StatusPending  = "Pending"
)

// HasLock reports whether the instance carries an operation lock with reason
// (compared case-insensitively, as ECS's values vary in case).
func (i Instance) HasLock(reason string) bool {
	return slices.ContainsFunc(i.LockReasons, func(r string) bool { return strings.EqualFold(r, reason) })
}

// SecurityLocked reports a Security Control lock, which forbids starting.
func (i Instance) SecurityLocked() bool { return i.HasLock("security") }

// Expired reports whether ECS will refuse a start for billing: a
// financial lock (ECS sets one when a subscription lapses or the account is
// overdue), or a subscription past its expiry.
func (i Instance) Expired(now time.Time) bool {
	return i.HasLock("financial") || (!i.ExpiredTime.IsZero() && now.After(i.ExpiredTime))
}

// ExpiryDate is the day the subscription expires in loc (UTC when nil),
// "" for none.
func (i Instance) ExpiryDate(loc *time.Location) string {
	if i.ExpiredTime.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return i.ExpiredTime.In(loc).Format("2006-01-02")
}

// ExpiryWords says why an expired instance cannot start, in a few words
// (the day in the reader's zone, named).
func (i Instance) ExpiryWords() i18n.Said {
	if !i.ExpiredTime.IsZero() {
		return i18n.Wordsf("Expired on %s", i18n.Day(i.ExpiredTime))
	}
	return i18n.Word("Locked for billing (financial lock)")
}

// Settled reports whether the status will not change by itself.
func (i Instance) Settled() bool {
	return i.Status == StatusRunning || i.Status == StatusStopped
}

// Families is a set of instance families, such as the local-disk families
// whose Start may initialise local disks.
type Families []string

// Contains reports whether family (e.g. "ecs.d1") is in the set.
func (f Families) Contains(family string) bool {
	return slices.Contains(f, strings.ToLower(family))
}

// FamilyOf derives the family from an instance type when ECS does not send it:
// "ecs.g7.large" -> "ecs.g7".
func FamilyOf(instanceType string) string {
	parts := strings.Split(strings.ToLower(instanceType), ".")
	if len(parts) < 2 {
		return strings.ToLower(instanceType)
	}
	return parts[0] + "." + parts[1]
}
