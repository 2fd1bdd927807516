package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"usersapi/users"
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Logger gets the store's warnings (the database unreachable); nil: slog.Default().
	Logger *slog.Logger
	// MaxConns caps the connections of the pool; 0: the URL's pool_max_conns, or
	// pgxpool's default (the larger of 4 and the number of CPUs).
	MaxConns int32
}

// Store is a users.Store kept in PostgreSQL. It is safe for concurrent use, also by
// several servers on one database: every rule the contract makes atomic is kept by
// the database (unique indexes, row locks in transactions).
type Store struct {
	pool   *pgxpool.Pool
	where  string // the server and database, for messages
	log    *slog.Logger
	warned warnLimiter
	closed atomic.Bool
}

var (
	_ users.Store             = (*Store)(nil)
	_ users.WriteChecker      = (*Store)(nil)
	_ users.SessionUserReader = (*Store)(nil)
)

// DefaultConnectTimeout bounds one connection attempt when the URL does not set
// connect_timeout, so that a server that cannot be reached is answered 503 in
// seconds, not after the operating system's TCP timeout.
const DefaultConnectTimeout = 5 * time.Second

// Open connects to the database at url (a postgres:// URL or a key=value string, as
// libpq takes them), creates or migrates its schema (several servers may do so at
// once), and returns the store. It fails with an error naming the server when the
// database cannot be reached, and with ErrSchemaTooNew when the schema was made by a
// newer version of this code.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: the database URL is not valid: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	s := &Store{where: where(cfg.ConnConfig), log: opts.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", s.where, err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		s.pool.Close()
		return nil, fmt.Errorf("postgres: cannot connect to %s: %w", s.where, err)
	}
	err = migrate(ctx, conn)
	conn.Release()
	if err != nil {
		s.pool.Close()
		if errors.Is(err, ErrSchemaTooNew) {
			return nil, fmt.Errorf("%w (on %s)", err, s.where)
		}
		return nil, fmt.Errorf("postgres: preparing the schema on %s: %w", s.where, err)
	}
	return s, nil
}

// where describes the server and database of cfg, without the password.
func where(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	} else {
		host = fmt.Sprintf("%s (socket, port %d)", host, cfg.Port)
	}
	return fmt.Sprintf("%s, database %q as %q", host, cfg.Database, cfg.User)
}

// Pool returns the store's connections, for the state that servers share besides the
// store's (NewThrottle, NewLock, NewFiles).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close implements users.Store: it closes the pool, waiting for the calls in flight.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.pool.Close()
	return nil
}

// Writable implements users.WriteChecker for /healthz: nil if the database answers
// within a second and takes writes, else an ErrBusy error saying why. The pool
// reconnects by itself once the database is back.
func (s *Store) Writable() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var readOnly string
	if err := s.pool.QueryRow(ctx, `SHOW transaction_read_only`).Scan(&readOnly); err != nil {
		s.warn("postgres: the database does not answer", err)
		return errUnavailable
	}
	if readOnly == "on" {
		return errReadOnly
	}
	return nil
}

// Users.

const userCols = `id, name, username, about, password_hash, account_key_hash, created_at, photos`

func scanUser(row pgx.Row) (users.User, error) {
	var u userRow
	if err := row.Scan(u.dest()...); err != nil {
		return users.User{}, err
	}
	return u.user()
}

// userRow receives the userCols of a row.
type userRow struct {
	u             users.User
	about, photos []byte
}

func (r *userRow) dest() []any {
	return []any{&r.u.ID, &r.u.Name, &r.u.Username, &r.about, &r.u.PasswordHash, &r.u.AccountKeyHash, &r.u.CreatedAt, &r.photos}
}

func (r *userRow) user() (users.User, error) {
	u := r.u
	u.About = string(r.about)
	u.CreatedAt = u.CreatedAt.UTC()
	var err error
	u.Photos, err = decodePhotos(r.photos)
	return u, err
}

// encodePhotos writes a user's photos as the jsonb array of the photos column, in
// their order, with the json names of users.Photo.
func encodePhotos(list []users.Photo) ([]byte, error) {
	if len(list) == 0 {
		return []byte("[]"), nil
	}
	list = slices.Clone(list)
	for i := range list {
		list[i].CreatedAt = list[i].CreatedAt.UTC()
	}
	return json.Marshal(list)
}

func decodePhotos(b []byte) ([]users.Photo, error) {
	var list []users.Photo
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("postgres: bad photos column: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	for i := range list {
		list[i].CreatedAt = list[i].CreatedAt.UTC()
	}
	return list, nil
}

