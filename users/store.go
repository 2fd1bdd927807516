package users

import (
	"context"
	"time"
)

// Store keeps users, sessions, uploads and photos. Implementations live in package
// storage; storage/storagetest checks every guarantee written here.
//
// Every method is atomic: it happens entirely or not at all, and concurrent calls see
// each other's effects in some serial order. A method that changes data returns only
// once the change is durable, if the store is durable (R-STO-2). Values passed in and
// returned are copies: changing them afterwards does not change the store.
//
// The store enforces only what must hold atomically (unique usernames, ownership of
// file names, caps that concurrent calls could overshoot). Every other rule is the
// Service's, and the store trusts what it is given.
type Store interface {
	// CreateUser stores u under a new ID, greater than every ID the store ever gave out
	// (IDs of deleted users are never reused), together with its first session, whose
	// UserID the store sets. It returns the stored user. u.Username must be normalized;
	// if another user has it, CreateUser returns ErrConflict and stores nothing.
	CreateUser(ctx context.Context, u User, first Session) (User, error)

	// User returns the user with the ID, or ErrNotFound.
	User(ctx context.Context, id int64) (User, error)

	// UserByUsername returns the user with the normalized username, or ErrNotFound.
	UserByUsername(ctx context.Context, username string) (User, error)

	// SearchUsers returns at most limit users whose name or username contains q,
	// compared in lower case (q is given in lower case). Order (R-SRCH-1): the user whose
	// username equals q, then users whose username starts with q, then the rest; ties by
	// ascending ID. No match is an empty slice and no error.
	SearchUsers(ctx context.Context, q string, limit int) ([]User, error)

	// UpdateUser applies the change to the user with the ID in one step, or returns
	// ErrNotFound. See UserUpdate for the compare-and-set condition (ErrConflict).
	UpdateUser(ctx context.Context, id int64, ch UserUpdate) error

	// DeleteUser removes the user with the ID, all its sessions, photos and upload
	// records, and returns the upload records it removed so that their files can be
	// deleted. ErrNotFound if there is no such user.
	DeleteUser(ctx context.Context, id int64) ([]Upload, error)

	// CreateSession stores s for its user. A session of the same user with the same
	// Device.ID is replaced (R-LOG-2). If the user then has more than max sessions, the
	// ones with the oldest UpdatedAt (ties: oldest CreatedAt) are removed until max
	// remain; s itself is never removed. It returns the user's sessions as they are right
	// after the change, s among them: one state that existed, which a later read may no
	// longer show (another login may have replaced s meanwhile). ErrNotFound if the user
	// does not exist.
	CreateSession(ctx context.Context, s Session, max int) ([]Session, error)

	// SessionByToken returns the session whose TokenHash is tokenHash, or ErrNotFound.
	SessionByToken(ctx context.Context, tokenHash string) (Session, error)

	// Sessions returns every session of the user, in no particular order, and an empty
	// slice (no error) when there are none or the user does not exist.
	Sessions(ctx context.Context, userID int64) ([]Session, error)

	// UpdateSession applies the change to the session with the ID, or returns ErrNotFound.
	UpdateSession(ctx context.Context, id string, ch SessionUpdate) error

	// DeleteSession removes the session with the ID, or returns ErrNotFound.
	DeleteSession(ctx context.Context, id string) error

	// PutUpload stores the upload record, replacing the record of the same Name if it is
	// the same owner's (whatever its Type) and returning the replaced record, or nil.
	// ErrConflict if the name belongs to another user or its current record is in use
	// as a photo; ErrNotFound if the owner does not exist.
	PutUpload(ctx context.Context, up Upload) (replaced *Upload, err error)

	// Upload returns the upload record with the name, or ErrNotFound.
	Upload(ctx context.Context, name string) (Upload, error)

	// AddPhoto makes the upload named p.ID a photo of the user, placed after the user's
	// other photos. ErrNotFound if the user does not exist or the upload is not the
	// user's; ErrConflict if it is already a photo; ErrInvalid if the user already has
	// max photos.
	AddPhoto(ctx context.Context, userID int64, p Photo, max int) error

	// DeletePhoto removes the photo with the ID from the user, together with its upload
	// record, and returns that record so its files can be deleted. ErrNotFound if the
	// user has no such photo.
	DeletePhoto(ctx context.Context, userID int64, photoID string) (Upload, error)

	// DeleteUpload removes the upload record with the name if it is the user's, and
	// returns it so that its files can be deleted. ErrNotFound if there is no such
	// record or it is another user's; ErrConflict if it is in use as a photo (R-LIM-3).
	DeleteUpload(ctx context.Context, userID int64, name string) (Upload, error)

	// UploadBytes returns the sum of the Size of the user's upload records, 0 (no
	// error) when there are none or the user does not exist (R-LIM-2).
	UploadBytes(ctx context.Context, userID int64) (int64, error)

	// Close releases the store. Calls after Close may fail.
	Close() error
}

