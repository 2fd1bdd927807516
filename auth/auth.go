// Package auth holds the project's cryptography: slow salted hashing of passwords and
// account keys with PBKDF2-HMAC-SHA256 (R-SEC-1, R-SEC-3a, R-SEC-5), and random access
// tokens kept only as their SHA-256 (R-SEC-2).
//
// It implements users.Hasher and users.Tokens. It may import users and the standard
// library, and must never import net/http server code or any other package of ours.
package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"usersapi/users"
)

const (
	// DefaultIterations is the PBKDF2 count used unless configured otherwise (R-SEC-1).
	DefaultIterations = 600_000
	// MinIterations is the lowest count a stored hash may have and still verify (R-SEC-3a).
	MinIterations = 1_000

	algorithm  = "pbkdf2-sha256"
	saltLength = 16
	keyLength  = 32
	minSalt    = 8
)

var b64 = base64.RawStdEncoding

// Hasher hashes and verifies secrets with PBKDF2-HMAC-SHA256. At most Slots hashes run
// at once; a caller that waits longer than MaxWait for a slot gets users.ErrBusy, so a
// storm of logins queues briefly instead of without bound (R-SEC-5).
type Hasher struct {
	iterations int
	slots      chan struct{}
	maxWait    time.Duration
}

// HasherOptions configures NewHasher. Zero values take the defaults.
type HasherOptions struct {
	Iterations int           // PBKDF2 count for new hashes; default DefaultIterations
	Slots      int           // hashes at once; default DefaultSlots()
	MaxWait    time.Duration // longest wait for a slot; default 2s
}

// DefaultSlots is the number of hashes that may run at once unless configured: one per
// CPU the Go scheduler runs on (GOMAXPROCS, which follows a container's CPU limit),
// less one, and at least one. The CPU left over keeps every other request quick
// during a storm of logins (R-SEC-5): with every CPU busy hashing, a read waits for
// the scheduler to preempt a hash, several times per request (docs/security.md).
func DefaultSlots() int { return max(1, runtime.GOMAXPROCS(0)-1) }

// ServeOnAllCPUs is the one rule of processors and hashing slots, which every server
// binary calls first: it sets GOMAXPROCS to one processor more than the CPUs it had.
// DefaultSlots (GOMAXPROCS less one) then hashes on every CPU, and a request still
// always finds a processor free while logins hash; the kernel shares the CPUs among the
// threads and runs a woken one promptly (R-SEC-5, docs/security.md#login-storm).
func ServeOnAllCPUs() { runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1) }

// NewHasher returns a Hasher with the options.
func NewHasher(o HasherOptions) *Hasher {
	if o.Iterations <= 0 {
		o.Iterations = DefaultIterations
	}
	if o.Slots <= 0 {
		o.Slots = DefaultSlots()
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Second
	}
	return &Hasher{iterations: o.Iterations, slots: make(chan struct{}, o.Slots), maxWait: o.MaxWait}
}

// Iterations returns the PBKDF2 count the Hasher uses for new hashes.
func (h *Hasher) Iterations() int { return h.iterations }

// Slots returns how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// Hash returns secret's hash in the PHC string format:
// $pbkdf2-sha256$i=<iterations>$<salt>$<key>, salt and key in unpadded base64.
func (h *Hasher) Hash(ctx context.Context, secret string) (string, error) {
	salt := make([]byte, saltLength)
	rand.Read(salt) // never fails (crypto/rand panics instead)
	key, err := h.derive(ctx, secret, salt, h.iterations)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$%s$i=%d$%s$%s", algorithm, h.iterations, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether secret matches encoded, and whether encoded was made with
// fewer iterations than the Hasher's and should be replaced. An encoded string that
// does not parse, or is weaker than MinIterations or an 8-byte salt, never matches.
func (h *Hasher) Verify(ctx context.Context, secret, encoded string) (ok, rehash bool, err error) {
	iter, salt, want, perr := ParseHash(encoded)
	if perr != nil {
		// Spend the same time as a real check, so a broken record is not an oracle.
		_, err = h.derive(ctx, secret, make([]byte, saltLength), h.iterations)
		return false, false, err
	}
	got, err := h.derive(ctx, secret, salt, iter)
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && iter < h.iterations, nil
}

// ParseHash splits a stored hash into its parts and refuses anything it does not fully
// understand or that is too weak (R-SEC-3a): it fails closed.
func ParseHash(encoded string) (iterations int, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != algorithm || !strings.HasPrefix(parts[2], "i=") {
		return 0, nil, nil, fmt.Errorf("auth: not a %s hash", algorithm)
	}
	digits := parts[2][2:]
	iterations, err = strconv.Atoi(digits)
	if err != nil || digits != strconv.Itoa(iterations) {
		return 0, nil, nil, fmt.Errorf("auth: bad iteration count %q", digits)
	}
	if iterations < MinIterations {
		return 0, nil, nil, fmt.Errorf("auth: iteration count %d below %d", iterations, MinIterations)
	}
	// Re-encoding catches what the decoder skips (line breaks): only a hash exactly as
	// Hash writes it is accepted.
	if salt, err = b64.Strict().DecodeString(parts[3]); err != nil || len(salt) < minSalt || b64.EncodeToString(salt) != parts[3] {
		return 0, nil, nil, fmt.Errorf("auth: bad salt")
	}
	if key, err = b64.Strict().DecodeString(parts[4]); err != nil || len(key) != keyLength || b64.EncodeToString(key) != parts[4] {
		return 0, nil, nil, fmt.Errorf("auth: bad key")
	}
	return iterations, salt, key, nil
}

// derive runs PBKDF2 in a hashing slot, waiting at most maxWait for one.
func (h *Hasher) derive(ctx context.Context, secret string, salt []byte, iter int) ([]byte, error) {
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
	case <-timer.C:
		return nil, &users.Error{Kind: users.ErrBusy, Reason: "The server is busy; try again later.", RetryAfter: time.Second}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	return pbkdf2.Key(sha256.New, secret, salt, iter, keyLength)
}

// Tokens makes access tokens: 32 bytes from crypto/rand in unpadded base64url, 43
// characters (R-SEC-2). Only their SHA-256 is ever stored.
type Tokens struct{}

// TokenLength is the length of every access token.
const TokenLength = 43

// New returns a fresh token and the digest to store for it.
func (Tokens) New() (token, digest string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, digestOf(token)
}

// Digest returns the digest to look token up by, or ok false if token cannot be one of
// ours (wrong length or alphabet), so garbage never reaches the store.
func (Tokens) Digest(token string) (digest string, ok bool) {
	if len(token) != TokenLength {
		return "", false
	}
	// The decoder skips line breaks, so only the length of what it decoded shows
	// that every character was of the alphabet.
	if b, err := base64.RawURLEncoding.Strict().DecodeString(token); err != nil || len(b) != 32 {
		return "", false
	}
	return digestOf(token), true
}

func digestOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
