package users

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Limits of the endpoint and security rules (docs/rules.md).
const (
	MaxSessions     = 50               // per user (R-LOG-2)
	MaxPhotos       = 10               // per user (R-PHO-1)
	MaxSearch       = 50               // results (R-SRCH-1)
	MaxFailures     = 10               // failed attempts before 429 (R-SEC-4)
	FailureWindow   = 15 * time.Minute // (R-SEC-4)
	TouchInterval   = time.Minute      // how often a session's use is recorded (R-SES-1)
	throttleEntries = 100_000          // keys kept by each throttle
	// turnWait bounds the wait of a secret check held back by the ten already under way
	// for its account (R-SEC-4); past it the answer is 503 (R-SEC-5). Each of those ten
	// waits for a hashing slot at most its own bound (2 s by default) and then hashes.
	turnWait = 5 * time.Second
)

// Config holds what a Service needs. Store, Hasher and Tokens are required.
type Config struct {
	Store  Store
	Hasher Hasher
	Tokens Tokens

	// Files and Previewer keep uploads and make previews; without Files, uploads and
	// photos are refused.
	Files     Files
	Previewer Previewer
	// MaxUpload caps one upload in bytes (R-UPL-1); default 50 MiB.
	MaxUpload int64
	// UploadQuota caps the bytes of one user's uploads together (R-LIM-2); default
	// 200 MiB.
	UploadQuota int64

	// Now is the clock; default time.Now. Times are kept in UTC to the second (R-WIRE-8).
	Now func() time.Time
	// MaxSessionAge ends sessions older than this; 0 means sessions do not expire by
	// age (R-SEC-3).
	MaxSessionAge time.Duration

	// The state that servers sharing one Store must share as well: the throttles of
	// failed passwords and account keys (R-SEC-4), and the lock that pairs upload
	// records with their files. Default: in memory, for one process.
	PasswordThrottle, KeyThrottle Throttle
	UploadLock                    Locker
}

// Service carries out every operation of the Users API. It is safe for concurrent use.
type Service struct {
	store         Store
	hasher        Hasher
	tokens        Tokens
	files         Files
	previewer     Previewer
	maxUpload     int64
	uploadQuota   int64
	clock         func() time.Time
	maxSessionAge time.Duration

	passwordFailures Throttle // keyed by lower-cased username (R-SEC-4)
	keyFailures      Throttle // keyed by user id (R-SEC-4)

	uploadLock Locker // serializes the commit of uploads, see uploads.go
}

// NewService returns a Service using the dependencies in cfg.
func NewService(cfg Config) *Service {
	s := &Service{
		store:            cfg.Store,
		hasher:           cfg.Hasher,
		tokens:           cfg.Tokens,
		files:            cfg.Files,
		previewer:        cfg.Previewer,
		maxUpload:        cfg.MaxUpload,
		uploadQuota:      cfg.UploadQuota,
		clock:            cfg.Now,
		maxSessionAge:    cfg.MaxSessionAge,
		passwordFailures: cfg.PasswordThrottle,
		keyFailures:      cfg.KeyThrottle,
		uploadLock:       cfg.UploadLock,
	}
	if s.passwordFailures == nil {
		s.passwordFailures = NewMemoryThrottle(MaxFailures, FailureWindow, throttleEntries)
	}
	if s.keyFailures == nil {
		s.keyFailures = NewMemoryThrottle(MaxFailures, FailureWindow, throttleEntries)
	}
	if s.uploadLock == nil {
		s.uploadLock = NewMemoryLock()
	}
	if s.clock == nil {
		s.clock = time.Now
	}
	if s.maxUpload <= 0 {
		s.maxUpload = DefaultMaxUpload
	}
	if s.uploadQuota <= 0 {
		s.uploadQuota = DefaultUploadQuota
	}
	return s
}

// now returns the time in UTC, to the second: what is stored is what is shown.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Second) }

// Credentials are a username and password, as sent with HTTP Basic.
type Credentials struct {
	Username string
	Password string
}

// RegisterRequest is the body of POST /users (R-REG-1).
type RegisterRequest struct {
	Name       *string     `json:"name"`
	Username   *string     `json:"username"`
	Password   *string     `json:"password"`
	DeviceInfo *DeviceInfo `json:"deviceInfo"`
}