// WriteChecker is what a Store may also do: say whether it can take writes now. The
// file store cannot while its disk refuses them (it answers such writes ErrBusy);
// Service.Health asks it for /healthz. A Store without it always can.
type WriteChecker interface {
	// Writable returns nil if writes may succeed, else an ErrBusy *Error saying why.
	Writable() error
}

// SessionUserReader is what a Store may also do: find the session of a token digest
// together with its user and every session of that user (as SessionByToken, User and
// Sessions would), in one step, which a store on a database does in one round trip.
// GET /users/me, the most frequent request, uses it when it can (Service.MeByToken).
type SessionUserReader interface {
	// SessionWithUser returns the session whose TokenHash is tokenHash, its user and
	// the user's sessions, or ErrNotFound if there is no such session or user.
	SessionWithUser(ctx context.Context, tokenHash string) (Session, User, []Session, error)
}

// UserUpdate is a change to one user. Nil fields are left as they are.
type UserUpdate struct {
	Name           *string
	About          *string
	PasswordHash   *string
	AccountKeyHash *string

	// IfPasswordHash, when not empty, makes the update conditional: it applies only if
	// the stored PasswordHash still equals it, else UpdateUser returns ErrConflict.
	// It keeps a slow check made outside any lock from acting on a stale secret.
	IfPasswordHash string

	// EndSessions removes every session of the user except the one with the ID
	// KeepSession (none is kept when KeepSession is empty).
	EndSessions bool
	KeepSession string
}

// SessionUpdate is a change to one session. Nil fields are left as they are.
type SessionUpdate struct {
	UpdatedAt   *time.Time
	DeviceName  *string
	DeviceToken *string

	// TouchBefore, when not zero, makes the update conditional: it applies only if the
	// stored UpdatedAt is before TouchBefore; otherwise the update changes nothing and
	// UpdateSession returns nil (ErrNotFound still if there is no such session). It makes
	// the once-a-minute touch of R-SES-1 one write however many servers see the same
	// stale session at once.
	TouchBefore time.Time
}

// Hasher turns secrets (passwords, account keys) into self-describing slow hashes and
// checks them (R-SEC-1). Implementations bound how many hashes run at once and return
// ErrBusy when no slot frees up in time (R-SEC-5).
type Hasher interface {
	// Hash returns the encoded hash of secret.
	Hash(ctx context.Context, secret string) (string, error)
	// Verify reports whether secret matches encoded, and whether encoded should be
	// replaced by a fresh Hash (its parameters are below the configured ones). An
	// encoded value that cannot be parsed, or is too weak, never matches (R-SEC-3a), and
	// checking it costs as much as a real check: the Service verifies against "" for
	// unknown accounts, so that they cannot be told apart by time (R-LOG-1).
	Verify(ctx context.Context, secret, encoded string) (ok, rehash bool, err error)
}

// Tokens makes access tokens and the digests the store keeps instead of them (R-SEC-2).
type Tokens interface {
	// New returns a fresh random token and its digest.
	New() (token, digest string)
	// Digest returns token's digest, or ok false if token is malformed.
	Digest(token string) (digest string, ok bool)
}
