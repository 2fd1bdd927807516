package auth_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"

	"usersapi/auth"
)

// FuzzParseHash checks R-SEC-3a on any stored string: ParseHash never panics, and
// accepts only a hash it would write itself, byte for byte (so nothing it half
// understands ever verifies), with at least MinIterations, an 8-byte salt and a
// 32-byte key.
func FuzzParseHash(f *testing.F) {
	good, err := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}).Hash(context.Background(), "password1")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good,
		"$pbkdf2-sha256$i=600000$c2FsdHNhbHRzYWx0c2FsdA$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
		"$pbkdf2-sha256$i=999$c2FsdHNhbHRzYWx0c2FsdA$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
		"$pbkdf2-sha256$i=01000$c2FsdHNhbHRzYWx0c2FsdA$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
		"$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
		"$pbkdf2-sha256$i=1000$c2FsdHNhbHRzYWx0c2FsdA==$" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"$pbkdf2-sha1$i=1000$c2FsdHNhbHRzYWx0c2FsdA$AAAA",
		"$pbkdf2-sha256$i=9223372036854775807$c2FsdHNhbHRzYWx0c2FsdA$" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
		"$pbkdf2-sha256$i=-1000$$",
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		"",
		"$$$$",
		"plain text",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, encoded string) {
		iter, salt, key, err := auth.ParseHash(encoded)
		if err != nil {
			return
		}
		if iter < auth.MinIterations || len(salt) < 8 || len(key) != 32 {
			t.Fatalf("ParseHash(%q) accepted iterations %d, a %d-byte salt and a %d-byte key", encoded, iter, len(salt), len(key))
		}
		b64 := base64.RawStdEncoding
		if again := fmt.Sprintf("$pbkdf2-sha256$i=%d$%s$%s", iter, b64.EncodeToString(salt), b64.EncodeToString(key)); again != encoded {
			t.Fatalf("ParseHash(%q) accepted what encodes as %q", encoded, again)
		}
	})
}

// FuzzTokenDigest checks R-SEC-2 on any bearer token: Digest accepts exactly the
// unpadded base64url encodings of 32 bytes, so nothing else is ever looked up.
func FuzzTokenDigest(f *testing.F) {
	var tk auth.Tokens
	token, _ := tk.New()
	for _, s := range []string{token, token[:42], token + "=", token[:42] + "+", token[:21] + "\n" + token[22:], token[:42] + "\r", "", "Bearer " + token} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		digest, ok := tk.Digest(token)
		raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
		canonical := err == nil && len(raw) == 32 && base64.RawURLEncoding.EncodeToString(raw) == token
		if ok != canonical {
			t.Fatalf("Digest(%q) ok = %v; want %v", token, ok, canonical)
		}
		if ok && len(digest) != 64 {
			t.Fatalf("Digest(%q) = %q, want 64 hex characters", token, digest)
		}
	})
}
