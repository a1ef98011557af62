package ecs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// accounts is a Client's several accounts (--accounts): one Client each,
// and which account holds which instance, learnt from the listings (an
// instance id is unique across accounts).
type accounts struct {
	list   []*Client
	holder sync.Map // instance id -> *Client

	mu       sync.Mutex
	lastGood map[string][]Instance // account + "/" + region -> its last listing
	failed   map[string]error      // account + "/" + region -> why its last listing failed
}

func newMulti(opts Options) (*Client, error) {
	m := &accounts{lastGood: map[string][]Instance{}, failed: map[string]error{}}
	regions := map[string]bool{}
	for _, o := range opts.Accounts {
		if o.Timeout == 0 {
			o.Timeout = opts.Timeout
		}
		if o.Observe == nil {
			o.Observe = opts.Observe
		}
		if o.Sleep == nil {
			o.Sleep = opts.Sleep
		}
		if o.Endpoint == "" {
			o.Endpoint = opts.Endpoint
		}
		if o.STS == nil {
			o.STS = opts.STS
		}
		c, err := New(o)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", o.Account, err)
		}
		m.list = append(m.list, c)
		for _, r := range c.regions {
			regions[r] = true
		}
	}
	c := &Client{opts: opts, multi: m}
	for r := range regions {
		c.regions = append(c.regions, r)
	}
	sort.Strings(c.regions)
	return c, nil
}

// Accounts names the configured accounts, in the file's order; nil with the
// one account of the credential chain.
func (c *Client) Accounts() []string {
	if c.multi == nil {
		return nil
	}
	var out []string
	for _, a := range c.multi.list {
		out = append(out, a.opts.Account)
	}
	return out
}

// AccountErrors says, per account whose last listing of some region
// failed, why (the first such region's error).
func (c *Client) AccountErrors() map[string]error {
	if c.multi == nil {
		return nil
	}
	m := c.multi
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]error{}
	keys := make([]string, 0, len(m.failed))
	for k := range m.failed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, a := range m.list {
			if name := a.opts.Account; k[:min(len(k), len(name)+1)] == name+"/" {
				if _, ok := out[name]; !ok {
					out[name] = m.failed[k]
				}
			}
		}
	}
	return out
}

func (m *accounts) hasRegion(region string) bool {
	return slices.ContainsFunc(m.list, func(a *Client) bool { return a.HasRegion(region) })
}

func (m *accounts) in(region string) []*Client {
	var out []*Client
	for _, a := range m.list {
		if a.HasRegion(region) {
			out = append(out, a)
		}
	}
	return out
}

// listRegion lists region in every account that has it, at once. An
// account that fails keeps its last good list and is named by
// AccountErrors; the region fails only when every account does.
func (m *accounts) listRegion(ctx context.Context, region string) ([]Instance, int, error) {
	accts := m.in(region)
	type result struct {
		a     *Client
		list  []Instance
		calls int
		err   error
	}
	results := make([]result, len(accts))
	var wg sync.WaitGroup
	for i, a := range accts {
		wg.Go(func() {
			list, calls, err := a.ListRegion(ctx, region)
			results[i] = result{a, list, calls, err}
		})
	}
	wg.Wait()
	var all []Instance
	var errs []error
	calls := 0
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range results {
		calls += r.calls
		key := r.a.opts.Account + "/" + region
		if r.err != nil {
			m.failed[key] = r.err
			errs = append(errs, fmt.Errorf("account %s: %w", r.a.opts.Account, r.err))
			all = append(all, m.lastGood[key]...)
			continue
		}
		delete(m.failed, key)
		m.lastGood[key] = r.list
		for _, in := range r.list {
			m.holder.Store(in.ID, r.a)
		}
		all = append(all, r.list...)
	}
	if len(errs) == len(results) && len(errs) > 0 {
		return nil, calls, errors.Join(errs...)
	}
	return all, calls, nil
}

// owner is the account that holds the instance: known from a listing, or
// found by asking each account of the region.
func (m *accounts) owner(ctx context.Context, region, id string) (*Client, error) {
	if a, ok := m.holder.Load(id); ok {
		return a.(*Client), nil
	}
	if _, err := m.describe(ctx, region, id); err != nil {
		return nil, err
	}
	a, _ := m.holder.Load(id)
	return a.(*Client), nil
}

// ownerOfAll is the one account that holds every instance of ids; a
// StartInstances call cannot span accounts.
func (m *accounts) ownerOfAll(ctx context.Context, region string, ids []string) (*Client, error) {
	var first *Client
	for _, id := range ids {
		a, err := m.owner(ctx, region, id)
		if err != nil {
			return nil, err
		}
		if first != nil && a != first {
			return nil, &Error{Kind: KindInvalid, Code: "Dashboard.BatchAccounts", Summary: "One StartInstances call starts instances of one account only."}
		}
		first = a
	}
	return first, nil
}

func (m *accounts) describe(ctx context.Context, region, id string) (Instance, error) {
	if a, ok := m.holder.Load(id); ok {
		return a.(*Client).Describe(ctx, region, id)
	}
	// Not found in one account says nothing of the others: another
	// failure (an account that cannot be asked) wins over not found.
	var notFound, other error
	for _, a := range m.in(region) {
		inst, err := a.Describe(ctx, region, id)
		var e *Error
		switch {
		case err == nil:
			m.holder.Store(id, a)
			return inst, nil
		case errors.As(err, &e) && e.Kind == KindNotFound:
			notFound = err
		case other == nil:
			other = err
		}
	}
	switch {
	case other != nil:
		return Instance{}, other
	case notFound != nil:
		return Instance{}, notFound
	}
	_, _, e := (&Client{}).pooled(region)
	return Instance{}, e
}

// byOwner splits ids by the account known to hold them; unknown ones go
// to every account of the region.
func (m *accounts) byOwner(region string, ids []string) map[*Client][]string {
	out := map[*Client][]string{}
	for _, id := range ids {
		if a, ok := m.holder.Load(id); ok {
			out[a.(*Client)] = append(out[a.(*Client)], id)
			continue
		}
		for _, a := range m.in(region) {
			out[a] = append(out[a], id)
		}
	}
	return out
}

func (m *accounts) statuses(ctx context.Context, region string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	for a, group := range m.byOwner(region, ids) {
		got, err := a.Statuses(ctx, region, group)
		if err != nil {
			return nil, err
		}
		for id, st := range got {
			out[id] = st
		}
	}
	return out, nil
}

func (m *accounts) describeMany(ctx context.Context, region string, ids []string) (map[string]Instance, error) {
	out := map[string]Instance{}
	for a, group := range m.byOwner(region, ids) {
		got, err := a.DescribeMany(ctx, region, group)
		if err != nil {
			return nil, err
		}
		for id, in := range got {
			m.holder.Store(id, a)
			out[id] = in
		}
	}
	return out, nil
}