// LoginRequest is the body of POST /users/login (R-LOG-1).
type LoginRequest struct {
	DeviceInfo *DeviceInfo `json:"deviceInfo"`
}

// ChangePasswordRequest is the body of PUT /users/me/changePassword (R-PW-1).
type ChangePasswordRequest struct {
	OldPassword *string `json:"oldPassword"`
	NewPassword *string `json:"newPassword"`
}

// SetAccountKeyRequest is the body of PUT /users/me/setAccountKey (R-KEY-1).
type SetAccountKeyRequest struct {
	Password   *string `json:"password"`
	AccountKey *string `json:"accountKey"`
}

// ResetPasswordRequest is the body of PUT /users/resetPassword (R-RST-1).
type ResetPasswordRequest struct {
	UserID      *int64  `json:"userId"`
	AccountKey  *string `json:"accountKey"`
	NewPassword *string `json:"newPassword"`
}

// UpdateUserRequest is the body of PUT /users/me (R-UPD-1); nil fields stay as they are.
type UpdateUserRequest struct {
	Name  *string `json:"name"`
	About *string `json:"about"`
}

// UpdateDeviceRequest is the body of PUT /users/me/device (R-DEV-1).
type UpdateDeviceRequest struct {
	DeviceName  *string `json:"deviceName"`
	DeviceToken *string `json:"deviceToken"`
}

// required returns the value of a required field, or a 400 naming it.
func required[T any](field string, p *T) (T, error) {
	if p == nil {
		var zero T
		return zero, invalid("%s is required.", field)
	}
	return *p, nil
}

// Register creates a user and its first session, and returns the private UserInfo
// with that session's token (R-REG-1). ip is the client's address.
func (s *Service) Register(ctx context.Context, req RegisterRequest, ip string) (UserInfo, error) {
	name, err := required("name", req.Name)
	if err != nil {
		return UserInfo{}, err
	}
	username, err := required("username", req.Username)
	if err != nil {
		return UserInfo{}, err
	}
	password, err := required("password", req.Password)
	if err != nil {
		return UserInfo{}, err
	}
	device, err := required("deviceInfo", req.DeviceInfo)
	if err != nil {
		return UserInfo{}, err
	}
	if name, err = NormalizeName(name); err != nil {
		return UserInfo{}, err
	}
	if username, err = NormalizeUsername(username); err != nil {
		return UserInfo{}, err
	}
	if err = CheckPassword("password", password, username); err != nil {
		return UserInfo{}, err
	}
	if device, err = NormalizeDevice(device); err != nil {
		return UserInfo{}, err
	}
	// A cheap early answer for the common case; CreateUser decides under its lock.
	if _, err := s.store.UserByUsername(ctx, username); err == nil {
		return UserInfo{}, errUsernameTaken
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return UserInfo{}, err
	}
	now := s.now()
	token, sess := s.newSession(device, ip, now)
	u, err := s.store.CreateUser(ctx, User{Name: name, Username: username, PasswordHash: hash, CreatedAt: now}, sess)
	if errors.Is(err, ErrConflict) {
		return UserInfo{}, errUsernameTaken
	}
	if err != nil {
		return UserInfo{}, err
	}
	sess.UserID = u.ID
	// A new user has exactly the one session it was made with.
	return privateInfo(u, sess, token, []Session{sess}), nil
}

var errUsernameTaken = Errorf(ErrConflict, "The username is already taken.")

// newSession makes a session and its token for a device.
func (s *Service) newSession(device DeviceInfo, ip string, now time.Time) (token string, sess Session) {
	token, digest := s.tokens.New()
	return token, Session{ID: NewUUID(), TokenHash: digest, IPAddress: ip, CreatedAt: now, UpdatedAt: now, Device: device}
}

