package storage

import (
	"slices"
	"strings"
	"time"

	"usersapi/users"
)

// Operations of a record. Their names are part of the journal format (docs/storage.md):
// never rename one.
const (
	opCreateUser    = "createUser"
	opUpdateUser    = "updateUser"
	opDeleteUser    = "deleteUser"
	opCreateSession = "createSession"
	opUpdateSession = "updateSession"
	opDeleteSession = "deleteSession"
	opPutUpload     = "putUpload"
	opAddPhoto      = "addPhoto"
	opDeletePhoto   = "deletePhoto"
	opDeleteUpload  = "deleteUpload"
)

// record is one mutation: the arguments of one Store call, with the user ID already
// assigned for createUser. Applying the same records in the same order to the same state
// always gives the same state, which is what lets the file store replay its journal.
type record struct {
	Op            string         `json:"op"`
	ID            int64          `json:"id,omitempty"`  // user ID
	Key           string         `json:"key,omitempty"` // session ID, photo ID or upload name
	Max           int            `json:"max,omitempty"`
	User          *users.User    `json:"user,omitempty"`
	Session       *users.Session `json:"session,omitempty"`
	Upload        *users.Upload  `json:"upload,omitempty"`
	Photo         *users.Photo   `json:"photo,omitempty"`
	UserUpdate    *userUpdate    `json:"userUpdate,omitempty"`
	SessionUpdate *sessionUpdate `json:"sessionUpdate,omitempty"`

	// touchBefore is the condition of users.SessionUpdate.TouchBefore (updateSession).
	// It is checked before the record is journaled and never written: a record whose
	// condition fails changes nothing and is not journaled, and one that is journaled
	// applies again on replay without it.
	touchBefore time.Time
}

// userUpdate is users.UserUpdate as written in the journal.
type userUpdate struct {
	Name           *string `json:"name,omitempty"`
	About          *string `json:"about,omitempty"`
	PasswordHash   *string `json:"passwordHash,omitempty"`
	AccountKeyHash *string `json:"accountKeyHash,omitempty"`
	IfPasswordHash string  `json:"ifPasswordHash,omitempty"`
	EndSessions    bool    `json:"endSessions,omitempty"`
	KeepSession    string  `json:"keepSession,omitempty"`
}

// sessionUpdate is users.SessionUpdate as written in the journal.
type sessionUpdate struct {
	UpdatedAt   *time.Time `json:"updatedAt,omitempty"`
	DeviceName  *string    `json:"deviceName,omitempty"`
	DeviceToken *string    `json:"deviceToken,omitempty"`
}

// entry is one user with its sessions. Entries and sessions are never changed in place:
// a change builds a new entry (copy on write), so a list of entry pointers taken under
// the lock stays a consistent picture of the data while writers go on. The file store's
// compaction writes its snapshot from such a list.
type entry struct {
	user     users.User
	sessions []*users.Session
}

// result is what a mutation gives back to its caller.
type result struct {
	user     users.User
	sessions []users.Session // createSession: the user's sessions right after it
	uploads  []users.Upload
	upload   users.Upload
	replaced *users.Upload
}

// state is the whole data set with its indexes. It is not safe for concurrent use: the
// stores guard it with a sync.RWMutex.
type state struct {
	lastID         int64 // greatest user ID ever given out; IDs are never reused
	byID           map[int64]*entry
	byUsername     map[string]int64
	sessByID       map[string]*users.Session
	sessByToken    map[string]*users.Session
	uploads        map[string]*users.Upload
	uploadsByOwner map[int64]map[string]struct{}
	index          searchIndex
}

func newState() *state {
	return newStateSized(0, 0, 0)
}

func newStateSized(nUsers, nSessions, nUploads int) *state {
	return &state{
		byID:           make(map[int64]*entry, nUsers),
		byUsername:     make(map[string]int64, nUsers),
		sessByID:       make(map[string]*users.Session, nSessions),
		sessByToken:    make(map[string]*users.Session, nSessions),
		uploads:        make(map[string]*users.Upload, nUploads),
		uploadsByOwner: make(map[int64]map[string]struct{}),
	}
}

