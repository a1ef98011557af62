package handlers

// The one-time form tokens' shape; which were used is the books' (books.TokenBook).
const (
	maxFormToken   = 64 // we issue 32 characters; a longer one is not ours
	formTokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// validFormToken reports whether t could be a token we issued.
func validFormToken(t string) bool {
	if len(t) == 0 || len(t) > maxFormToken {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !containsByte(formTokenChars, t[i]) {
			return false
		}
	}
	return true
}

func containsByte(s string, b byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return true
		}
	}
	return false
}
