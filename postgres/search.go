package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
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
	prefix, err := firstMatches(ctx, tx, `username LIKE $1 AND id <> $2`, need, starts, exact)
	if err != nil || len(prefix) == need {
		return prefix, err
	}
	rest, err := firstMatches(ctx, tx, `(username LIKE $1 OR name_lower LIKE $1) AND username NOT LIKE $3 AND id <> $2`,
		need-len(prefix), holds, exact, starts)
	return append(prefix, rest...), err
}

// firstMatches returns the IDs of the first n users, by ID, for which cond holds. It
// looks in the window first; if fewer than n match there, it asks the indexes for all
// matches and sorts them ("id + 0" keeps the planner from walking the primary key
// instead, which would read the whole table for a rare q). Plans are made for each
// call's own q (QueryExecModeCacheDescribe), so that a prefix uses the username index.
func firstMatches(ctx context.Context, tx pgx.Tx, cond string, n int, args ...any) ([]int64, error) {
	k := "$" + strconv.Itoa(len(args)+1)
	mode := pgx.QueryExecModeCacheDescribe
	args = append(args, n)
	ids, err := collectIDs(tx.Query(ctx, `SELECT id FROM (SELECT id, username, name_lower FROM users ORDER BY id LIMIT `+strconv.Itoa(window)+`) w
		WHERE `+cond+` ORDER BY id LIMIT `+k, append([]any{mode}, args...)...))
	if err != nil || len(ids) == n {
		return ids, err
	}
	return collectIDs(tx.Query(ctx, `SELECT id FROM users WHERE `+cond+` ORDER BY id + 0 LIMIT `+k, append([]any{mode}, args...)...))
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