func errNoUser(id int64) error {
	return users.Errorf(users.ErrNotFound, "No user has the ID %d.", id)
}

// CreateUser implements users.Store: the user, its first session and its search grams
// in one transaction; the ID comes from the identity sequence, which never gives an ID
// twice.
func (s *Store) CreateUser(ctx context.Context, u users.User, first users.Session) (users.User, error) {
	photos, err := encodePhotos(u.Photos)
	if err != nil {
		return users.User{}, err
	}
	lower := strings.ToLower(u.Name)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO users (username, name, name_lower, about, password_hash, account_key_hash, created_at, photos)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			u.Username, u.Name, lower, []byte(u.About), u.PasswordHash, u.AccountKeyHash, u.CreatedAt, photos).Scan(&u.ID)
		if isUnique(err) {
			return users.Errorf(users.ErrConflict, "The username is already taken.")
		}
		if err != nil {
			return err
		}
		first.UserID = u.ID
		if err := insertSession(ctx, tx, first); err != nil {
			return err
		}
		return addGrams(ctx, tx, u.ID, gramsOf(u.Username, lower))
	})
	if err != nil {
		return users.User{}, err
	}
	u.Photos = slices.Clone(u.Photos)
	return u, nil
}

// User implements users.Store.
func (s *Store) User(ctx context.Context, id int64) (users.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return users.User{}, errNoUser(id)
	}
	return u, s.fail(ctx, err)
}

// UserByUsername implements users.Store.
func (s *Store) UserByUsername(ctx context.Context, username string) (users.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	if errors.Is(err, pgx.ErrNoRows) {
		return users.User{}, users.Errorf(users.ErrNotFound, "No user has that username.")
	}
	return u, s.fail(ctx, err)
}

// lockedUser is what the writes that lock a user's row read of it.
type lockedUser struct {
	username, nameLower, passwordHash string
	photos                            []users.Photo
}

// lockUser locks the row of the user for the rest of tx (SELECT … FOR UPDATE), so that
// the writes to one user's data happen one at a time, and returns what they check.
func lockUser(ctx context.Context, tx pgx.Tx, id int64) (lockedUser, error) {
	var lu lockedUser
	var photos []byte
	err := tx.QueryRow(ctx, `SELECT username, name_lower, password_hash, photos FROM users WHERE id = $1 FOR UPDATE`, id).
		Scan(&lu.username, &lu.nameLower, &lu.passwordHash, &photos)
	if errors.Is(err, pgx.ErrNoRows) {
		return lu, errNoUser(id)
	}
	if err != nil {
		return lu, err
	}
	lu.photos, err = decodePhotos(photos)
	return lu, err
}

// UpdateUser implements users.Store: in one transaction with the user's row locked,
// the compare-and-set of IfPasswordHash, the change, the search grams of a new name,
// and the end of sessions.
func (s *Store) UpdateUser(ctx context.Context, id int64, ch users.UserUpdate) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		lu, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		if ch.IfPasswordHash != "" && ch.IfPasswordHash != lu.passwordHash {
			return users.Errorf(users.ErrConflict, "The password changed meanwhile.")
		}
		var set []string
		var args []any
		add := func(col string, v any) {
			args = append(args, v)
			set = append(set, fmt.Sprintf("%s = $%d", col, len(args)))
		}
		var lower string
		if ch.Name != nil {
			lower = strings.ToLower(*ch.Name)
			add("name", *ch.Name)
			add("name_lower", lower)
		}
		if ch.About != nil {
			add("about", []byte(*ch.About))
		}
		if ch.PasswordHash != nil {
			add("password_hash", *ch.PasswordHash)
		}
		if ch.AccountKeyHash != nil {
			add("account_key_hash", *ch.AccountKeyHash)
		}
		if len(set) > 0 {
			args = append(args, id)
			if _, err := tx.Exec(ctx, `UPDATE users SET `+strings.Join(set, ", ")+` WHERE id = $`+strconv.Itoa(len(args)), args...); err != nil {
				return err
			}
		}
		if ch.Name != nil && lower != lu.nameLower {
			old, now := gramsOf(lu.username, lu.nameLower), gramsOf(lu.username, lower)
			if err := removeGrams(ctx, tx, id, old.minus(now)); err != nil {
				return err
			}
			if err := addGrams(ctx, tx, id, now.minus(old)); err != nil {
				return err
			}
		}
		if ch.EndSessions {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, id, ch.KeepSession); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteUser implements users.Store: the user, its sessions, its upload records (which
// it returns) and its search grams, in one transaction.
func (s *Store) DeleteUser(ctx context.Context, id int64) ([]users.Upload, error) {
	var removed []users.Upload
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		lu, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `DELETE FROM uploads WHERE owner_id = $1 RETURNING `+uploadCols, id)
		if removed, err = pgx.CollectRows(rows, scanUploadRow); err != nil {
			return err
		}
		if err := removeGrams(ctx, tx, id, gramsOf(lu.username, lu.nameLower)); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id) // sessions go with it (ON DELETE CASCADE)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(removed, func(a, b users.Upload) int { return strings.Compare(a.Name, b.Name) })
	if removed == nil {
		removed = []users.Upload{}
	}
	return removed, nil
}

