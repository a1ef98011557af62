package ecssim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// authError is a refused signature, answered with ECS's code and status.
type authError struct {
	status  int
	code    string
	message string
}

// verify checks an ACS3-HMAC-SHA256 (V3) signature the way ECS does: it
// rebuilds the canonical request from what arrived on the wire and compares
// HMACs; it also checks the body hash, the date's skew and nonce reuse.
func (s *Server) verify(r *http.Request, body []byte) *authError {
	auth := r.Header.Get("Authorization")
	const algo = "ACS3-HMAC-SHA256"
	if !strings.HasPrefix(auth, algo+" ") {
		return &authError{400, "IncompleteSignature", "The request signature does not conform to Aliyun standards (ACS3-HMAC-SHA256 expected)."}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algo+" "), ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = v
		}
	}
	ak, signedList, sig := fields["Credential"], fields["SignedHeaders"], fields["Signature"]
	if ak == "" || signedList == "" || sig == "" {
		return &authError{400, "IncompleteSignature", "The Authorization header lacks Credential, SignedHeaders or Signature."}
	}
	secret, ok := s.secret(ak)
	if !ok {
		return &authError{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}

	sum := sha256.Sum256(body)
	payload := hex.EncodeToString(sum[:])
	if got := r.Header.Get("x-acs-content-sha256"); got != payload {
		return &authError{400, "IncompleteSignature", "x-acs-content-sha256 does not match the request body."}
	}

	signed := strings.Split(signedList, ";")
	if !sort.StringsAreSorted(signed) {
		return &authError{400, "IncompleteSignature", "SignedHeaders must be sorted."}
	}
	must := map[string]bool{"host": true}
	for name := range r.Header {
		if l := strings.ToLower(name); strings.HasPrefix(l, "x-acs-") || l == "content-type" {
			must[l] = true
		}
	}
	for _, h := range signed {
		delete(must, h)
	}
	if len(must) > 0 {
		return &authError{400, "IncompleteSignature", "Every x-acs-* header, host and content-type must be signed."}
	}
	var canonHeaders strings.Builder
	for _, h := range signed {
		v := r.Header.Values(h)
		if h == "host" {
			v = []string{r.Host}
		}
		vals := make([]string, len(v))
		for i := range v {
			vals[i] = strings.TrimSpace(v[i])
		}
		sort.Strings(vals)
		fmt.Fprintf(&canonHeaders, "%s:%s\n", h, strings.Join(vals, ","))
	}

	canonical := strings.Join([]string{r.Method, canonicalURI(r.URL.Path), canonicalQuery(r.URL.Query()),
		canonHeaders.String(), signedList, payload}, "\n")
	crSum := sha256.Sum256([]byte(canonical))
	toSign := algo + "\n" + hex.EncodeToString(crSum[:])
	mac := hmac.New(sha256.New, []byte(secret))
	io.WriteString(mac, toSign)
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(sig))) {
		return &authError{400, "SignatureDoesNotMatch", "The request signature does not conform to Aliyun standards."}
	}

	date, err := time.Parse("2006-01-02T15:04:05Z", r.Header.Get("x-acs-date"))
	if err != nil {
		return &authError{400, "MissingTimestamp", "x-acs-date is missing or not yyyy-MM-ddTHH:mm:ssZ."}
	}
	now := s.now()
	if d := now.Sub(date); d > 15*time.Minute || d < -15*time.Minute {
		return &authError{400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	nonce := r.Header.Get("x-acs-signature-nonce")
	if nonce == "" {
		return &authError{400, "MissingSignatureNonce", "x-acs-signature-nonce is mandatory."}
	}
	if !s.useNonce(nonce, now) {
		return &authError{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	return s.checkToken(ak, r.Header.Get("x-acs-security-token"), now)
}

// useNonce records a nonce; it returns false when it was seen within the
// window in which the date check would still accept the request.
func (s *Server) useNonce(nonce string, now time.Time) bool {
	s.nonceMu.Lock()
	defer s.nonceMu.Unlock()
	if now.Sub(s.noncePurged) > time.Minute {
		for k, t := range s.nonces {
			if now.Sub(t) > 30*time.Minute {
				delete(s.nonces, k)
			}
		}
		s.noncePurged = now
	}
	if _, seen := s.nonces[nonce]; seen {
		return false
	}
	s.nonces[nonce] = now
	return true
}

func canonicalURI(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// canonicalQuery sorts the parameters and encodes names and values per RFC
// 3986. The SDK sends the query with url.Values.Encode (space as "+"), so the
// values are decoded first and encoded again here.
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(rfc3986(k))
			b.WriteByte('=')
			b.WriteString(rfc3986(v))
		}
	}
	return b.String()
}

func rfc3986(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// verifyRPC checks an RPC (V1, HMAC-SHA1) signature the way ECS does: the
// parameters but Signature, sorted and RFC 3986-encoded, joined as
// METHOD&%2F&encoded-query, signed with HMAC-SHA1 under "secret&", base64.
func (s *Server) verifyRPC(method string, q url.Values) *authError {
	sig := q.Get("Signature")
	if sig == "" {
		return &authError{400, "IncompleteSignature", "The request is not signed: no Authorization header (ACS3-HMAC-SHA256) and no Signature parameter (HMAC-SHA1)."}
	}
	if m := q.Get("SignatureMethod"); m != "HMAC-SHA1" {
		return &authError{400, "InvalidSignatureMethod", fmt.Sprintf("Specified signature method %q is not supported (HMAC-SHA1).", m)}
	}
	if v := q.Get("SignatureVersion"); v != "1.0" {
		return &authError{400, "InvalidSignatureVersion", fmt.Sprintf("Specified signature version %q is not valid (1.0).", v)}
	}
	ak := q.Get("AccessKeyId")
	if ak == "" {
		return &authError{400, "MissingAccessKeyId", "AccessKeyId is mandatory for this action."}
	}
	secret, ok := s.secret(ak)
	if !ok {
		return &authError{404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."}
	}
	params := url.Values{}
	for k, v := range q {
		if k != "Signature" {
			params[k] = v
		}
	}
	toSign := method + "&" + rfc3986("/") + "&" + rfc3986(canonicalQuery(params))
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	io.WriteString(mac, toSign)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return &authError{400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation."}
	}
	date, err := time.Parse("2006-01-02T15:04:05Z", q.Get("Timestamp"))
	if err != nil {
		return &authError{400, "MissingTimestamp", "Timestamp is missing or not yyyy-MM-ddTHH:mm:ssZ."}
	}
	now := s.now()
	if d := now.Sub(date); d > 15*time.Minute || d < -15*time.Minute {
		return &authError{400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."}
	}
	nonce := q.Get("SignatureNonce")
	if nonce == "" {
		return &authError{400, "MissingSignatureNonce", "SignatureNonce is mandatory."}
	}
	if !s.useNonce(nonce, now) {
		return &authError{400, "SignatureNonceUsed", "Specified signature nonce was used already."}
	}
	return s.checkToken(ak, q.Get("SecurityToken"), now)
}

// stsToken is a security token the simulator issued.
type stsToken struct {
	accessKeyID string
	expires     time.Time
}

// stsPrefix starts every temporary AccessKey id, as with STS.
const stsPrefix = "STS."

// IssueSTS issues temporary credentials valid for ttl, as STS AssumeRole
// does: an AccessKey id, its secret and the security token that must come
// with every call signed by them.
func (s *Server) IssueSTS(ttl time.Duration) (id, secret, token string) {
	id = stsPrefix + randomText(20)
	secret = randomText(30)
	token = "CAIS" + randomText(60)
	s.credMu.Lock()
	defer s.credMu.Unlock()
	s.credentials[id] = secret
	s.tokens[token] = stsToken{accessKeyID: id, expires: s.now().Add(ttl)}
	return id, secret, token
}

func (s *Server) secret(ak string) (string, bool) {
	s.credMu.RLock()
	defer s.credMu.RUnlock()
	secret, ok := s.credentials[ak]
	return secret, ok
}

// checkToken checks the security token a call carries: temporary
// credentials need their own, unexpired token; permanent ones need none.
func (s *Server) checkToken(ak, token string, now time.Time) *authError {
	temporary := strings.HasPrefix(ak, stsPrefix)
	if token == "" {
		if temporary {
			return &authError{400, "MissingSecurityToken", "SecurityToken is mandatory for temporary credentials (an AccessKey id that starts with STS.)."}
		}
		return nil
	}
	s.credMu.RLock()
	t, known := s.tokens[token]
	s.credMu.RUnlock()
	switch {
	case !known:
		return &authError{400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed."}
	case t.accessKeyID != ak:
		return &authError{400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey."}
	case !now.Before(t.expires):
		return &authError{400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired."}
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

func randomText(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := randomBytes(n)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