// prepare checks that r applies to the state without changing anything. On success it
// returns the function that applies r; nothing may change the state in between. A nil
// function and no error mean that r applies but changes nothing (a conditional touch
// whose condition fails), so there is nothing to apply or journal.
// Errors are those documented on users.Store.
func (s *state) prepare(r *record) (commit func() result, err error) {
	switch r.Op {
	case opCreateUser:
		return s.prepareCreateUser(r)
	case opUpdateUser:
		return s.prepareUpdateUser(r)
	case opDeleteUser:
		return s.prepareDeleteUser(r)
	case opCreateSession:
		return s.prepareCreateSession(r)
	case opUpdateSession:
		return s.prepareUpdateSession(r)
	case opDeleteSession:
		return s.prepareDeleteSession(r)
	case opPutUpload:
		return s.preparePutUpload(r)
	case opAddPhoto:
		return s.prepareAddPhoto(r)
	case opDeletePhoto:
		return s.prepareDeletePhoto(r)
	case opDeleteUpload:
		return s.prepareDeleteUpload(r)
	}
	return nil, users.Errorf(users.ErrInvalid, "Unknown operation %q.", r.Op)
}

func errNoUser(id int64) error {
	return users.Errorf(users.ErrNotFound, "No user has the ID %d.", id)
}

func errNoSession() error {
	return users.Errorf(users.ErrNotFound, "No such session.")
}

func (s *state) prepareCreateUser(r *record) (func() result, error) {
	if r.User == nil || r.Session == nil {
		return nil, users.Errorf(users.ErrInvalid, "A new user needs a user and a session.")
	}
	u, first := r.User, r.Session
	if u.ID <= s.lastID {
		return nil, users.Errorf(users.ErrInvalid, "User ID %d is not above the last one given out (%d).", u.ID, s.lastID)
	}
	if first.UserID != u.ID {
		return nil, users.Errorf(users.ErrInvalid, "The first session belongs to user %d, not %d.", first.UserID, u.ID)
	}
	if _, taken := s.byUsername[u.Username]; taken {
		return nil, users.Errorf(users.ErrConflict, "The username is already taken.")
	}
	if err := s.checkNewSession(first, nil); err != nil {
		return nil, err
	}
	return func() result {
		e := &entry{user: copyUser(*u)}
		sess := *first
		e.sessions = []*users.Session{&sess}
		s.lastID = u.ID
		s.insertEntry(e)
		s.addSession(&sess)
		return result{user: copyUser(e.user)}
	}, nil
}

// insertEntry adds a new entry, whose ID is above every other.
func (s *state) insertEntry(e *entry) {
	s.byID[e.user.ID] = e
	s.byUsername[e.user.Username] = e.user.ID
	s.index.add(e)
}

// checkNewSession reports ErrConflict if the ID or token hash of sess is used by a
// session other than those in replaced.
func (s *state) checkNewSession(sess *users.Session, replaced []*users.Session) error {
	if old, ok := s.sessByID[sess.ID]; ok && !slices.Contains(replaced, old) {
		return users.Errorf(users.ErrConflict, "The session ID is already in use.")
	}
	if old, ok := s.sessByToken[sess.TokenHash]; ok && !slices.Contains(replaced, old) {
		return users.Errorf(users.ErrConflict, "The session token is already in use.")
	}
	return nil
}

// userOf returns the user whose data the record r changes; r has been prepared and not
// yet applied.
func (s *state) userOf(r *record) int64 {
	switch {
	case r.User != nil:
		return r.User.ID
	case r.Session != nil:
		return r.Session.UserID
	case r.Upload != nil:
		return r.Upload.OwnerID
	case r.Op == opUpdateSession || r.Op == opDeleteSession:
		return s.sessByID[r.Key].UserID
	}
	return r.ID
}

func (s *state) addSession(sess *users.Session) {
	s.sessByID[sess.ID] = sess
	s.sessByToken[sess.TokenHash] = sess
}

