package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"ecsdash/internal/apperr"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// An API token reads "ecsd_" + its id + "_" + its secret. The id is public
// (listed, audited, named on /tokens) and finds the token's row; the
// secret is never stored, only its SHA-256, compared in constant time. A
// token is 32 random bytes of secret: a fast hash is enough, unlike a
// password.
const tokenPrefix = "ecsd_"

// Token is one API token as stored: never its secret.
type Token struct {
	ID        string
	UserID    int64
	User      string // the user's name
	Name      string // the label its owner gave it
	ReadOnly  bool   // may read, never start or check
	CreatedBy string // who created it ("cli" for the command)
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: live
}

// Live reports whether the token may be used at now.
func (t Token) Live(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// ErrBadToken is the one answer for a malformed, unknown, wrong, revoked or
// expired token and for a disabled user's: a caller cannot tell them apart.
var ErrBadToken = errors.New("users: the API token is not valid")

// ErrSSOToken refuses a token for a single sign-on user. Such a user's
// rights come from the proxy's groups at each sign-in (SSORights), which a
// token request does not carry: the stored role is only a placeholder, so a
// token would act with rights the user may not hold. Tokens that such a
// user already has (from before this rule) fail at authentication.
var ErrSSOToken = errors.New("users: single sign-on users cannot have API tokens: their rights come from the sign-in proxy's groups, which an API request does not carry")

// MaxTokenName is the longest label a token may carry, in characters.
const MaxTokenName = 64

// TokenOptions are what a new token may carry.
type TokenOptions struct {
	Name      string
	ReadOnly  bool
	ExpiresIn time.Duration // 0: never
	CreatedBy string
}

const tokenCols = `t.id, t.user_id, u.name, t.name, t.read_only, t.created_by, t.created_at, t.expires_at, t.revoked_at`

// scanToken reads tokenCols, then any extra columns into extra.
func scanToken(s interface{ Scan(...any) error }, extra ...any) (Token, error) {
	var t Token
	var created, expires, revoked string
	if err := s.Scan(append([]any{&t.ID, &t.UserID, &t.User, &t.Name, &t.ReadOnly, &t.CreatedBy, &created, &expires, &revoked}, extra...)...); err != nil {
		return Token{}, err
	}
	t.CreatedAt, _ = time.Parse(time.RFC3339, created) // written by us in this format
	if expires != "" {
		t.ExpiresAt, _ = time.Parse(time.RFC3339, expires)
	}
	if revoked != "" {
		t.RevokedAt, _ = time.Parse(time.RFC3339, revoked)
	}
	return t, nil
}

// CreateToken makes a token for the user called name and returns it with
// its secret text, which is shown once and never again.
func (s *Store) CreateToken(ctx context.Context, name string, o TokenOptions) (Token, string, error) {
	u, err := s.ByName(ctx, name)
	if err != nil {
		return Token{}, "", err
	}
	if u.Source != SourceLocal {
		return Token{}, "", ErrSSOToken
	}
	o.Name = strings.TrimSpace(o.Name)
	if n := utf8.RuneCountInString(o.Name); n > MaxTokenName || strings.ContainsFunc(o.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Token{}, "", apperr.New(apperr.Invalid, "A token's name is at most %d characters of text.", MaxTokenName)
	}
	if o.ExpiresIn < 0 {
		return Token{}, "", apperr.New(apperr.Invalid, "A token's lifetime must be positive.")
	}
	idb, secret := make([]byte, 6), make([]byte, 32)
	if _, err := rand.Read(idb); err != nil {
		return Token{}, "", err
	}
	if _, err := rand.Read(secret); err != nil {
		return Token{}, "", err
	}
	id := hex.EncodeToString(idb)
	text := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(secret)
	now := s.now().UTC().Truncate(time.Second)
	expires := ""
	if o.ExpiresIn > 0 {
		expires = now.Add(o.ExpiresIn).Format(time.RFC3339)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO api_tokens (id, user_id, name, secret_hash, read_only, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, u.ID, o.Name, hashSecret(text), o.ReadOnly, o.CreatedBy, now.Format(time.RFC3339), expires); err != nil {
		return Token{}, "", err
	}
	t, err := s.TokenByID(ctx, id)
	return t, text, err
}

func hashSecret(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// TokenByID returns the token with id, live or not.
func (s *Store) TokenByID(ctx context.Context, id string) (Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, "SELECT "+tokenCols+" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	return t, err
}

// Tokens returns the tokens of the user with userID, or every user's when
// userID is 0, newest first.
func (s *Store) Tokens(ctx context.Context, userID int64) ([]Token, error) {
	q, args := "SELECT "+tokenCols+" FROM api_tokens t JOIN users u ON u.id = t.user_id", []any{}
	if userID != 0 {
		q, args = q+" WHERE t.user_id = ?", append(args, userID)
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY t.created_at DESC, t.id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken ends the token with id from the next request on. Revoking a
// revoked token is ErrNotFound: nothing changed.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = ''", s.now().UTC().Format(time.RFC3339), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// AuthenticateToken returns the live token a request presented, its user
// and the user's grants, as they are now (Current). Every failure is
// ErrBadToken, but for a database that did not answer and for a live token
// of a single sign-on user (ErrSSOToken: its rights cannot be known).
func (s *Store) AuthenticateToken(ctx context.Context, text string) (Token, User, []Grant, error) {
	rest, ok := strings.CutPrefix(text, tokenPrefix)
	id, secret, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(id) != 12 || len(secret) != 43 {
		return Token{}, User{}, nil, ErrBadToken
	}
	var want string
	t, err := scanToken(s.r.QueryRowContext(ctx, "SELECT "+tokenCols+", t.secret_hash FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?", id), &want)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, User{}, nil, ErrBadToken
	}
	if err != nil {
		return Token{}, User{}, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashSecret(text)), []byte(want)) != 1 || !t.Live(s.now()) {
		return Token{}, User{}, nil, ErrBadToken
	}
	u, grants, err := s.Current(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
		return Token{}, User{}, nil, ErrBadToken
	}
	if err != nil {
		return Token{}, User{}, nil, err
	}
	if u.Source != SourceLocal {
		return Token{}, User{}, nil, ErrSSOToken
	}
	return t, u, grants, nil
}
