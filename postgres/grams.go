package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// gram is one row of user_grams for a user: a string of one or two characters that
// occurs in the username or in the lower-cased name (prefix false), or that the
// username starts with (prefix true). Searches of one or two characters read these
// rows instead of the trigram indexes, which cannot serve them (docs/storage.md).
type gram struct {
	s      string
	prefix bool
}

// gramSet is the set of a user's grams.
type gramSet map[gram]struct{}

// gramsOf returns the grams of a user: every distinct substring of one and of two
// characters of the username and of the lower-cased name, each field on its own (a
// search never matches across them), and the username's first one and two characters.
// The username is normalized, so already lower case.
func gramsOf(username, nameLower string) gramSet {
	set := gramSet{}
	for f, field := range []string{username, nameLower} {
		offs := starts(field)
		for k := 0; k+1 < len(offs); k++ {
			set[gram{s: field[offs[k]:offs[k+1]]}] = struct{}{}
			if k+2 < len(offs) {
				set[gram{s: field[offs[k]:offs[k+2]]}] = struct{}{}
			}
		}
		if f == 0 { // the username's first one and two characters
			for k := 1; k < len(offs) && k <= 2; k++ {
				set[gram{s: field[:offs[k]], prefix: true}] = struct{}{}
			}
		}
	}
	return set
}

// starts returns the byte offsets where the characters of s start, and len(s).
func starts(s string) []int {
	offs := make([]int, 0, len(s)+1)
	for i := range s {
		offs = append(offs, i)
	}
	return append(offs, len(s))
}

// minus returns the grams of g that are not in h.
func (g gramSet) minus(h gramSet) gramSet {
	out := gramSet{}
	for k := range g {
		if _, ok := h[k]; !ok {
			out[k] = struct{}{}
		}
	}
	return out
}

// arrays returns the set as two parallel arrays, sorted, for unnest.
func (g gramSet) arrays() (grams []string, prefix []bool) {
	keys := make([]gram, 0, len(g))
	for k := range g {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b gram) int {
		if c := strings.Compare(a.s, b.s); c != 0 {
			return c
		}
		if a.prefix == b.prefix {
			return 0
		}
		if !a.prefix {
			return -1
		}
		return 1
	})
	for _, k := range keys {
		grams = append(grams, k.s)
		prefix = append(prefix, k.prefix)
	}
	return grams, prefix
}

func addGrams(ctx context.Context, tx pgx.Tx, id int64, g gramSet) error {
	if len(g) == 0 {
		return nil
	}
	grams, prefix := g.arrays()
	_, err := tx.Exec(ctx, `INSERT INTO user_grams (gram, prefix, user_id)
		SELECT g, p, $3::bigint FROM unnest($1::text[], $2::boolean[]) AS t(g, p)`, grams, prefix, id)
	return err
}

func removeGrams(ctx context.Context, tx pgx.Tx, id int64, g gramSet) error {
	if len(g) == 0 {
		return nil
	}
	grams, prefix := g.arrays()
	_, err := tx.Exec(ctx, `DELETE FROM user_grams WHERE (gram, prefix, user_id) IN (
		SELECT g, p, $3::bigint FROM unnest($1::text[], $2::boolean[]) AS t(g, p))`, grams, prefix, id)
	return err
}
