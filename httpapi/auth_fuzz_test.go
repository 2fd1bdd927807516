package httpapi

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzBasicCredentials checks the Basic parser on any Authorization header: it never
// panics, and what it accepts is what HTTP Basic can honestly carry (R-FLD-3): a
// non-empty username without a colon, valid UTF-8, no control characters, which
// encodes back to credentials it reads the same.
func FuzzBasicCredentials(f *testing.F) {
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		b64("alice:correct horse"), b64("alice:"), b64(":pw"), b64("alice"), b64("a:b:c"),
		b64("ali\x00ce:pw"), b64("alice:p\x7fw"), b64("alice:\xff"), b64("élise:🐴 pass"),
		"Basic", "Basic ", "basic " + base64.StdEncoding.EncodeToString([]byte("bob:pw")),
		"Basic  " + base64.StdEncoding.EncodeToString([]byte("bob:pw")) + "  ",
		"Basic YWxpY2U6cHc", "Basic !!!", "Bearer abc", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c, ok := basicCredentials(header)
		if !ok {
			if c.Username != "" || c.Password != "" {
				t.Fatalf("basicCredentials(%q) refused but returned %+v", header, c)
			}
			return
		}
		if c.Username == "" || strings.Contains(c.Username, ":") {
			t.Fatalf("basicCredentials(%q): username %q", header, c.Username)
		}
		for _, s := range []string{c.Username, c.Password} {
			if !utf8.ValidString(s) {
				t.Fatalf("basicCredentials(%q): %q is not UTF-8", header, s)
			}
			for _, r := range s {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("basicCredentials(%q): %q holds the control character %U", header, s, r)
				}
			}
		}
		again, ok := basicCredentials("Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password)))
		if !ok || again != c {
			t.Fatalf("basicCredentials(%q) = %+v, which re-encoded reads as %+v, %v", header, c, again, ok)
		}
	})
}

// FuzzBearerToken checks the Bearer parser on any Authorization header: it never
// panics, accepts only the Bearer scheme (in any case) with a non-empty token, and
// reads the token back from "Bearer <token>".
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{
		"Bearer 2q6CZ0XWn8Ezj1MnCQm6ZKv4tF7PpQmAeRL0hDHnWIo", "bearer x", "BEARER  x", "Bearer", "Bearer ",
		"Basic YWxpY2U6cHc=", "Bearer a b", "", " Bearer x", "Bearer\tx",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		token, ok := bearerToken(header)
		if !ok {
			if token != "" {
				t.Fatalf("bearerToken(%q) refused but returned %q", header, token)
			}
			return
		}
		scheme, _, _ := strings.Cut(header, " ")
		if token == "" || !strings.EqualFold(scheme, "Bearer") || !strings.HasSuffix(header, token) {
			t.Fatalf("bearerToken(%q) = %q", header, token)
		}
		if again, ok := bearerToken("Bearer " + token); !ok || again != token {
			t.Fatalf("bearerToken(%q) = %q, which reads back as %q, %v", header, token, again, ok)
		}
	})
}
