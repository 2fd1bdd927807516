package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/users"
)

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := auth.NewHasher(auth.HasherOptions{Iterations: 1000})
	enc, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$pbkdf2-sha256$i=1000$") {
		t.Fatalf("Hash = %q, want the PHC form with i=1000 (R-SEC-1)", enc)
	}
	if strings.Contains(enc, "correct horse") {
		t.Fatal("the hash contains the secret")
	}
	if ok, rehash, err := h.Verify(ctx, "correct horse", enc); !ok || rehash || err != nil {
		t.Errorf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, "wrong horse", enc); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	other, _ := h.Hash(ctx, "correct horse")
	if other == enc {
		t.Error("two hashes of one secret are equal: the salt is not random")
	}
}

func TestVerifyAsksForRehashBelowConfiguredCount(t *testing.T) {
	ctx := context.Background()
	old, _ := auth.NewHasher(auth.HasherOptions{Iterations: 1000}).Hash(ctx, "password1")
	h := auth.NewHasher(auth.HasherOptions{Iterations: 2000})
	if ok, rehash, _ := h.Verify(ctx, "password1", old); !ok || !rehash {
		t.Errorf("Verify = %v, rehash %v; want true, true (R-SEC-1)", ok, rehash)
	}
	if _, rehash, _ := h.Verify(ctx, "wrong-password", old); rehash {
		t.Error("a failed check asked for a rehash")
	}
}

// TestParseHashFailsClosed covers R-SEC-3a: anything not fully understood never verifies.
func TestParseHashFailsClosed(t *testing.T) {
	ctx := context.Background()
	h := auth.NewHasher(auth.HasherOptions{Iterations: 1000})
	good, _ := h.Hash(ctx, "password1")
	parts := strings.Split(good, "$")
	for name, enc := range map[string]string{
		"empty":            "",
		"other algorithm":  "$pbkdf2-sha1$" + strings.Join(parts[2:], "$"),
		"iterations 0":     "$pbkdf2-sha256$i=0$" + parts[3] + "$" + parts[4],
		"iterations -1":    "$pbkdf2-sha256$i=-1$" + parts[3] + "$" + parts[4],
		"iterations 999":   "$pbkdf2-sha256$i=999$" + parts[3] + "$" + parts[4],
		"iterations +1000": "$pbkdf2-sha256$i=+1000$" + parts[3] + "$" + parts[4],
		"short salt":       "$pbkdf2-sha256$i=1000$AAAAAAAA$" + parts[4],
		"short key":        "$pbkdf2-sha256$i=1000$" + parts[3] + "$AAAA",
		"extra part":       good + "$x",
		"plain text":       "password1",
	} {
		if _, _, _, err := auth.ParseHash(enc); err == nil {
			t.Errorf("%s: ParseHash(%q) succeeded; want an error", name, enc)
		}
		if ok, _, _ := h.Verify(ctx, "password1", enc); ok {
			t.Errorf("%s: Verify(%q) = true; want false", name, enc)
		}
	}
}

// TestHasherBoundsWaiting covers R-SEC-5: past the wait for a slot, ErrBusy.
func TestHasherBoundsWaiting(t *testing.T) {
	ctx := context.Background()
	h := auth.NewHasher(auth.HasherOptions{Iterations: 2_000_000, Slots: 1, MaxWait: time.Millisecond})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := h.Hash(ctx, "password1")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	busy := 0
	for err := range errs {
		if errors.Is(err, users.ErrBusy) {
			busy++
			if users.RetryAfter(err) <= 0 {
				t.Error("ErrBusy without a RetryAfter")
			}
		} else if err != nil {
			t.Errorf("Hash: %v", err)
		}
	}
	if busy == 0 {
		t.Error("four hashes on one slot with a 1ms wait: none was refused with ErrBusy")
	}
}

func TestTokens(t *testing.T) {
	var tk auth.Tokens
	token, digest := tk.New()
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Fatalf("token %q: want 43 characters of unpadded base64url (R-SEC-2)", token)
	}
	if d, ok := tk.Digest(token); !ok || d != digest {
		t.Errorf("Digest(token) = %q, %v; want %q, true", d, ok, digest)
	}
	if strings.Contains(digest, token) || len(digest) != 64 {
		t.Errorf("digest %q: want 64 hex characters of SHA-256", digest)
	}
	other, _ := tk.New()
	if other == token {
		t.Error("two tokens are equal")
	}
	for _, bad := range []string{"", "short", token + "A", token[:42] + "!", strings.Repeat("A", 42) + "B"} {
		if _, ok := tk.Digest(bad); ok {
			t.Errorf("Digest(%q) ok; want refused", bad)
		}
	}
}
