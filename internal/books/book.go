// Package books keeps what the sign-in throttle counts and the one-time
// form tokens used, with the throttle's rules (Throttle): in this process's
// memory on a single-process store, in the database (login_failures,
// claims) when replicas share it.
package books

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"ecsdash/internal/audit"
	"ecsdash/internal/db"
)

// Book keeps what the login throttle counts and the claims it makes (a
// paced attempt, a refusal already recorded), and, on a shared store, the
// one-time form tokens.
type Book interface {
	// failures counts key's failures after since.
	failures(ctx context.Context, key string, since time.Time) (int, error)
	// fail records a failure of each key at now.
	fail(ctx context.Context, keys []string, now time.Time) error
	// unfail drops one failure of each key made at at: an attempt reserved
	// as a failure that turned out to be none.
	unfail(ctx context.Context, keys []string, at time.Time) error
	// forget drops key's failures and its claim.
	forget(ctx context.Context, key string) error
	// claim records key at now unless it was claimed less than every ago,
	// and reports whether it did: of several claims at once, one wins.
	claim(ctx context.Context, key string, now time.Time, every time.Duration) (bool, error)
}

// MemoryBook is a Book in this process's memory (a single-process store).
// A spray of made-up names cannot grow it past maxThrottleKeys names: past
// the bound, new names are not tracked (the per-address limit still holds
// for them) and new refusals are not recorded again.
type MemoryBook struct {
	mu      sync.Mutex
	failed  map[string][]time.Time
	claimed map[string]time.Time
}

func (m *MemoryBook) init() {
	if m.failed == nil {
		m.failed, m.claimed = map[string][]time.Time{}, map[string]time.Time{}
	}
}

// recent keeps key's failures after since and counts them; m.mu is held.
func (m *MemoryBook) recent(key string, since time.Time) int {
	var kept []time.Time
	for _, f := range m.failed[key] {
		if f.After(since) {
			kept = append(kept, f)
		}
	}
	if len(kept) == 0 {
		delete(m.failed, key) // asking about a name must not store it
	} else {
		m.failed[key] = kept
	}
	return len(kept)
}

func (m *MemoryBook) failures(_ context.Context, key string, since time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	return m.recent(key, since), nil
}

func (m *MemoryBook) fail(_ context.Context, keys []string, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if len(m.failed) >= maxThrottleKeys {
		for k := range m.failed {
			m.recent(k, now.Add(-throttleWindow))
		}
	}
	for _, k := range keys {
		if _, known := m.failed[k]; known || len(m.failed) < maxThrottleKeys || strings.HasPrefix(k, "ip:") {
			m.failed[k] = append(m.failed[k], now)
		}
	}
	return nil
}

func (m *MemoryBook) unfail(_ context.Context, keys []string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	for _, k := range keys {
		fs := m.failed[k]
		for i := len(fs) - 1; i >= 0; i-- {
			if fs[i].Equal(at) {
				fs = append(fs[:i:i], fs[i+1:]...)
				break
			}
		}
		if len(fs) == 0 {
			delete(m.failed, k)
		} else {
			m.failed[k] = fs
		}
	}
	return nil
}

func (m *MemoryBook) forget(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.failed, key)
	delete(m.claimed, key)
	return nil
}

func (m *MemoryBook) claim(_ context.Context, key string, now time.Time, every time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if at, ok := m.claimed[key]; ok && now.Sub(at) < every {
		return false, nil
	}
	if _, known := m.claimed[key]; !known && len(m.claimed) >= maxThrottleKeys {
		for k, at := range m.claimed {
			if now.Sub(at) >= throttleWindow {
				delete(m.claimed, k)
			}
		}
		if len(m.claimed) >= maxThrottleKeys && strings.HasPrefix(key, "noted:") {
			return false, nil // past the bound: the address's own refusal was recorded already
		}
	}
	m.claimed[key] = now
	return true, nil
}

// DBBook is a Book in the database, shared by every replica on it. Rows
// older than what any rule looks back on are swept (sweep).
type DBBook struct {
	w *db.Pool
}

// NewDBBook is the book kept in w's tables.
func NewDBBook(w *db.Pool) *DBBook { return &DBBook{w: w} }

func stamp(t time.Time) string { return t.UTC().Format(audit.TimeFormat) }

// storedKey is how a key is stored: a digest, so a made-up name of any bytes
// (PostgreSQL refuses NUL and invalid UTF-8 in text) is a key of 64
// characters.
func storedKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func (b *DBBook) failures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := b.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM login_failures WHERE key = ? AND at > ?", storedKey(key), stamp(since)).Scan(&n)
	return n, err
}

func (b *DBBook) fail(ctx context.Context, keys []string, now time.Time) error {
	if len(keys) == 0 {
		return nil
	}
	q := "INSERT INTO login_failures (key, at) VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?), ", len(keys)), ", ")
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, storedKey(k), stamp(now))
	}
	_, err := b.w.ExecContext(ctx, q, args...)
	return err
}

func (b *DBBook) unfail(ctx context.Context, keys []string, at time.Time) error {
	row := b.w.Dialect.RowID() // to drop one of several alike
	for _, k := range keys {
		q := "DELETE FROM login_failures WHERE " + row + " IN (SELECT " + row + " FROM login_failures WHERE key = ? AND at = ? LIMIT 1)"
		if _, err := b.w.ExecContext(ctx, q, storedKey(k), stamp(at)); err != nil {
			return err
		}
	}
	return nil
}

func (b *DBBook) forget(ctx context.Context, key string) error {
	if _, err := b.w.ExecContext(ctx, "DELETE FROM login_failures WHERE key = ?", storedKey(key)); err != nil {
		return err
	}
	_, err := b.w.ExecContext(ctx, "DELETE FROM claims WHERE key = ?", storedKey(key))
	return err
}

// claim is one conditional upsert: of replicas claiming at once, the
// database lets one row change.
func (b *DBBook) claim(ctx context.Context, key string, now time.Time, every time.Duration) (bool, error) {
	res, err := b.w.ExecContext(ctx, `INSERT INTO claims (key, at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET at = excluded.at WHERE claims.at <= ?`, storedKey(key), stamp(now), stamp(now.Add(-every)))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Sweep deletes failures and claims older than any rule looks back on.
func (b *DBBook) Sweep(ctx context.Context, now time.Time) error {
	if _, err := b.w.ExecContext(ctx, "DELETE FROM login_failures WHERE at <= ?", stamp(now.Add(-throttleWindow))); err != nil {
		return fmt.Errorf("sweep sign-in failures: %w", err)
	}
	if _, err := b.w.ExecContext(ctx, "DELETE FROM claims WHERE at <= ?", stamp(now.Add(-max(formTokenTTL, throttleWindow)))); err != nil {
		return fmt.Errorf("sweep claims: %w", err)
	}
	return nil
}

// TokenBook remembers one-time form tokens: UsedTokens in memory on a
// single-process store, the database's claims when replicas share it.
type TokenBook interface {
	// Use reports whether key is fresh, and reserves it.
	Use(ctx context.Context, key string, now time.Time) (bool, error)
	// Release forgets a reservation: the start it guarded was refused
	// before anything was sent, so the same form may be sent again.
	Release(ctx context.Context, key string)
}

func (b *DBBook) Use(ctx context.Context, key string, now time.Time) (bool, error) {
	return b.claim(ctx, "token:"+key, now, formTokenTTL)
}

func (b *DBBook) Release(ctx context.Context, key string) { b.forget(ctx, "token:"+key) }
