// Package idempotency keeps the answers of the API's starts by the
// Idempotency-Key a client sent, in the database: a repeat of the key by the
// same user within Window answers the first request's answer and does
// nothing again, on any replica and across restarts. A repeat while the
// first request still runs waits for its answer.
package idempotency

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"ecsdash/internal/db"
)

// Window is how long a key is remembered.
const Window = 24 * time.Hour

// MaxKey is the longest key accepted, in bytes.
const MaxKey = 255

var (
	// ErrMismatch means the key was used before with another request body.
	ErrMismatch = errors.New("idempotency: the key was used with another request")
	// ErrRunning means the first request with the key did not finish within
	// the repeat's deadline (or its process stopped while it ran).
	ErrRunning = errors.New("idempotency: the first request with this key has not finished")
)

// Answer is a stored response.
type Answer struct {
	Status int
	Body   []byte
}

// Store reads and writes the keys.
type Store struct {
	w, r *db.Pool
	now  func() time.Time
	// Poll is the first wait between looks at a running request's row; it
	// doubles up to a quarter second.
	Poll time.Duration
}

// New returns a Store on the writer w and the reader r.
func New(w, r *db.Pool, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{w: w, r: r, now: now, Poll: 10 * time.Millisecond}
}

const timeFormat = "2006-01-02T15:04:05.000000Z"

// Claim takes the key for a request whose body hashes to bodyHash. It
// returns nil when this request holds the key now and must run, then Finish
// (or Release); else the first request's answer (waiting, within ctx, for a
// request that still runs), ErrMismatch, or ErrRunning.
func (s *Store) Claim(ctx context.Context, userID int64, key, bodyHash string) (*Answer, error) {
	wait := s.Poll
	// ctx bounds the wait for a running first request; each statement is
	// short and runs to its end, so that a claim is never half made.
	wctx := ctx
	ctx = context.WithoutCancel(ctx)
	for {
		now := s.now().UTC()
		cutoff := now.Add(-Window).Format(timeFormat)
		if _, err := s.w.ExecContext(ctx, "DELETE FROM api_idempotency WHERE created_at < ?", cutoff); err != nil {
			return nil, err
		}
		_, err := s.w.ExecContext(ctx, "INSERT INTO api_idempotency (user_id, key, body_hash, created_at) VALUES (?, ?, ?, ?)",
			userID, key, bodyHash, now.Format(timeFormat))
		if err == nil {
			return nil, nil
		}
		if !db.IsUnique(err) {
			return nil, err
		}
		var hash string
		var done bool
		var a Answer
		err = s.w.QueryRowContext(ctx, "SELECT body_hash, done, status, response FROM api_idempotency WHERE user_id = ? AND key = ?",
			userID, key).Scan(&hash, &done, &a.Status, &a.Body)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue // released meanwhile: claim it again
		case err != nil:
			return nil, err
		case hash != bodyHash:
			return nil, ErrMismatch
		case done:
			return &a, nil
		}
		select {
		case <-wctx.Done():
			return nil, ErrRunning
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// Finish stores the answer of the request that holds the key.
func (s *Store) Finish(ctx context.Context, userID int64, key string, a Answer) error {
	_, err := s.w.ExecContext(context.WithoutCancel(ctx), "UPDATE api_idempotency SET done = 1, status = ?, response = ? WHERE user_id = ? AND key = ?",
		a.Status, string(a.Body), userID, key)
	return err
}

// Release gives the key up: the request was refused before anything was
// done, and may be sent again with the same key.
func (s *Store) Release(ctx context.Context, userID int64, key string) error {
	_, err := s.w.ExecContext(context.WithoutCancel(ctx), "DELETE FROM api_idempotency WHERE user_id = ? AND key = ? AND done = 0", userID, key)
	return err
}