// Login checks the credentials first and only then reads the request through
// readBody (R-LOG-1: Basic credentials are checked before the body). It opens a
// session for the device, replacing that device's old one (R-LOG-2).
func (s *Service) Login(ctx context.Context, c Credentials, readBody func() (LoginRequest, error), ip string) (UserInfo, error) {
	u, err := s.checkPassword(ctx, c.Username, c.Password, errBadCredentials)
	if err != nil {
		return UserInfo{}, err
	}
	req, err := readBody()
	if err != nil {
		return UserInfo{}, err
	}
	device, err := required("deviceInfo", req.DeviceInfo)
	if err != nil {
		return UserInfo{}, err
	}
	if device, err = NormalizeDevice(device); err != nil {
		return UserInfo{}, err
	}
	now := s.now()
	token, sess := s.newSession(device, ip, now)
	sess.UserID = u.ID
	sessions, err := s.store.CreateSession(ctx, sess, MaxSessions)
	if err != nil {
		if errors.Is(err, ErrNotFound) { // deleted meanwhile
			return UserInfo{}, errBadCredentials
		}
		return UserInfo{}, err
	}
	if u, err = s.recheck(ctx, u, c.Password, sess.ID); err != nil {
		return UserInfo{}, err
	}
	// The sessions as the write left them, not as read again: a login racing on the
	// same device may have replaced this session since, and an answer listing both
	// would show a state that never existed (R-OBJ-3, R-LOG-2).
	return privateInfo(u, sess, token, sessions), nil
}

// recheck makes sure that a password change or reset that ended every session while a
// login was being checked ends its new session too (R-PW-1, R-RST-1): u is the user as
// checked, sessionID the session just made. A change from now on ends the session with
// the others; one made meanwhile shows as another hash, and then the session stands
// only if the password still matches (the hash may just have been renewed). On an
// error the session is removed; its token was never shown, so if that fails too,
// nobody can use it.
func (s *Service) recheck(ctx context.Context, u User, password, sessionID string) (User, error) {
	cur, err := s.store.User(ctx, u.ID)
	if err == nil && cur.PasswordHash == u.PasswordHash {
		return cur, nil
	}
	if err == nil {
		var ok bool
		if ok, _, err = s.hasher.Verify(ctx, password, cur.PasswordHash); err == nil && ok {
			return cur, nil
		}
	}
	if err == nil || errors.Is(err, ErrNotFound) {
		err = errBadCredentials
	}
	_ = s.store.DeleteSession(ctx, sessionID)
	return User{}, err
}

var (
	errBadCredentials = Errorf(ErrUnauthorized, "The username or password is wrong.")
	errWrongPassword  = Errorf(ErrForbidden, "The password is wrong.")
	errWrongKey       = Errorf(ErrForbidden, "The user id or account key is wrong.")
)

