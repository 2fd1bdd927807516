package auth_test

import (
	"context"
	"encoding/base64"
	"runtime"
	"strings"
	"testing"

	"usersapi/auth"
)

// TestDefaultSlots covers R-SEC-5's "at most one hash per CPU": by default one CPU is
// left to everything else, and there is always at least one slot.
func TestDefaultSlots(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for procs, want := range map[int]int{1: 1, 2: 1, 4: 3, 16: 15} {
		runtime.GOMAXPROCS(procs)
		if got := auth.DefaultSlots(); got != want {
			t.Errorf("GOMAXPROCS %d: DefaultSlots() = %d, want %d", procs, got, want)
		}
		if got := auth.NewHasher(auth.HasherOptions{}).Slots(); got != want {
			t.Errorf("GOMAXPROCS %d: NewHasher's default slots %d, want %d", procs, got, want)
		}
	}
	if got := auth.NewHasher(auth.HasherOptions{Slots: 7}).Slots(); got != 7 {
		t.Errorf("Slots: 7 gives %d slots", got)
	}
}

// TestParseHashRefusesNonCanonical covers R-SEC-3a beyond auth_test.go: a hash is
// accepted only as Hash writes it, byte for byte.
func TestParseHashRefusesNonCanonical(t *testing.T) {
	good, err := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}).Hash(context.Background(), "password1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := auth.ParseHash(good); err != nil {
		t.Fatalf("ParseHash(%q): %v", good, err)
	}
	parts := strings.Split(good, "$") // "", algorithm, i=…, salt, key
	salt, key := parts[3], parts[4]
	for name, enc := range map[string]string{
		"leading zero":             "$pbkdf2-sha256$i=01000$" + salt + "$" + key,
		"spaces in the count":      "$pbkdf2-sha256$i= 1000$" + salt + "$" + key,
		"upper-case algorithm":     "$PBKDF2-SHA256$i=1000$" + salt + "$" + key,
		"other parameter name":     "$pbkdf2-sha256$rounds=1000$" + salt + "$" + key,
		"padded salt":              "$pbkdf2-sha256$i=1000$" + salt + "==$" + key,
		"padded key":               "$pbkdf2-sha256$i=1000$" + salt + "$" + key + "=",
		"line break in the salt":   "$pbkdf2-sha256$i=1000$" + salt[:4] + "\n" + salt[4:] + "$" + key,
		"line break in the key":    "$pbkdf2-sha256$i=1000$" + salt + "$" + key[:4] + "\r\n" + key[4:],
		"base64url salt":           "$pbkdf2-sha256$i=1000$" + strings.NewReplacer("+", "-", "/", "_").Replace(salt+"+/") + "$" + key,
		"trailing bits in the key": "$pbkdf2-sha256$i=1000$" + salt + "$" + key[:len(key)-1] + "B",
		"31-byte key":              "$pbkdf2-sha256$i=1000$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 31)),
		"33-byte key":              "$pbkdf2-sha256$i=1000$" + salt + "$" + base64.RawStdEncoding.EncodeToString(make([]byte, 33)),
		"7-byte salt":              "$pbkdf2-sha256$i=1000$" + base64.RawStdEncoding.EncodeToString(make([]byte, 7)) + "$" + key,
		"count beyond int64":       "$pbkdf2-sha256$i=9223372036854775808$" + salt + "$" + key,
		"trailing space":           good + " ",
		"leading space":            " " + good,
	} {
		if _, _, _, err := auth.ParseHash(enc); err == nil {
			t.Errorf("%s: ParseHash(%q) succeeded; want an error", name, enc)
		}
	}
}
