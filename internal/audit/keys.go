package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"
)

// The chain's first format is a plain SHA-256 (Hash): anyone who can write
// the database can recompute it. From a marked entry on (action
// ActionChainKeyed), each hash is an HMAC-SHA256 under a key kept outside the
// database, written "hmac-sha256:KEYID:HEX" (KEYID names the key, so keys can
// be rotated); an entry after a keyed one must be keyed too. Entries before
// the mark keep their SHA-256: an upgrade never rewrites history.

// ActionChainKeyed marks where the keyed chain starts (or a new key takes over).
const ActionChainKeyed = "audit_key"

const keyedPrefix = "hmac-sha256:"

// Keys are the audit chain's HMAC keys, read from the key file: one hex key
// a line, the first signs new entries, all verify (rotation: put a new key
// on the first line and keep the old ones below it).
type Keys struct {
	list []auditKey
}

type auditKey struct {
	id     string
	secret []byte
}

// NewKeyFile is the content of a fresh key file: one random key.
func NewKeyFile() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return []byte(hex.EncodeToString(b) + "\n")
}

// ParseKeys reads a key file's content.
func ParseKeys(b []byte) (*Keys, error) {
	k := &Keys{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		secret, err := hex.DecodeString(line)
		if err != nil || len(secret) < 32 {
			return nil, fmt.Errorf("audit key file line %d: want a key of at least 32 bytes in hex", n)
		}
		sum := sha256.Sum256(secret)
		k.list = append(k.list, auditKey{id: hex.EncodeToString(sum[:4]), secret: secret})
	}
	if len(k.list) == 0 {
		return nil, fmt.Errorf("the audit key file holds no key")
	}
	return k, nil
}

// SigningID names the key that signs new entries.
func (k *Keys) SigningID() string { return k.list[0].id }

func (k *Keys) find(id string) []byte {
	for _, x := range k.list {
		if x.id == id {
			return x.secret
		}
	}
	return nil
}

// encode writes the hashed encoding of e: prev_hash and every chained
// field, each length-prefixed. Hash and the keyed hash share it.
func encode(h hash.Hash, e *Event) {
	var n [4]byte
	write := func(f string) {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	write(e.PrevHash)
	for _, f := range fields {
		switch {
		case f.optional:
			if v := e.text(f); v != "" {
				write(f.column)
				write(v)
			}
		case f.chained:
			write(e.text(f))
		}
	}
}

func keyedHash(id string, secret []byte, e Event) string {
	m := hmac.New(sha256.New, secret)
	encode(m, &e)
	return keyedPrefix + id + ":" + hex.EncodeToString(m.Sum(nil))
}

// sign is e's hash under the signing key.
func (k *Keys) sign(e Event) string { return keyedHash(k.list[0].id, k.list[0].secret, e) }

// keyedID is the key id of a keyed hash, "" for a plain one.
func keyedID(h string) (string, bool) {
	rest, ok := strings.CutPrefix(h, keyedPrefix)
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	return id, ok
}

// UseKeys makes the log chain new entries with the keys' signing key.
func (l *Log) UseKeys(k *Keys) { l.keys = k }

// EnsureKeyed marks the start of the keyed chain (or of a new signing key)
// unless the newest entry is already signed by the signing key.
func (l *Log) EnsureKeyed(ctx context.Context) error {
	if l.keys == nil {
		return nil
	}
	var h string
	err := l.r.QueryRowContext(ctx, "SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&h)
	if err == nil {
		if id, ok := keyedID(h); ok && id == l.keys.SigningID() {
			return nil
		}
	}
	_, err = l.Append(ctx, Event{Action: ActionChainKeyed, User: "system", State: StateSucceeded,
		Reason: fmt.Sprintf(keyedReason, l.keys.SigningID())})
	return err
}

// keyedReason is the reason of the entry that starts a keyed chain.
const keyedReason = "From this entry on, the chain is keyed: HMAC-SHA256 under audit key %s."

// KeyedReasonKey is the audit key a keyed chain's first entry names in its
// reason, for a page that says the reason in another language.
func KeyedReasonKey(reason string) (id string, ok bool) {
	before, after, _ := strings.Cut(keyedReason, "%s")
	id, ok = strings.CutPrefix(reason, before)
	if id, ok2 := strings.CutSuffix(id, after); ok && ok2 && id != "" && !strings.ContainsAny(id, " ") {
		return id, true
	}
	return "", false
}

// Checkpoint is a signed statement of the chain's head, for the logs: a
// copy kept elsewhere shows a later truncation (web audit verify --head).
type Checkpoint struct {
	Seq       int64
	Hash      string
	Time      time.Time
	Signature string // HMAC-SHA256 under the signing key of "seq|hash|time"
}

// Checkpoint signs the log's current head.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	var c Checkpoint
	err := l.r.QueryRowContext(ctx, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").Scan(&c.Seq, &c.Hash)
	if err != nil {
		return c, err
	}
	c.Time = l.now().UTC().Truncate(time.Second)
	if l.keys != nil {
		m := hmac.New(sha256.New, l.keys.list[0].secret)
		fmt.Fprintf(m, "ecsdash-audit-checkpoint|%d|%s|%s", c.Seq, c.Hash, c.Time.Format(time.RFC3339))
		c.Signature = l.keys.SigningID() + ":" + hex.EncodeToString(m.Sum(nil))
	}
	return c, nil
}