// Sessions.

const sessionCols = `id, user_id, token_hash, ip_address, created_at, updated_at, device_id, device_name, device_model, device_token, device_transport`

func scanSessionRow(row pgx.CollectableRow) (users.Session, error) { return scanSession(row) }

func scanSession(row pgx.Row) (users.Session, error) {
	var x users.Session
	err := row.Scan(sessionDest(&x)...)
	inUTC(&x)
	return x, err
}

// inUTC sets x's times in UTC; pgx reads timestamptz in the local zone.
func inUTC(x *users.Session) { x.CreatedAt, x.UpdatedAt = x.CreatedAt.UTC(), x.UpdatedAt.UTC() }

// sessionDest returns where the sessionCols of a row go in x.
func sessionDest(x *users.Session) []any {
	return []any{&x.ID, &x.UserID, &x.TokenHash, &x.IPAddress, &x.CreatedAt, &x.UpdatedAt,
		&x.Device.ID, &x.Device.Name, &x.Device.Model, &x.Device.Token, &x.Device.Transport}
}

func insertSession(ctx context.Context, tx pgx.Tx, x users.Session) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		x.ID, x.UserID, x.TokenHash, x.IPAddress, x.CreatedAt, x.UpdatedAt,
		x.Device.ID, x.Device.Name, x.Device.Model, x.Device.Token, x.Device.Transport)
	if isUnique(err) {
		return users.Errorf(users.ErrConflict, "The session ID or token is already in use.")
	}
	return err
}

// CreateSession implements users.Store (R-LOG-2), in one transaction with the user's
// row locked: the session of the same device goes, the new one comes, and over max
// the oldest UpdatedAt go, ties by oldest CreatedAt, then by creation order (seq).
func (s *Store) CreateSession(ctx context.Context, x users.Session, max int) ([]users.Session, error) {
	var after []users.Session
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := lockUser(ctx, tx, x.UserID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND device_id = $2`, x.UserID, x.Device.ID); err != nil {
			return err
		}
		if err := insertSession(ctx, tx, x); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id IN (
				SELECT id FROM sessions WHERE user_id = $1 AND id <> $2
				ORDER BY updated_at, created_at, seq
				LIMIT greatest((SELECT count(*) FROM sessions WHERE user_id = $1) - $3, 0))`,
			x.UserID, x.ID, int64(maxInt(max, 1))); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1 ORDER BY seq`, x.UserID)
		var err error
		after, err = pgx.CollectRows(rows, scanSessionRow)
		return err
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// SessionByToken implements users.Store.
func (s *Store) SessionByToken(ctx context.Context, tokenHash string) (users.Session, error) {
	x, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1`, tokenHash))
	if errors.Is(err, pgx.ErrNoRows) {
		return users.Session{}, errNoSession()
	}
	return x, s.fail(ctx, err)
}

func errNoSession() error { return users.Errorf(users.ErrNotFound, "No such session.") }