// passwordKey is the throttle key of an account's password failures: the username,
// lower-cased as login does, whether or not such a user exists (R-SEC-4). A name no
// account can have is counted all the same, under a digest that keeps the key short
// whatever a client sends ('#' sets it apart from every valid username).
func passwordKey(username string) string {
	n, err := NormalizeUsername(username)
	if err == nil {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return "#" + hex.EncodeToString(sum[:16])
}

// checkPassword verifies username's password under the password throttle. An unknown
// user costs the same hash as a wrong password and gives the same error, wrong.
// A check that passes on an old, weaker hash replaces it (R-SEC-1).
func (s *Service) checkPassword(ctx context.Context, username, password string, wrong error) (User, error) {
	key := passwordKey(username)
	done, err := s.beginCheck(ctx, s.passwordFailures, key)
	if err != nil {
		return User{}, err
	}
	result := Abandoned
	defer func() { done(result) }()
	u, err := s.store.UserByUsername(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	// An unknown user has no hash: Verify of "" fails at the cost of a real check, so
	// the answer and its time are those of a wrong password (R-LOG-1).
	ok, rehash, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		return User{}, err
	}
	if !ok || u.ID == 0 {
		result = Failed
		return User{}, wrong
	}
	result = Succeeded
	if rehash {
		// Best effort: a failure leaves the old hash, which still works.
		if h, err := s.hasher.Hash(ctx, password); err == nil {
			if s.store.UpdateUser(ctx, u.ID, UserUpdate{PasswordHash: &h, IfPasswordHash: u.PasswordHash}) == nil {
				u.PasswordHash = h
			}
		}
	}
	return u, nil
}

// beginCheck reserves a check of key's secret under t, or returns a 429 error if key
// is blocked by failures. While it is held back only by checks under way, it waits for
// its turn, at most turnWait, and then gives up with 503 (R-SEC-4, R-SEC-5). The caller
// must call done once with the outcome.
//
// Outcomes the throttle fails to record are dropped: the answer is decided already.
func (s *Service) beginCheck(ctx context.Context, t Throttle, key string) (done func(Outcome), err error) {
	var timeout <-chan time.Time
	for {
		r, err := t.Begin(ctx, key, s.now())
		if err != nil {
			return nil, err
		}
		if r.Blocked > 0 {
			return nil, &Error{Kind: ErrTooManyAttempts, Reason: "Too many failed attempts; try again later.", RetryAfter: r.Blocked}
		}
		if r.End != nil {
			// The outcome is recorded even if the client has gone.
			return func(o Outcome) { _ = r.End(context.WithoutCancel(ctx), s.now(), o) }, nil
		}
		if timeout == nil {
			timer := time.NewTimer(turnWait)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-r.Retry:
		case <-timeout:
			return nil, &Error{Kind: ErrBusy, Reason: "Too many checks of this account are under way; try again shortly.", RetryAfter: time.Second}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Authenticate returns the session of an access token, or ErrUnauthorized. It records
// the use at most once per TouchInterval (R-SES-1), and ends a session older than the
// configured maximum age (R-SEC-3).
func (s *Service) Authenticate(ctx context.Context, token string) (Session, error) {
	var sess Session
	err := s.byToken(token, func(digest string) (err error) {
		sess, err = s.store.SessionByToken(ctx, digest)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return s.checkSession(ctx, sess)
}

// byToken calls find with the digest of token, and answers errBadToken for a token
// that has no digest or whose session find does not find.
func (s *Service) byToken(token string, find func(digest string) error) error {
	digest, ok := s.tokens.Digest(token)
	if !ok {
		return errBadToken
	}
	err := find(digest)
	if errors.Is(err, ErrNotFound) {
		return errBadToken
	}
	return err
}

// checkSession ends the session if it is older than the configured maximum age
// (R-SEC-3), and records its use at most once per TouchInterval (R-SES-1).
func (s *Service) checkSession(ctx context.Context, sess Session) (Session, error) {
	now := s.now()
	if s.maxSessionAge > 0 && now.Sub(sess.CreatedAt) > s.maxSessionAge {
		_ = s.store.DeleteSession(ctx, sess.ID)
		return Session{}, errBadToken
	}
	if now.Sub(sess.UpdatedAt) >= TouchInterval {
		// The same condition, checked by the store in the write: of several servers
		// that read the same stale session, one touches it and the others change
		// nothing. Times are whole seconds (now truncates), so "before now-interval+1s"
		// is exactly "at least TouchInterval ago".
		touch := SessionUpdate{UpdatedAt: &now, TouchBefore: now.Add(time.Second - TouchInterval)}
		if err := s.store.UpdateSession(ctx, sess.ID, touch); err != nil {
			if errors.Is(err, ErrNotFound) { // ended meanwhile
				return Session{}, errBadToken
			}
			return Session{}, err
		}
		sess.UpdatedAt = now
	}
	return sess, nil
}

// MeByToken is Authenticate and then Me, for GET /users/me. With a Store that is a
// SessionUserReader, the session, the user and its sessions are one read.
func (s *Service) MeByToken(ctx context.Context, token string) (UserInfo, error) {
	r, ok := s.store.(SessionUserReader)
	if !ok {
		sess, err := s.Authenticate(ctx, token)
		if err != nil {
			return UserInfo{}, err
		}
		return s.Me(ctx, sess, token)
	}
	var sess Session
	var u User
	var sessions []Session
	err := s.byToken(token, func(digest string) (err error) {
		sess, u, sessions, err = r.SessionWithUser(ctx, digest)
		return err
	})
	if err != nil {
		return UserInfo{}, err
	}
	if sess, err = s.checkSession(ctx, sess); err != nil {
		return UserInfo{}, err
	}
	for i := range sessions {
		if sessions[i].ID == sess.ID {
			sessions[i] = sess // as touched
		}
	}
	return privateInfo(u, sess, token, sessions), nil
}

var errBadToken = Errorf(ErrUnauthorized, "The access token is missing, malformed or unknown.")

// Me returns the private UserInfo of the session's user (R-ME-1). token is the
// caller's own, shown again on its session (R-OBJ-3).
func (s *Service) Me(ctx context.Context, sess Session, token string) (UserInfo, error) {
	u, err := s.sessionUser(ctx, sess)
	if err != nil {
		return UserInfo{}, err
	}
	return s.privateInfo(ctx, u, sess, token)
}

// sessionUser loads the user of an authenticated session.
func (s *Service) sessionUser(ctx context.Context, sess Session) (User, error) {
	u, err := s.store.User(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) { // deleted after Authenticate
		return User{}, errBadToken
	}
	return u, err
}

// Logout ends the caller's session only (R-OUT-1).
func (s *Service) Logout(ctx context.Context, sess Session) error {
	err := s.store.DeleteSession(ctx, sess.ID)
	if errors.Is(err, ErrNotFound) {
		return errBadToken
	}
	return err
}

// ChangePassword replaces the password after checking the old one, and ends every
// other session of the user; the caller's stays (R-PW-1).
func (s *Service) ChangePassword(ctx context.Context, sess Session, req ChangePasswordRequest) error {
	oldPassword, err := required("oldPassword", req.OldPassword)
	if err != nil {
		return err
	}
	newPassword, err := required("newPassword", req.NewPassword)
	if err != nil {
		return err
	}
	u, err := s.sessionUser(ctx, sess)
	if err != nil {
		return err
	}
	// oldPassword is a field like any other (R-FLD-3): one equal to the username cannot be
	// the password, and is 400 before any secret is checked or counted (R-WIRE-11).
	if err := CheckPassword("oldPassword", oldPassword, u.Username); err != nil {
		return err
	}
	if err := CheckPassword("newPassword", newPassword, u.Username); err != nil {
		return err
	}
	checked, err := s.checkPassword(ctx, u.Username, oldPassword, errWrongOldPassword)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	// The condition is the hash the old password was checked against (as rehashed by
	// checkPassword, if it did): a password changed meanwhile wins over this change,
	// which never saw it, rather than be silently undone.
	err = s.store.UpdateUser(ctx, u.ID, UserUpdate{PasswordHash: &hash, IfPasswordHash: checked.PasswordHash, EndSessions: true, KeepSession: sess.ID})
	switch {
	case errors.Is(err, ErrConflict):
		return errWrongOldPassword
	case errors.Is(err, ErrNotFound): // deleted meanwhile
		return errBadToken
	}
	return err
}

var errWrongOldPassword = Errorf(ErrForbidden, "The old password is wrong.")

// SetAccountKey sets or replaces the account key after checking the password (R-KEY-1).
func (s *Service) SetAccountKey(ctx context.Context, sess Session, req SetAccountKeyRequest) error {
	password, err := required("password", req.Password)
	if err != nil {
		return err
	}
	key, err := required("accountKey", req.AccountKey)
	if err != nil {
		return err
	}
	if err := CheckPassword("password", password, ""); err != nil {
		return err
	}
	if err := CheckAccountKey(key); err != nil {
		return err
	}
	u, err := s.sessionUser(ctx, sess)
	if err != nil {
		return err
	}
	if err := CheckPassword("password", password, u.Username); err != nil { // R-WIRE-11
		return err
	}
	checked, err := s.checkPassword(ctx, u.Username, password, errWrongPassword)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, key)
	if err != nil {
		return err
	}
	// Only while the password checked is still the account's: once the owner has
	// changed it, whoever knew the old one cannot plant a reset key any more.
	err = s.store.UpdateUser(ctx, u.ID, UserUpdate{AccountKeyHash: &hash, IfPasswordHash: checked.PasswordHash})
	switch {
	case errors.Is(err, ErrConflict):
		return errWrongPassword
	case errors.Is(err, ErrNotFound): // deleted meanwhile
		return errBadToken
	}
	return err
}

// ResetPassword sets a new password for whoever holds the account key, and ends every
// session of the user (R-RST-1). Unknown user, user without a key and wrong key are
// one and the same 403.
func (s *Service) ResetPassword(ctx context.Context, req ResetPasswordRequest) error {
	id, err := required("userId", req.UserID)
	if err != nil {
		return err
	}
	key, err := required("accountKey", req.AccountKey)
	if err != nil {
		return err
	}
	newPassword, err := required("newPassword", req.NewPassword)
	if err != nil {
		return err
	}
	if id <= 0 {
		return invalid("userId must be a positive integer.")
	}
	if err := CheckAccountKey(key); err != nil {
		return err
	}
	if err := CheckPassword("newPassword", newPassword, ""); err != nil {
		return err
	}
	tkey := strconv.FormatInt(id, 10)
	done, err := s.beginCheck(ctx, s.keyFailures, tkey)
	if err != nil {
		return err
	}
	result := Abandoned
	defer func() { done(result) }()
	u, err := s.store.User(ctx, id)
	hash := u.AccountKeyHash
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	default:
		if err := CheckPassword("newPassword", newPassword, u.Username); err != nil {
			return err
		}
	}
	// Without a key, Verify of "" costs a real check and fails (R-RST-1: one 403).
	ok, _, err := s.hasher.Verify(ctx, key, hash)
	if err != nil {
		return err
	}
	if !ok || u.AccountKeyHash == "" {
		result = Failed
		return errWrongKey
	}
	newHash, err := s.hasher.Hash(ctx, newPassword)
	if err != nil {
		return err
	}
	if err := s.store.UpdateUser(ctx, u.ID, UserUpdate{PasswordHash: &newHash, EndSessions: true}); err != nil {
		if errors.Is(err, ErrNotFound) {
			return errWrongKey
		}
		return err
	}
	result = Succeeded
	_ = s.passwordFailures.Clear(context.WithoutCancel(ctx), u.Username) // the owner proved themselves: let them log in
	return nil
}

// UpdateUser changes the name and/or about of the caller (R-UPD-1).
func (s *Service) UpdateUser(ctx context.Context, sess Session, req UpdateUserRequest) error {
	var ch UserUpdate
	if req.Name != nil {
		name, err := NormalizeName(*req.Name)
		if err != nil {
			return err
		}
		ch.Name = &name
	}
	if req.About != nil {
		about, err := NormalizeAbout(*req.About)
		if err != nil {
			return err
		}
		ch.About = &about
	}
	if ch.Name == nil && ch.About == nil {
		return nil
	}
	err := s.store.UpdateUser(ctx, sess.UserID, ch)
	if errors.Is(err, ErrNotFound) {
		return errBadToken
	}
	return err
}

// UpdateDevice changes the device name and/or push token of the caller's session (R-DEV-1).
func (s *Service) UpdateDevice(ctx context.Context, sess Session, req UpdateDeviceRequest) error {
	var ch SessionUpdate
	if req.DeviceName != nil {
		name := strings.TrimSpace(*req.DeviceName)
		if err := checkText("deviceName", name, 0, DeviceNameMax); err != nil {
			return err
		}
		ch.DeviceName = &name
	}
	if req.DeviceToken != nil {
		if err := checkText("deviceToken", *req.DeviceToken, 0, DeviceTokenMax); err != nil {
			return err
		}
		ch.DeviceToken = req.DeviceToken
	}
	if ch.DeviceName == nil && ch.DeviceToken == nil {
		return nil
	}
	err := s.store.UpdateSession(ctx, sess.ID, ch)
	if errors.Is(err, ErrNotFound) {
		return errBadToken
	}
	return err
}

// User returns the public UserInfo of the user with the ID (R-GET-1).
func (s *Service) User(ctx context.Context, id int64) (UserInfo, error) {
	if id <= 0 {
		return UserInfo{}, invalid("The user id must be a positive integer.")
	}
	u, err := s.store.User(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return UserInfo{}, Errorf(ErrNotFound, "No user has this id.")
	}
	if err != nil {
		return UserInfo{}, err
	}
	return s.publicInfo(ctx, u)
}

// Health returns nil when the service can serve reads and writes, else why not: an
// ErrBusy *Error when the store cannot take writes (its disk is full or failing).
func (s *Service) Health() error {
	if wc, ok := s.store.(WriteChecker); ok {
		return wc.Writable()
	}
	return nil
}

// Search finds users by a substring of their name or username (R-SRCH-1).
func (s *Service) Search(ctx context.Context, q string) ([]UserInfo, error) {
	q, err := NormalizeSearch(q)
	if err != nil {
		return nil, err
	}
	found, err := s.store.SearchUsers(ctx, q, MaxSearch)
	if err != nil {
		return nil, err
	}
	out := make([]UserInfo, 0, len(found))
	for _, u := range found {
		info, err := s.publicInfo(ctx, u)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// Deregister deletes the user of the credentials with every session, photo, upload and
// file (R-DEL-1). It takes Basic credentials, not a token, as the API text says.
func (s *Service) Deregister(ctx context.Context, c Credentials) error {
	u, err := s.checkPassword(ctx, c.Username, c.Password, errBadCredentials)
	if err != nil {
		return err
	}
	unlock, err := s.uploadLock.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	ups, err := s.store.DeleteUser(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return errBadCredentials
	}
	if err != nil {
		return err
	}
	_ = s.removeUploadFiles(ups) // the records are gone; leftover bytes are unreachable
	return nil
}

// publicInfo builds the public UserInfo of u (R-OBJ-1, R-OBJ-2).
func (s *Service) publicInfo(ctx context.Context, u User) (UserInfo, error) {
	sessions, err := s.store.Sessions(ctx, u.ID)
	if err != nil {
		return UserInfo{}, err
	}
	info := userInfo(u)
	info.LastSeen = lastSeen(sessions)
	return info, nil
}

// privateInfo builds the private UserInfo of u for the session cur, whose token is
// shown (R-OBJ-3): cur first, then the other sessions, most recently used first.
func (s *Service) privateInfo(ctx context.Context, u User, cur Session, token string) (UserInfo, error) {
	sessions, err := s.store.Sessions(ctx, u.ID)
	if err != nil {
		return UserInfo{}, err
	}
	return privateInfo(u, cur, token, sessions), nil
}

// privateInfo builds the private UserInfo of u from one state of its sessions, cur
// first with its token (R-OBJ-3).
func privateInfo(u User, cur Session, token string, sessions []Session) UserInfo {
	info := userInfo(u)
	info.LastSeen = lastSeen(sessions)
	slices.SortFunc(sessions, func(a, b Session) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	info.DeviceSessions = make([]DeviceSession, 0, len(sessions))
	info.DeviceSessions = append(info.DeviceSessions, deviceSession(cur, token))
	for _, sess := range sessions {
		if sess.ID != cur.ID {
			info.DeviceSessions = append(info.DeviceSessions, deviceSession(sess, ""))
		}
	}
	return info
}

func userInfo(u User) UserInfo {
	info := UserInfo{ID: u.ID, Name: u.Name, Username: u.Username, About: u.About, CreatedAt: u.CreatedAt, Photos: make([]MediaInfo, 0, len(u.Photos))}
	for i := len(u.Photos) - 1; i >= 0; i-- { // newest first
		p := u.Photos[i]
		info.Photos = append(info.Photos, MediaInfo{ID: p.ID, FileType: p.FileType, FileSize: p.FileSize, PreviewWidth: p.PreviewWidth, PreviewHeight: p.PreviewHeight, CreatedAt: p.CreatedAt})
	}
	return info
}

func deviceSession(s Session, token string) DeviceSession {
	return DeviceSession{ID: s.ID, AccessToken: token, IPAddress: s.IPAddress, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, DeviceInfo: s.Device}
}

// lastSeen is the newest UpdatedAt over the sessions, or nil without any (R-SES-2).
func lastSeen(sessions []Session) *time.Time {
	if len(sessions) == 0 {
		return nil
	}
	t := sessions[0].UpdatedAt
	for _, s := range sessions[1:] {
		if s.UpdatedAt.After(t) {
			t = s.UpdatedAt
		}
	}
	return &t
}