func (s *state) removeSession(sess *users.Session) {
	if s.sessByID[sess.ID] == sess {
		delete(s.sessByID, sess.ID)
	}
	if s.sessByToken[sess.TokenHash] == sess {
		delete(s.sessByToken, sess.TokenHash)
	}
}

// replaceEntry puts ne in place of the entry with the same ID.
func (s *state) replaceEntry(old, ne *entry) {
	s.byID[ne.user.ID] = ne
	s.index.replace(old, ne)
}

func (s *state) prepareUpdateUser(r *record) (func() result, error) {
	e, ok := s.byID[r.ID]
	if !ok {
		return nil, errNoUser(r.ID)
	}
	ch := r.UserUpdate
	if ch == nil {
		ch = &userUpdate{}
	}
	if ch.IfPasswordHash != "" && ch.IfPasswordHash != e.user.PasswordHash {
		return nil, users.Errorf(users.ErrConflict, "The password changed meanwhile.")
	}
	return func() result {
		ne := &entry{user: e.user, sessions: e.sessions}
		if ch.Name != nil {
			ne.user.Name = *ch.Name
		}
		if ch.About != nil {
			ne.user.About = *ch.About
		}
		if ch.PasswordHash != nil {
			ne.user.PasswordHash = *ch.PasswordHash
		}
		if ch.AccountKeyHash != nil {
			ne.user.AccountKeyHash = *ch.AccountKeyHash
		}
		if ch.EndSessions {
			var kept []*users.Session
			for _, sess := range e.sessions {
				if ch.KeepSession != "" && sess.ID == ch.KeepSession {
					kept = append(kept, sess)
				} else {
					s.removeSession(sess)
				}
			}
			ne.sessions = kept
		}
		s.replaceEntry(e, ne)
		return result{}
	}, nil
}

func (s *state) prepareDeleteUser(r *record) (func() result, error) {
	e, ok := s.byID[r.ID]
	if !ok {
		return nil, errNoUser(r.ID)
	}
	return func() result {
		for _, sess := range e.sessions {
			s.removeSession(sess)
		}
		var removed []users.Upload
		for name := range s.uploadsByOwner[r.ID] {
			removed = append(removed, *s.uploads[name])
			delete(s.uploads, name)
		}
		delete(s.uploadsByOwner, r.ID)
		slices.SortFunc(removed, func(a, b users.Upload) int { return strings.Compare(a.Name, b.Name) })
		if removed == nil {
			removed = []users.Upload{}
		}
		delete(s.byUsername, e.user.Username)
		delete(s.byID, r.ID)
		s.index.remove(e)
		return result{uploads: removed}
	}, nil
}

func (s *state) prepareCreateSession(r *record) (func() result, error) {
	if r.Session == nil {
		return nil, users.Errorf(users.ErrInvalid, "No session given.")
	}
	sess := r.Session
	e, ok := s.byID[sess.UserID]
	if !ok {
		return nil, errNoUser(sess.UserID)
	}
	// One session per device (R-LOG-2).
	var replaced []*users.Session
	for _, old := range e.sessions {
		if old.Device.ID == sess.Device.ID {
			replaced = append(replaced, old)
		}
	}
	if err := s.checkNewSession(sess, replaced); err != nil {
		return nil, err
	}
	return func() result {
		kept := make([]*users.Session, 0, len(e.sessions)+1)
		for _, old := range e.sessions {
			if slices.Contains(replaced, old) {
				s.removeSession(old)
			} else {
				kept = append(kept, old)
			}
		}
		// The cap (R-LOG-2): the oldest UpdatedAt goes first, ties by oldest CreatedAt,
		// then by creation order. An entry's sessions are always kept in creation order
		// (a new one is appended, nothing reorders them), and the snapshot and the
		// journal keep that order, so a replay evicts the same ones. Times are kept to
		// the second, so logins within one second tie on both.
		limit := max(r.Max, 1)
		if over := len(kept) + 1 - limit; over > 0 {
			byAge := slices.Clone(kept)
			slices.SortStableFunc(byAge, func(a, b *users.Session) int {
				if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
					return c
				}
				return a.CreatedAt.Compare(b.CreatedAt)
			})
			evicted := byAge[:over]
			for _, old := range evicted {
				s.removeSession(old)
			}
			kept = slices.DeleteFunc(kept, func(x *users.Session) bool { return slices.Contains(evicted, x) })
		}
		ns := *sess
		kept = append(kept, &ns)
		s.addSession(&ns)
		s.replaceEntry(e, &entry{user: e.user, sessions: kept})
		after := make([]users.Session, len(kept))
		for i, x := range kept {
			after[i] = *x
		}
		return result{sessions: after}
	}, nil
}

