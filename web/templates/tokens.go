package templates

// TokensPage is /tokens: the user's own API tokens, a form for a new one,
// and, right after creating one, its text, shown this once.
type TokensPage struct {
	Page
	Tokens   []TokenRow
	Created  string // the new token's text; "" except on the answer to its creation
	NewID    string
	NewName  string
	Error    string
	NoToken  string // why this user can have no token, in words: no form is offered then
	APIURL   string // the API's base, for the example
	Lifetime []Choice
}

// TokenRow is one token, never its secret.
type TokenRow struct {
	ID, Name         string
	Created, Expires string
	State            string // live, revoked, expired
	ReadOnly         bool
	RevokeURL        string
}

// Choice is one option of a select.
type Choice struct{ Value, Label string }
