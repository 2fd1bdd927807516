package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"usersapi/users"
)

// window is how many users, the first by ID, a search of three or more characters
// scans before it asks an index. A query that many users match (a common first name)
// finds its first matches among them at once, without reading every match from a
// trigram index and sorting them; one that fills no answer there is rare, and its
// index is short to read. docs/storage.md has the measurements.
var window = 10000

// SearchUsers implements users.Store (R-SRCH-1). The groups of the order are read one
// by one, each only as far as the answer needs, in one read-only snapshot:
//
//   - the exact username, from the unique index on username;
//   - usernames starting with q: for one or two characters the prefix rows of
//     user_grams, in ID order; else the window, then the username index;
//   - the rest (q in the username or the lower-cased name): for one or two characters
//     the other rows of user_grams, in ID order; else the window, then the trigram
//     indexes.
//
// Names are lower-cased by strings.ToLower when stored (name_lower), as in the memory
// store, never by the database; q is given lower-cased.
func (s *Store) SearchUsers(ctx context.Context, q string, limit int) ([]users.User, error) {
	out := []users.User{}
	if limit <= 0 {
		return out, nil
	}
	err := s.readTx(ctx, func(tx pgx.Tx) error {
		var ids []int64
		var exact int64
		err := tx.QueryRow(ctx, `SELECT id FROM users WHERE username = $1`, q).Scan(&exact)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if exact != 0 {
			ids = append(ids, exact)
		}
		if need := limit - len(ids); need > 0 {
			var found []int64
			var err error
			if n := utf8.RuneCountInString(q); n == 1 || n == 2 {
				found, err = searchGrams(ctx, tx, q, exact, need)
			} else {
				found, err = searchLike(ctx, tx, q, exact, need)
			}
			if err != nil {
				return err
			}
			ids = append(ids, found...)
		}
		if len(ids) == 0 {
			return nil
		}
		rows, _ := tx.Query(ctx, `SELECT `+userCols+` FROM users WHERE id = ANY($1)`, ids)
		byID := make(map[int64]users.User, len(ids))
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				rows.Close()
				return err
			}
			byID[u.ID] = u
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if u, ok := byID[id]; ok {
				out = append(out, u)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// searchGrams returns, for a q of one or two characters, up to need users other than
// exact: those whose username starts with q, then those holding q elsewhere, each by
// ascending ID. Every read is a range of the primary key of user_grams.
func searchGrams(ctx context.Context, tx pgx.Tx, q string, exact int64, need int) ([]int64, error) {
	prefix, err := collectIDs(tx.Query(ctx, `SELECT user_id FROM user_grams
		WHERE gram = $1 AND prefix AND user_id <> $2 ORDER BY user_id LIMIT $3`, q, exact, need))
	if err != nil || len(prefix) == need {
		return prefix, err
	}
	rest, err := collectIDs(tx.Query(ctx, `SELECT g.user_id FROM user_grams g
		WHERE g.gram = $1 AND NOT g.prefix AND g.user_id <> $2
		AND NOT EXISTS (SELECT 1 FROM user_grams p WHERE p.gram = $1 AND p.prefix AND p.user_id = g.user_id)
		ORDER BY g.user_id LIMIT $3`, q, exact, need-len(prefix)))
	return append(prefix, rest...), err
}

// searchLike is searchGrams for a q of any other length, with LIKE on the username
// and on name_lower.
func searchLike(ctx context.Context, tx pgx.Tx, q string, exact int64, need int) ([]int64, error) {
	starts, holds := escapeLike(q)+"%", "%"+escapeLike(q)+"%"
	prefix, err := firstMatches(ctx, tx, need,
		cond{`starts_with(username, $1) AND id <> $2`, []any{q, exact}},
		cond{`username LIKE $1 AND id <> $2`, []any{starts, exact}}, nil)
	if err != nil || len(prefix) == need {
		return prefix, err
	}
	// A q without three letters or digits in a row gives the trigram indexes nothing
	// to look up: it walks the rows of its rarest two-character piece instead. (For
	// other queries walking is no cheaper: each row walked costs a fetch, as each
	// match of the trigram indexes does, and there are more rows than matches.)
	var viaGram func() (string, error)
	if !hasWord(q, 3) {
		viaGram = func() (string, error) { return rarestGram(ctx, tx, q) }
	}
	rest, err := firstMatches(ctx, tx, need-len(prefix),
		cond{`(strpos(username, $1) > 0 OR strpos(name_lower, $1) > 0) AND NOT starts_with(username, $1) AND id <> $2`, []any{q, exact}},
		cond{`(username LIKE $1 OR name_lower LIKE $1) AND username NOT LIKE $3 AND id <> $2`, []any{holds, exact, starts}},
		viaGram)
	return append(prefix, rest...), err
}

// cond is a condition on id, username and name_lower, with its arguments.
type cond struct {
	sql  string
	args []any
}

// query returns the statement made of before, w's condition and after, with w's
// arguments followed by more; after and more may name $n+1… (n: len(w.args)).
func (w cond) query(before, after string, more ...any) (string, []any) {
	args := append([]any{pgx.QueryExecModeCacheDescribe}, w.args...)
	return before + w.sql + after, append(args, more...)
}

// firstMatches returns the IDs of the first n users, by ID, that match. It looks in
// the window first, with scan (which strpos and starts_with make cheap per row); if
// fewer than n match there, it asks the indexes for all the users index matches, and
// sorts them ("id + 0" keeps the planner from walking the primary key instead, which
// would read the whole table for a rare q). Plans are made for each call's own
// pattern (QueryExecModeCacheDescribe), so that LIKE 'q%' uses the username index.
//
// With viaGram, the second step walks instead the user_grams rows of the gram it
// returns, in ID order, checking scan on each user.
func firstMatches(ctx context.Context, tx pgx.Tx, n int, scan, index cond, viaGram func() (string, error)) ([]int64, error) {
	next := func(w cond, k int) string { return " $" + strconv.Itoa(len(w.args)+k) }
	sql, args := scan.query(`SELECT id FROM (SELECT id, username, name_lower FROM users ORDER BY id LIMIT `+strconv.Itoa(window)+`) w WHERE `,
		` ORDER BY id LIMIT`+next(scan, 1), n)
	ids, err := collectIDs(tx.Query(ctx, sql, args...))
	if err != nil || len(ids) == n {
		return ids, err
	}
	if viaGram == nil {
		sql, args := index.query(`SELECT id FROM users WHERE `, ` ORDER BY id + 0 LIMIT`+next(index, 1), n)
		return collectIDs(tx.Query(ctx, sql, args...))
	}
	g, err := viaGram()
	if err != nil {
		return nil, err
	}
	// The fence (OFFSET 0) keeps the planner from reading users through the trigram
	// indexes instead; the condition outside it is checked once per row.
	sql, args = scan.query(`SELECT g.user_id FROM user_grams g,
		LATERAL (SELECT id, username, name_lower FROM users WHERE id = g.user_id OFFSET 0) u
		WHERE g.gram =`+next(scan, 1)+` AND NOT g.prefix AND `, ` ORDER BY g.user_id LIMIT`+next(scan, 2), g, n)
	return collectIDs(tx.Query(ctx, sql, args...))
}

// hasWord reports whether q holds n letters or digits in a row: a trigram that the
// trigram index can look up.
func hasWord(q string, n int) bool {
	run := 0
	for _, r := range q {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if run++; run >= n {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// gramCountCap bounds how many user_grams rows rarestGram counts of each gram.
const gramCountCap = 20000

// rarestGram returns the two-character piece of q that the fewest users have, as far
// as counting up to gramCountCap each tells.
func rarestGram(ctx context.Context, tx pgx.Tx, q string) (string, error) {
	offs := starts(q)
	var grams []string
	for k := 0; k+2 < len(offs); k++ {
		grams = append(grams, q[offs[k]:offs[k+2]])
	}
	var best string
	err := tx.QueryRow(ctx, `SELECT g FROM unnest($1::text[]) AS g,
		LATERAL (SELECT count(*)::int AS n FROM (SELECT 1 FROM user_grams WHERE gram = g AND NOT prefix LIMIT `+strconv.Itoa(gramCountCap)+`) t) c
		ORDER BY n LIMIT 1`, grams).Scan(&best)
	return best, err
}

func collectIDs(rows pgx.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// escapeLike makes q match itself in a LIKE pattern.
func escapeLike(q string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
}

// readTx runs f in a read-only transaction that sees one snapshot.
func (s *Store) readTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return s.fail(ctx, err)
	}
	defer tx.Rollback(context.Background())
	if err := f(tx); err != nil {
		return s.fail(ctx, err)
	}
	return s.fail(ctx, tx.Commit(ctx))
}
