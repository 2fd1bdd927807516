package auth_test

import (
	"context"
	"fmt"
	"strings"

	"usersapi/auth"
)

// A password is stored as the self-describing string Hash returns, never as itself,
// and checked with Verify (R-SEC-1). Tests and examples use the lowest iteration count
// a hash may have; a server uses DefaultIterations.
func ExampleHasher() {
	ctx := context.Background()
	h := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations})

	stored, err := h.Hash(ctx, "correct horse")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.HasPrefix(stored, "$pbkdf2-sha256$i=1000$"))
	fmt.Println(strings.Contains(stored, "correct horse"))

	ok, rehash, err := h.Verify(ctx, "correct horse", stored)
	fmt.Println(ok, rehash, err)
	ok, _, _ = h.Verify(ctx, "correct horse ", stored) // passwords are taken exactly
	fmt.Println(ok)
	// Output:
	// true
	// false
	// true false <nil>
	// false
}

// When the configured count is raised, a hash made with fewer iterations still
// verifies, and Verify says it should be replaced: the service stores a new one after
// a successful login (R-SEC-1).
func ExampleHasher_Verify_rehash() {
	ctx := context.Background()
	old, _ := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}).Hash(ctx, "correct horse")

	stronger := auth.NewHasher(auth.HasherOptions{Iterations: 2 * auth.MinIterations})
	ok, rehash, _ := stronger.Verify(ctx, "correct horse", old)
	fmt.Println(ok, rehash)
	// Output: true true
}

// A stored hash that is too weak never verifies, even with the right secret
// (R-SEC-3a): crypto/pbkdf2 itself would accept an iteration count of 1.
func ExampleParseHash() {
	ctx := context.Background()
	h := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations})
	stored, _ := h.Hash(ctx, "correct horse")

	iterations, salt, key, err := auth.ParseHash(stored)
	fmt.Println(iterations, len(salt), len(key), err)

	weak := strings.Replace(stored, "$i=1000$", "$i=1$", 1)
	_, _, _, err = auth.ParseHash(weak)
	fmt.Println(err != nil)
	ok, _, _ := h.Verify(ctx, "correct horse", weak)
	fmt.Println(ok)
	// Output:
	// 1000 16 32 <nil>
	// true
	// false
}

// An access token is 43 characters of base64url; the store keeps only its digest, a
// hex SHA-256, and looks the token up by it (R-SEC-2).
func ExampleTokens() {
	var tokens auth.Tokens
	token, digest := tokens.New()
	fmt.Println(len(token), len(digest))

	again, ok := tokens.Digest(token)
	fmt.Println(again == digest, ok)

	other, _ := tokens.New()
	fmt.Println(other == token)

	_, ok = tokens.Digest("not a token")
	fmt.Println(ok)
	// Output:
	// 43 64
	// true true
	// false
	// false
}