func (s *state) prepareUpdateSession(r *record) (func() result, error) {
	old, ok := s.sessByID[r.Key]
	if !ok {
		return nil, errNoSession()
	}
	if !r.touchBefore.IsZero() && !old.UpdatedAt.Before(r.touchBefore) {
		return nil, nil // touched meanwhile: nothing to do
	}
	e := s.byID[old.UserID]
	ch := r.SessionUpdate
	if ch == nil {
		ch = &sessionUpdate{}
	}
	return func() result {
		ns := *old
		if ch.UpdatedAt != nil {
			ns.UpdatedAt = *ch.UpdatedAt
		}
		if ch.DeviceName != nil {
			ns.Device.Name = *ch.DeviceName
		}
		if ch.DeviceToken != nil {
			ns.Device.Token = *ch.DeviceToken
		}
		sessions := slices.Clone(e.sessions)
		for i, sess := range sessions {
			if sess == old {
				sessions[i] = &ns
			}
		}
		s.addSession(&ns)
		s.replaceEntry(e, &entry{user: e.user, sessions: sessions})
		return result{}
	}, nil
}

func (s *state) prepareDeleteSession(r *record) (func() result, error) {
	old, ok := s.sessByID[r.Key]
	if !ok {
		return nil, errNoSession()
	}
	e := s.byID[old.UserID]
	return func() result {
		s.removeSession(old)
		sessions := make([]*users.Session, 0, len(e.sessions))
		for _, sess := range e.sessions {
			if sess != old {
				sessions = append(sessions, sess)
			}
		}
		s.replaceEntry(e, &entry{user: e.user, sessions: sessions})
		return result{}
	}, nil
}

func isPhoto(u *users.User, name string) bool {
	return slices.ContainsFunc(u.Photos, func(p users.Photo) bool { return p.ID == name })
}

func (s *state) preparePutUpload(r *record) (func() result, error) {
	if r.Upload == nil {
		return nil, users.Errorf(users.ErrInvalid, "No upload given.")
	}
	up := *r.Upload
	owner, ok := s.byID[up.OwnerID]
	if !ok {
		return nil, errNoUser(up.OwnerID)
	}
	old, exists := s.uploads[up.Name]
	if exists {
		if old.OwnerID != up.OwnerID {
			return nil, users.Errorf(users.ErrConflict, "The file name belongs to another user.")
		}
		if isPhoto(&owner.user, up.Name) {
			return nil, users.Errorf(users.ErrConflict, "The file is in use as a photo.")
		}
	}
	return func() result {
		var res result
		if exists {
			replaced := *old
			res.replaced = &replaced
		}
		s.uploads[up.Name] = &up
		names := s.uploadsByOwner[up.OwnerID]
		if names == nil {
			names = make(map[string]struct{})
			s.uploadsByOwner[up.OwnerID] = names
		}
		names[up.Name] = struct{}{}
		return res
	}, nil
}

