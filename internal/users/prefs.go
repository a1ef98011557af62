package users

import (
	"context"
	"database/sql"
	"errors"
)

// Prefs is what a user chose for the pages: a language ("" for the
// browser's) and a time zone ("" for UTC). The handlers validate both.
type Prefs struct {
	Lang, Zone string
}

// Prefs returns the user's preferences (the zero Prefs when none were set).
func (s *Store) Prefs(ctx context.Context, userID int64) (Prefs, error) {
	var p Prefs
	err := s.r.QueryRowContext(ctx, "SELECT lang, zone FROM user_prefs WHERE user_id = ?", userID).Scan(&p.Lang, &p.Zone)
	if errors.Is(err, sql.ErrNoRows) {
		return Prefs{}, nil
	}
	return p, err
}

// SetLang remembers the user's language. Unlike an account's changes it
// leaves the epoch alone: choosing a language ends no session.
func (s *Store) SetLang(ctx context.Context, userID int64, lang string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO user_prefs (user_id, lang) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET lang = excluded.lang`, userID, lang)
	return err
}

// SetZone remembers the user's time zone, as SetLang the language.
func (s *Store) SetZone(ctx context.Context, userID int64, zone string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO user_prefs (user_id, zone) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET zone = excluded.zone`, userID, zone)
	return err
}
