// Package seed is the synthetic data set that the load tool and the benchmarks share:
// users with realistic names, one password for all of them hashed once, and sessions
// whose access tokens can be recomputed from the user and session numbers. A client
// can therefore act as any seeded user without the store ever holding a token
// (R-SEC-2), and a seeded store answers searches like a real one would.
//
// Everything is a pure function of a Set's fields and the user number, so a store
// seeded by one process can be loaded by another that knows the same Set.
//
// It imports users and auth only: the caller hands it the store to fill.
package seed

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"usersapi/auth"
	"usersapi/users"
)

// Password is the password of every seeded user.
const Password = "load-test password"

// Set describes a seeded data set. User numbers run from 1; on a fresh store user n
// gets the ID n.
type Set struct {
	// Key makes the tokens, session IDs and device IDs of this data set; two sets
	// with different keys share no token.
	Key string
	// PasswordHash is stored on every user (a copy each, as separate hashes would be).
	// Make it once with PasswordHash.
	PasswordHash string
	// Sessions is the number of sessions per user, at least 1.
	Sessions int
	// Photos is the number of photo records per user (their files are not written).
	Photos int
	// Now is the creation time of every user and session.
	Now time.Time
}

// PasswordHash hashes Password once with the given PBKDF2 count, so that seeding
// costs one slow hash however many users there are.
func PasswordHash(ctx context.Context, iterations int) (string, error) {
	return auth.NewHasher(auth.HasherOptions{Iterations: iterations, Slots: 1}).Hash(ctx, Password)
}

// mix is splitmix64: it spreads user numbers over the name lists.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func first(n int) string { return firstNames[mix(uint64(n))%uint64(len(firstNames))] }
func last(n int) string  { return lastNames[mix(uint64(n)^0x5bd1e995)%uint64(len(lastNames))] }

// Name returns the display name of user n, such as "Chloé Martin".
func Name(n int) string { return first(n) + " " + last(n) }

// Username returns the username of user n: the letters of the name and the number,
// such as "chloemartin42". The number makes it unique; it fits R-FLD-2 for n below
// ten million.
func Username(n int) string {
	l := asciiLower(last(n))
	if len(l) > 8 {
		l = l[:8]
	}
	return asciiLower(first(n)) + l + strconv.Itoa(n)
}

// asciiLower keeps the ASCII letters of s, lower-cased, with accents dropped.
func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range s {
		if f, ok := folds[r]; ok {
			r = f
		}
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
		}
	}
	return b.String()
}

var folds = map[rune]rune{
	'á': 'a', 'à': 'a', 'ç': 'c', 'é': 'e', 'è': 'e', 'í': 'i', 'ñ': 'n',
	'ó': 'o', 'ö': 'o', 'ø': 'o', 'ú': 'u', 'ü': 'u',
}

// derive returns 32 bytes made from the set's key and the parts.
func (s Set) derive(kind string, n, j int) [32]byte {
	return sha256.Sum256([]byte(s.Key + "\x00" + kind + "\x00" + strconv.Itoa(n) + "\x00" + strconv.Itoa(j)))
}

