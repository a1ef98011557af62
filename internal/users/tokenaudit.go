package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"ecsdash/internal/audit"
)

// Recorder is what a token change needs of the audit log.
type Recorder interface {
	Append(ctx context.Context, e audit.Event) (audit.Event, error)
}

// IssueToken creates a token for the user called name and records it in the
// audit log (action token_create; by carries who did it and from where).
// A token whose record could not be written is revoked at once: no token
// works that the log does not name.
func (s *Store) IssueToken(ctx context.Context, log Recorder, by audit.Event, name string, o TokenOptions) (Token, string, error) {
	t, text, err := s.CreateToken(ctx, name, o)
	if err != nil {
		return Token{}, "", err
	}
	by.Action, by.State, by.Target, by.Detail = audit.ActionTokenCreate, audit.StateSucceeded, t.User, tokenWords(t)
	if _, err := log.Append(ctx, by); err != nil {
		if rerr := s.RevokeToken(context.WithoutCancel(ctx), t.ID); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return Token{}, "", fmt.Errorf("users: the new token was not recorded in the audit log, so it was revoked: %w", err)
	}
	return t, text, nil
}

// RevokeTokenAs ends a token and records it (action token_revoke). The
// record goes first: a revocation is never unrecorded; one that then fails
// is recorded as failed.
func (s *Store) RevokeTokenAs(ctx context.Context, log Recorder, by audit.Event, id string) error {
	t, err := s.TokenByID(ctx, id)
	if err != nil {
		return err
	}
	if !t.RevokedAt.IsZero() {
		return ErrNotFound
	}
	by.Action, by.State, by.Target, by.Detail = audit.ActionTokenRevoke, audit.StateSucceeded, t.User, tokenWords(t)
	if _, err := log.Append(ctx, by); err != nil {
		return fmt.Errorf("users: the revocation could not be recorded in the audit log; the token still works: %w", err)
	}
	if err := s.RevokeToken(ctx, id); err != nil {
		by.State, by.ErrorMessage = audit.StateFailed, "The revocation recorded just before could not be stored; the token still works."
		if _, lerr := log.Append(context.WithoutCancel(ctx), by); lerr != nil {
			err = errors.Join(err, lerr)
		}
		return err
	}
	return nil
}

// tokenWords describes a token for the audit log: its id, name and
// limits, never its secret.
func tokenWords(t Token) string {
	var b strings.Builder
	fmt.Fprintf(&b, "token %s", t.ID)
	if t.Name != "" {
		fmt.Fprintf(&b, " %q", t.Name)
	}
	if t.ReadOnly {
		b.WriteString(", read-only")
	}
	if t.ExpiresAt.IsZero() {
		b.WriteString(", no expiry")
	} else {
		b.WriteString(", expires " + t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return b.String()
}
