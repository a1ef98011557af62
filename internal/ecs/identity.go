package ecs

import (
	"context"
	"errors"
	"sync"

	"github.com/aliyun/credentials-go/credentials"
)

// Identity is who a call to ECS was made as: what ActionTrail records of
// it, and what the audit log notes beside it. Never a secret or a token.
type Identity struct {
	Account     string // the --accounts name; "" with the one account of the credential chain
	AccountID   string // the account's UID, from the role ARN
	SessionName string // RoleSessionName of the assumed role; "" for an account's own keys
	AccessKeyID string // STS.… for an assumed role
}

type sessionKey struct{}

type session struct {
	name string
	mu   sync.Mutex
	who  *Identity
}

// As makes the calls under ctx be made for user: in a role account, with
// the role assumed under SessionName(user), so that ActionTrail names the
// person. The Identity is filled in as the client signs (before a start's
// intent is recorded), for the audit log.
func As(ctx context.Context, user string) (context.Context, *Identity) {
	s := &session{name: SessionName(user), who: &Identity{}}
	return context.WithValue(ctx, sessionKey{}, s), s.who
}

// sessionOf is the RoleSessionName for ctx's calls.
func sessionOf(ctx context.Context) string {
	if s, ok := ctx.Value(sessionKey{}).(*session); ok {
		return s.name
	}
	return ListingSession
}

// tell gives the caller of As the identity a call is made with.
func tell(ctx context.Context, id Identity) {
	if s, ok := ctx.Value(sessionKey{}).(*session); ok {
		s.mu.Lock()
		*s.who = id
		s.mu.Unlock()
	}
}

func asError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Kind: KindUnavailable, Code: "Dashboard.STSUnavailable", Summary: "The role could not be assumed: " + err.Error(),
		Action: "Try again in a moment.", Err: err}
}

// noCredential stands in the SDK's config of a role account, whose calls
// all sign with a session's credentials instead.
type noCredential struct{}

var errNoCredential = errors.New("a role account signs with its session's credentials")

func (noCredential) GetAccessKeyId() (*string, error)     { return nil, errNoCredential }
func (noCredential) GetAccessKeySecret() (*string, error) { return nil, errNoCredential }
func (noCredential) GetSecurityToken() (*string, error)   { return nil, errNoCredential }
func (noCredential) GetBearerToken() *string              { return nil }
func (noCredential) GetType() *string                     { s := "none"; return &s }
func (noCredential) GetCredential() (*credentials.CredentialModel, error) {
	return nil, errNoCredential
}