// SessionWithUser implements users.SessionUserReader for GET /users/me: the session,
// its user and the user's sessions in one statement, so in one round trip and one
// snapshot. The statement returns a row for each of the user's sessions in creation
// order, each with the user's columns and whether it is the token's own.
func (s *Store) SessionWithUser(ctx context.Context, tokenHash string) (users.Session, users.User, []users.Session, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+qualified("o", sessionCols)+`, o.token_hash = $1, `+qualified("u", userCols)+`
		FROM sessions t JOIN users u ON u.id = t.user_id JOIN sessions o ON o.user_id = t.user_id
		WHERE t.token_hash = $1 ORDER BY o.seq`, tokenHash)
	defer rows.Close()
	var own users.Session
	var ur userRow
	list := []users.Session{}
	for rows.Next() {
		var x users.Session
		var isOwn bool
		if err := rows.Scan(append(append(sessionDest(&x), &isOwn), ur.dest()...)...); err != nil {
			return users.Session{}, users.User{}, nil, s.fail(ctx, err)
		}
		inUTC(&x)
		if isOwn {
			own = x
		}
		list = append(list, x)
	}
	if err := rows.Err(); err != nil {
		return users.Session{}, users.User{}, nil, s.fail(ctx, err)
	}
	if len(list) == 0 {
		return users.Session{}, users.User{}, nil, errNoSession()
	}
	u, err := ur.user()
	if err != nil {
		return users.Session{}, users.User{}, nil, s.fail(ctx, err)
	}
	return own, u, list, nil
}

// qualified prefixes each of the comma-separated columns cols with table.
func qualified(table, cols string) string {
	return table + "." + strings.ReplaceAll(cols, ", ", ", "+table+".")
}

// Sessions implements users.Store, in creation order.
func (s *Store) Sessions(ctx context.Context, userID int64) ([]users.Session, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1 ORDER BY seq`, userID)
	list, err := pgx.CollectRows(rows, scanSessionRow)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if list == nil {
		list = []users.Session{}
	}
	return list, nil
}

// UpdateSession implements users.Store in one statement: TouchBefore is a condition of
// the UPDATE itself, so of several servers touching one session at once one writes.
func (s *Store) UpdateSession(ctx context.Context, id string, ch users.SessionUpdate) error {
	var touchBefore *time.Time
	if !ch.TouchBefore.IsZero() {
		touchBefore = &ch.TouchBefore
	}
	var found bool
	err := s.pool.QueryRow(ctx, `WITH changed AS (
			UPDATE sessions SET
				updated_at = coalesce($2, updated_at),
				device_name = coalesce($3, device_name),
				device_token = coalesce($4, device_token)
			WHERE id = $1 AND ($5::timestamptz IS NULL OR updated_at < $5)
			RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM changed) OR EXISTS (SELECT 1 FROM sessions WHERE id = $1)`,
		id, ch.UpdatedAt, ch.DeviceName, ch.DeviceToken, touchBefore).Scan(&found)
	if err != nil {
		return s.fail(ctx, err)
	}
	if !found {
		return errNoSession()
	}
	return nil
}

// DeleteSession implements users.Store.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	if err != nil {
		return s.fail(ctx, err)
	}
	if tag.RowsAffected() == 0 {
		return errNoSession()
	}
	return nil
}

// Uploads and photos.

const uploadCols = `name, type, owner_id, size, preview_width, preview_height, created_at`

func scanUploadRow(row pgx.CollectableRow) (users.Upload, error) { return scanUpload(row) }

func scanUpload(row pgx.Row) (users.Upload, error) {
	var up users.Upload
	err := row.Scan(&up.Name, &up.Type, &up.OwnerID, &up.Size, &up.PreviewWidth, &up.PreviewHeight, &up.CreatedAt)
	up.CreatedAt = up.CreatedAt.UTC()
	return up, err
}

func isPhoto(list []users.Photo, name string) bool {
	return slices.ContainsFunc(list, func(p users.Photo) bool { return p.ID == name })
}

// PutUpload implements users.Store, in one transaction with the owner's row locked.
func (s *Store) PutUpload(ctx context.Context, up users.Upload) (*users.Upload, error) {
	var replaced *users.Upload
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		lu, err := lockUser(ctx, tx, up.OwnerID)
		if err != nil {
			return err
		}
		old, err := scanUpload(tx.QueryRow(ctx, `SELECT `+uploadCols+` FROM uploads WHERE name = $1 FOR UPDATE`, up.Name))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			_, err := tx.Exec(ctx, `INSERT INTO uploads (`+uploadCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				up.Name, up.Type, up.OwnerID, up.Size, up.PreviewWidth, up.PreviewHeight, up.CreatedAt)
			if isUnique(err) { // another user's upload of the same name, just now
				return users.Errorf(users.ErrConflict, "The file name belongs to another user.")
			}
			return err
		case err != nil:
			return err
		case old.OwnerID != up.OwnerID:
			return users.Errorf(users.ErrConflict, "The file name belongs to another user.")
		case isPhoto(lu.photos, up.Name):
			return users.Errorf(users.ErrConflict, "The file is in use as a photo.")
		}
		replaced = &old
		_, err = tx.Exec(ctx, `UPDATE uploads SET type = $2, size = $3, preview_width = $4, preview_height = $5, created_at = $6 WHERE name = $1`,
			up.Name, up.Type, up.Size, up.PreviewWidth, up.PreviewHeight, up.CreatedAt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return replaced, nil
}

// Upload implements users.Store.
func (s *Store) Upload(ctx context.Context, name string) (users.Upload, error) {
	up, err := scanUpload(s.pool.QueryRow(ctx, `SELECT `+uploadCols+` FROM uploads WHERE name = $1`, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return users.Upload{}, users.Errorf(users.ErrNotFound, "No such file.")
	}
	return up, s.fail(ctx, err)
}

// AddPhoto implements users.Store, in one transaction with the user's row locked.
func (s *Store) AddPhoto(ctx context.Context, userID int64, p users.Photo, max int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		lu, err := lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		var owner int64
		err = tx.QueryRow(ctx, `SELECT owner_id FROM uploads WHERE name = $1`, p.ID).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && owner != userID {
			return users.Errorf(users.ErrNotFound, "The user has no such file.")
		}
		if err != nil {
			return err
		}
		if isPhoto(lu.photos, p.ID) {
			return users.Errorf(users.ErrConflict, "The file is already a photo.")
		}
		if len(lu.photos) >= max {
			return users.Errorf(users.ErrInvalid, "The user already has %d photos, the most allowed.", len(lu.photos))
		}
		photos, err := encodePhotos(append(lu.photos, p))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET photos = $2 WHERE id = $1`, userID, photos)
		return err
	})
}

