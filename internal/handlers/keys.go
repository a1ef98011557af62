package handlers

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"ecsdash/internal/config"
	"ecsdash/internal/secrets"
)

// LoadSessionKeys reads the key file (one "hashkey-hex encryptionkey-hex"
// pair a line; the first signs, all verify), creating it with mode 0600 and
// one fresh pair when it is missing.
func LoadSessionKeys(path string) ([][]byte, error) {
	b, err := secrets.Load(path, "session key file", func() []byte {
		return []byte(hex.EncodeToString(randomBytes(64)) + " " + hex.EncodeToString(randomBytes(32)) + "\n")
	})
	if err != nil {
		return nil, err
	}
	var pairs [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Fields(line)
		if len(parts) != 2 {
			return nil, fmt.Errorf("session key file %s line %d: want two hex keys", path, n)
		}
		hk, err1 := hex.DecodeString(parts[0])
		ek, err2 := hex.DecodeString(parts[1])
		if err1 != nil || err2 != nil || len(hk) < 32 || (len(ek) != 16 && len(ek) != 24 && len(ek) != 32) {
			return nil, fmt.Errorf("session key file %s line %d: a hash key of at least 32 bytes and an AES key of 16, 24 or 32 bytes, in hex", path, n)
		}
		pairs = append(pairs, hk, ek)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("session key file %s holds no keys", path)
	}
	return pairs, nil
}

// NewCookieStore sets every cookie option explicitly: gorilla/sessions'
// defaults are not ours.
func NewCookieStore(cfg *config.Config, keys [][]byte) *sessions.CookieStore {
	s := sessions.NewCookieStore(keys...)
	s.Options = &sessions.Options{
		Path:     cfg.BasePath(),
		HttpOnly: true,
		Secure:   cfg.SecureCookies(),
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(cfg.SessionLifetime / time.Second),
	}
	if cfg.CrossSiteCookies {
		s.Options.SameSite = http.SameSiteNoneMode
		s.Options.Partitioned = true
	}
	s.MaxAge(s.Options.MaxAge)
	for _, c := range s.Codecs {
		if sc, ok := c.(*securecookie.SecureCookie); ok {
			sc.SetSerializer(sessionCodec{})
		}
	}
	return s
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return b
}

// randomToken is 24 random bytes in URL-safe base64 (32 characters), made
// with one allocation: every request gets one or two.
func randomToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