// uuid formats 16 bytes as a lower-case version 4 UUID.
func uuid(b [32]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Token returns the access token of session j (0 ≤ j < Sessions) of user n.
func (s Set) Token(n, j int) string {
	b := s.derive("token", n, j)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// DeviceID returns the device ID of session j of user n. A login from DeviceID(n, j)
// replaces that session (R-LOG-2).
func (s Set) DeviceID(n, j int) string { return uuid(s.derive("device", n, j)) }

// User returns user n as CreateUser takes it.
func (s Set) User(n int) users.User {
	return users.User{
		Name:         Name(n),
		Username:     Username(n),
		About:        "Seeded user number " + strconv.Itoa(n) + ".",
		PasswordHash: strings.Clone(s.PasswordHash),
		CreatedAt:    s.Now,
	}
}

// Session returns session j of user n, UserID left for the store or caller to set.
func (s Set) Session(n, j int) users.Session {
	digest, _ := auth.Tokens{}.Digest(s.Token(n, j))
	return users.Session{
		ID:        uuid(s.derive("session", n, j)),
		TokenHash: digest,
		IPAddress: "192.0.2." + strconv.Itoa(1+n%250),
		CreatedAt: s.Now,
		UpdatedAt: s.Now,
		Device: users.DeviceInfo{
			ID:        s.DeviceID(n, j),
			Name:      "Device " + strconv.Itoa(j+1),
			Model:     "Model " + strconv.Itoa(n%7),
			Transport: "none",
		},
	}
}

// Upload returns the record of photo k of user n, whose ID is id.
func (s Set) Upload(n, k int, id int64) users.Upload {
	return users.Upload{
		Name:          uuid(s.derive("photo", n, k)),
		Type:          "jpg",
		OwnerID:       id,
		Size:          100_000 + int64(mix(uint64(n*16+k))%400_000),
		PreviewWidth:  350,
		PreviewHeight: 263,
		CreatedAt:     s.Now,
	}
}

// Fill creates users from..to (inclusive) in store, in order, with their sessions and
// photo records, through the users.Store interface. It returns the ID of user from;
// the others follow it. Progress, if not nil, is called after every user.
func Fill(ctx context.Context, store users.Store, s Set, from, to int, progress func(n int)) (firstID int64, err error) {
	sessions := max(s.Sessions, 1)
	for n := from; n <= to; n++ {
		u, err := store.CreateUser(ctx, s.User(n), s.Session(n, 0))
		if err != nil {
			return 0, fmt.Errorf("seed: user %d: %w", n, err)
		}
		if n == from {
			firstID = u.ID
		} else if u.ID != firstID+int64(n-from) {
			return 0, fmt.Errorf("seed: user %d got ID %d, not %d: is another client writing?", n, u.ID, firstID+int64(n-from))
		}
		for j := 1; j < sessions; j++ {
			sess := s.Session(n, j)
			sess.UserID = u.ID
			if _, err := store.CreateSession(ctx, sess, users.MaxSessions); err != nil {
				return 0, fmt.Errorf("seed: session %d of user %d: %w", j, n, err)
			}
		}
		for k := range s.Photos {
			up := s.Upload(n, k, u.ID)
			if _, err := store.PutUpload(ctx, up); err != nil {
				return 0, fmt.Errorf("seed: upload %d of user %d: %w", k, n, err)
			}
			p := users.Photo{ID: up.Name, FileType: up.Type, FileSize: up.Size, PreviewWidth: up.PreviewWidth, PreviewHeight: up.PreviewHeight, CreatedAt: up.CreatedAt}
			if err := store.AddPhoto(ctx, u.ID, p, users.MaxPhotos); err != nil {
				return 0, fmt.Errorf("seed: photo %d of user %d: %w", k, n, err)
			}
		}
		if progress != nil {
			progress(n)
		}
	}
	return firstID, nil
}

// Query kinds of Queries, from the cheapest to the dearest for a scanning search.
const (
	QueryFirst    = "first"    // a prefix of a first name: many usernames start with it
	QueryLast     = "last"     // a piece of a last name: many names hold it, few usernames start with it
	QueryUsername = "username" // a whole username: one exact match
	QueryMiss     = "miss"     // matches nobody
)

// Query returns a search a user might type, of the given kind, for a data set of n
// users. The result is already valid for R-SRCH-1.
func Query(r *rand.Rand, kind string, n int) string {
	switch kind {
	case QueryFirst:
		f := asciiLower(firstNames[r.IntN(len(firstNames))])
		return f[:min(len(f), 3+r.IntN(3))]
	case QueryLast:
		l := []rune(strings.ToLower(lastNames[r.IntN(len(lastNames))]))
		k := min(len(l), 4)
		i := r.IntN(len(l) - k + 1)
		return string(l[i : i+k])
	case QueryUsername:
		return Username(1 + r.IntN(max(n, 1)))
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], r.Uint64())
	return "qx" + strings.ToLower(base64.RawURLEncoding.EncodeToString(b[:])[:4]) // no name holds "qx"
}

// MixedKind draws a query kind from a mix meant to look like people searching for
// someone: half first names, 30% last names, 10% usernames, 10% misses.
func MixedKind(r *rand.Rand) string {
	switch k := r.IntN(10); {
	case k < 5:
		return QueryFirst
	case k < 8:
		return QueryLast
	case k < 9:
		return QueryUsername
	}
	return QueryMiss
}

var firstNames = []string{
	"Aaliyah", "Adam", "Ahmed", "Aiko", "Alejandro", "Alice", "Amara", "Amelia", "Ana", "Andrei",
	"Anna", "Arjun", "Astrid", "Ben", "Bianca", "Camille", "Carlos", "Charlotte", "Chen", "Chloé",
	"Daniel", "Dmitri", "Elena", "Eli", "Emma", "Ethan", "Fatima", "Felix", "Freya", "Gabriel",
	"Grace", "Hana", "Hannah", "Hugo", "Ibrahim", "Ines", "Isaac", "Isabel", "Ivan", "Jack",
	"James", "Javier", "Jin", "Jonas", "José", "Julia", "Jürgen", "Kai", "Karim", "Kenji",
	"Lara", "Laura", "Leila", "Leo", "Liam", "Lina", "Lucas", "Lucía", "Luis", "Maja",
	"Marco", "Maria", "Mateo", "Mia", "Mohammed", "Nadia", "Naomi", "Nina", "Noah", "Nora",
	"Olga", "Oliver", "Omar", "Oscar", "Paula", "Pedro", "Priya", "Rafael", "Ravi", "Rosa",
	"Sakura", "Samuel", "Sara", "Sofia", "Søren", "Tariq", "Theo", "Tomás", "Valentina", "Victor",
	"Wei", "William", "Xavier", "Yara", "Yusuf", "Zara", "Zoé", "Björn", "Chiara", "Diego",
}

var lastNames = []string{
	"Abe", "Adeyemi", "Andersen", "Bauer", "Becker", "Bernard", "Brown", "Castro", "Chen", "Cohen",
	"Costa", "Dubois", "Díaz", "Eriksson", "Fernández", "Fischer", "Fontaine", "García", "Gomez", "Gonzalez",
	"Gupta", "Hansen", "Hernández", "Hoffmann", "Ito", "Ivanova", "Jansen", "Johnson", "Jones", "Kaya",
	"Khan", "Kim", "Kowalski", "Kumar", "Larsen", "Laurent", "Lee", "Lefebvre", "Li", "Lopez",
	"Martin", "Martínez", "Meyer", "Moreau", "Müller", "Nakamura", "Nguyen", "Nielsen", "Novak", "Okafor",
	"Olsen", "Ortiz", "Park", "Patel", "Pereira", "Petrov", "Popescu", "Quinn", "Ramírez", "Reyes",
	"Richter", "Rivera", "Robinson", "Rodríguez", "Rossi", "Russo", "Sánchez", "Santos", "Sato", "Schmidt",
	"Schneider", "Schulz", "Silva", "Singh", "Smith", "Suzuki", "Tanaka", "Taylor", "Thomas", "Torres",
	"Van Dijk", "Wagner", "Walker", "Wang", "Weber", "Williams", "Wilson", "Wong", "Wright", "Yamamoto",
	"Yilmaz", "Young", "Zhang", "Zhou", "Ziegler", "O'Brien", "Al-Sayed", "De Luca", "Da Silva", "Nowak",
}