func (s *state) prepareAddPhoto(r *record) (func() result, error) {
	if r.Photo == nil {
		return nil, users.Errorf(users.ErrInvalid, "No photo given.")
	}
	p := *r.Photo
	e, ok := s.byID[r.ID]
	if !ok {
		return nil, errNoUser(r.ID)
	}
	if up, ok := s.uploads[p.ID]; !ok || up.OwnerID != r.ID {
		return nil, users.Errorf(users.ErrNotFound, "The user has no such file.")
	}
	if isPhoto(&e.user, p.ID) {
		return nil, users.Errorf(users.ErrConflict, "The file is already a photo.")
	}
	if len(e.user.Photos) >= r.Max {
		return nil, users.Errorf(users.ErrInvalid, "The user already has %d photos, the most allowed.", len(e.user.Photos))
	}
	return func() result {
		ne := &entry{user: e.user, sessions: e.sessions}
		ne.user.Photos = append(slices.Clip(e.user.Photos), p)
		s.replaceEntry(e, ne)
		return result{}
	}, nil
}

func (s *state) prepareDeletePhoto(r *record) (func() result, error) {
	e, ok := s.byID[r.ID]
	if !ok || !isPhoto(&e.user, r.Key) {
		return nil, users.Errorf(users.ErrNotFound, "The user has no such photo.")
	}
	return func() result {
		ne := &entry{user: e.user, sessions: e.sessions}
		ne.user.Photos = slices.DeleteFunc(slices.Clone(e.user.Photos), func(p users.Photo) bool { return p.ID == r.Key })
		if len(ne.user.Photos) == 0 {
			ne.user.Photos = nil
		}
		s.replaceEntry(e, ne)
		var res result
		if up, ok := s.uploads[r.Key]; ok && up.OwnerID == r.ID {
			res.upload = *up
			delete(s.uploads, r.Key)
			delete(s.uploadsByOwner[r.ID], r.Key)
			if len(s.uploadsByOwner[r.ID]) == 0 {
				delete(s.uploadsByOwner, r.ID)
			}
		}
		return res
	}, nil
}

func (s *state) prepareDeleteUpload(r *record) (func() result, error) {
	up, ok := s.uploads[r.Key]
	if !ok || up.OwnerID != r.ID {
		return nil, users.Errorf(users.ErrNotFound, "The user has no such file.")
	}
	if e, ok := s.byID[r.ID]; ok && isPhoto(&e.user, r.Key) {
		return nil, users.Errorf(users.ErrConflict, "The file is in use as a photo.")
	}
	return func() result {
		res := result{upload: *up}
		delete(s.uploads, r.Key)
		delete(s.uploadsByOwner[r.ID], r.Key)
		if len(s.uploadsByOwner[r.ID]) == 0 {
			delete(s.uploadsByOwner, r.ID)
		}
		return res
	}, nil
}

// uploadBytes is the sum of the sizes of the user's uploads.
func (s *state) uploadBytes(userID int64) int64 {
	var n int64
	for name := range s.uploadsByOwner[userID] {
		n += s.uploads[name].Size
	}
	return n
}

// copyUser returns u with its own Photos slice, so that callers cannot reach the store.
func copyUser(u users.User) users.User {
	u.Photos = slices.Clone(u.Photos)
	return u
}

func (s *state) user(id int64) (users.User, error) {
	e, ok := s.byID[id]
	if !ok {
		return users.User{}, errNoUser(id)
	}
	return copyUser(e.user), nil
}

func (s *state) userByUsername(name string) (users.User, error) {
	id, ok := s.byUsername[name]
	if !ok {
		return users.User{}, users.Errorf(users.ErrNotFound, "No user has that username.")
	}
	return s.user(id)
}

func (s *state) sessionByToken(hash string) (users.Session, error) {
	sess, ok := s.sessByToken[hash]
	if !ok {
		return users.Session{}, errNoSession()
	}
	return *sess, nil
}

func (s *state) sessions(userID int64) []users.Session {
	e, ok := s.byID[userID]
	if !ok {
		return []users.Session{}
	}
	out := make([]users.Session, len(e.sessions))
	for i, sess := range e.sessions {
		out[i] = *sess
	}
	return out
}

func (s *state) upload(name string) (users.Upload, error) {
	up, ok := s.uploads[name]
	if !ok {
		return users.Upload{}, users.Errorf(users.ErrNotFound, "No such file.")
	}
	return *up, nil
}