// DeletePhoto implements users.Store, in one transaction with the user's row locked.
func (s *Store) DeletePhoto(ctx context.Context, userID int64, photoID string) (users.Upload, error) {
	var up users.Upload
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		lu, err := lockUser(ctx, tx, userID)
		if errors.Is(err, users.ErrNotFound) || err == nil && !isPhoto(lu.photos, photoID) {
			return users.Errorf(users.ErrNotFound, "The user has no such photo.")
		}
		if err != nil {
			return err
		}
		photos, err := encodePhotos(slices.DeleteFunc(lu.photos, func(p users.Photo) bool { return p.ID == photoID }))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET photos = $2 WHERE id = $1`, userID, photos); err != nil {
			return err
		}
		up, err = scanUpload(tx.QueryRow(ctx, `DELETE FROM uploads WHERE name = $1 AND owner_id = $2 RETURNING `+uploadCols, photoID, userID))
		if errors.Is(err, pgx.ErrNoRows) { // a photo without its record: nothing more to remove
			up, err = users.Upload{}, nil
		}
		return err
	})
	if err != nil {
		return users.Upload{}, err
	}
	return up, nil
}

// DeleteUpload implements users.Store, in one transaction with the user's row locked.
func (s *Store) DeleteUpload(ctx context.Context, userID int64, name string) (users.Upload, error) {
	var up users.Upload
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		noFile := users.Errorf(users.ErrNotFound, "The user has no such file.")
		lu, err := lockUser(ctx, tx, userID)
		if errors.Is(err, users.ErrNotFound) {
			return noFile
		}
		if err != nil {
			return err
		}
		up, err = scanUpload(tx.QueryRow(ctx, `SELECT `+uploadCols+` FROM uploads WHERE name = $1 AND owner_id = $2`, name, userID))
		if errors.Is(err, pgx.ErrNoRows) {
			return noFile
		}
		if err != nil {
			return err
		}
		if isPhoto(lu.photos, name) {
			return users.Errorf(users.ErrConflict, "The file is in use as a photo.")
		}
		_, err = tx.Exec(ctx, `DELETE FROM uploads WHERE name = $1`, name)
		return err
	})
	if err != nil {
		return users.Upload{}, err
	}
	return up, nil
}

// UploadBytes implements users.Store (R-LIM-2).
func (s *Store) UploadBytes(ctx context.Context, userID int64) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(size), 0)::bigint FROM uploads WHERE owner_id = $1`, userID).Scan(&n)
	return n, s.fail(ctx, err)
}

// Transactions and errors.

// inTx runs f in a transaction and commits it; an error from f, or from the commit,
// rolls it back and is returned as the store's callers expect (see fail).
func (s *Store) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.fail(ctx, err)
	}
	defer tx.Rollback(context.Background())
	if err := f(tx); err != nil {
		return s.fail(ctx, err)
	}
	return s.fail(ctx, tx.Commit(ctx))
}
