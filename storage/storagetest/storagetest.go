// Package storagetest is the contract of users.Store: every guarantee documented on the
// interface, as a test that any implementation runs from a few lines of its own test file
// (R-STO-1). Run checks behaviour; RunPersistent adds that a durable store, opened again
// on the same place, has everything it acknowledged.
//
// It imports users and the standard library only.
package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usersapi/users"
)

// Run checks every guarantee documented on users.Store. open must return a new, empty
// store each time it is called; Run closes the stores it opened.
func Run(t *testing.T, open func(t *testing.T) users.Store) {
	t.Helper()
	o := func(t *testing.T) users.Store {
		t.Helper()
		s := open(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	for _, tc := range contract {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.test(t, o(t))
		})
	}
}

// RunPersistent checks what Run checks, and also that a store opened again on the same
// dir after Close holds exactly what was acknowledged before, and that IDs stay unique
// across reopening (R-STO-2, R-DEL-1). open(t, dir) must return the store kept in dir;
// RunPersistent gives each test its own empty dir and closes the stores it opened.
func RunPersistent(t *testing.T, open func(t *testing.T, dir string) users.Store) {
	t.Helper()
	t.Run("Contract", func(t *testing.T) {
		Run(t, func(t *testing.T) users.Store { return open(t, t.TempDir()) })
	})
	for _, tc := range persistence {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tc.test(t, func() users.Store { return open(t, dir) })
		})
	}
}

type contractTest struct {
	name string
	test func(t *testing.T, s users.Store)
}

var contract = []contractTest{
	{"SessionWithUser, if the store has it, reads what SessionByToken, User and Sessions read", testSessionWithUser},
	{"CreateUser/OK", testCreateUser},
	{"CreateUser/ErrConflict on a taken username, nothing stored", testCreateUserConflict},
	{"CreateUser/concurrent registrations of one username: exactly one wins (R-REG-1)", testCreateUserRace},
	{"CreateUser/IDs of deleted users are never reused (R-DEL-1)", testIDsNotReused},
	{"User/ErrNotFound", testUserNotFound},
	{"Values are copies, not aliases", testCopies},
	{"UpdateUser/OK, nil fields left as they are", testUpdateUser},
	{"UpdateUser/IfPasswordHash makes it conditional", testUpdateUserIfPassword},
	{"UpdateUser/EndSessions keeps only KeepSession (R-PW-1, R-RST-1)", testEndSessions},
	{"DeleteUser/removes sessions, photos, uploads and frees the username (R-DEL-1)", testDeleteUser},
	{"CreateSession/same device replaces its session (R-LOG-2)", testSessionReplace},
	{"CreateSession/cap evicts oldest UpdatedAt, ties oldest CreatedAt (R-LOG-2)", testSessionCap},
	{"CreateSession/cap ties within one second go to the oldest in creation order (R-LOG-2)", testSessionCapTies},
	{"CreateSession/returns the sessions as the write left them (R-OBJ-3)", testSessionReturned},
	{"CreateSession/ErrNotFound for an unknown user", testSessionNoUser},
	{"Sessions/empty slice, no error, for none or an unknown user", testSessionsEmpty},
	{"UpdateSession and DeleteSession", testUpdateDeleteSession},
	{"UpdateSession/TouchBefore changes only an older UpdatedAt (R-SES-1)", testTouchBefore},
	{"PutUpload/ownership, replacement and photos in use (R-UPL-1)", testPutUpload},
	{"AddPhoto/errors and order (R-PHO-1)", testAddPhoto},
	{"DeletePhoto/removes photo and upload record (R-PHO-2)", testDeletePhoto},
	{"DeleteUpload/the owner's only, not a photo (R-LIM-3)", testDeleteUpload},
	{"UploadBytes/sums the user's uploads (R-LIM-2)", testUploadBytes},
	{"SearchUsers/order exact, prefix, rest, ties by ID (R-SRCH-1)", testSearchOrder},
	{"SearchUsers/limit", testSearchLimit},
	{"SearchUsers/case-insensitive on Unicode names", testSearchUnicode},
	{"SearchUsers/follows renames and deletions", testSearchChanges},
	{"Concurrent writers and readers", testConcurrent},
	{"Every field of every stored type is kept", testFieldsKept},
}

// Fixtures.

var ctx = context.Background()

// t0 is a fixed instant; stores must keep times exactly (UTC, second precision in
// practice, nanoseconds allowed).
var t0 = time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)

var seq atomic.Int64

func next() int64 { return seq.Add(1) }

func uuid(n int64) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012x", n)
}

func newUser(username string) users.User {
	return users.User{
		Name:         "User " + username,
		Username:     username,
		About:        "",
		PasswordHash: "pbkdf2-sha256$1000$c2FsdHNhbHQ$aGFzaA",
		CreatedAt:    t0,
	}
}

func newSession(device string, at time.Time) users.Session {
	n := next()
	return users.Session{
		ID:        uuid(n),
		TokenHash: fmt.Sprintf("%064x", n),
		IPAddress: "192.0.2.1",
		CreatedAt: at,
		UpdatedAt: at,
		Device:    users.DeviceInfo{ID: device, Name: "phone", Model: "model", Transport: "none"},
	}
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, next())
}

// create stores a new user with one session and returns both as stored.
func create(t *testing.T, s users.Store, username string) (users.User, users.Session) {
	t.Helper()
	sess := newSession(uuid(next()), t0)
	u, err := s.CreateUser(ctx, newUser(username), sess)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	sess.UserID = u.ID
	return u, sess
}

func upload(owner int64, name, typ string) users.Upload {
	return users.Upload{Name: name, Type: typ, OwnerID: owner, Size: 1234, PreviewWidth: 350, PreviewHeight: 200, CreatedAt: t0}
}

func photoOf(up users.Upload) users.Photo {
	return users.Photo{ID: up.Name, FileType: up.Type, FileSize: up.Size, PreviewWidth: up.PreviewWidth, PreviewHeight: up.PreviewHeight, CreatedAt: up.CreatedAt}
}

// same reports whether a and b encode to the same JSON, which compares times by instant.
func same(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

func mustUser(t *testing.T, s users.Store, id int64) users.User {
	t.Helper()
	u, err := s.User(ctx, id)
	if err != nil {
		t.Fatalf("User(%d): %v", id, err)
	}
	return u
}

func sessionIDs(t *testing.T, s users.Store, userID int64) []string {
	t.Helper()
	list, err := s.Sessions(ctx, userID)
	if err != nil {
		t.Fatalf("Sessions(%d): %v", userID, err)
	}
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// The contract.

func testCreateUser(t *testing.T, s users.Store) {
	in := newUser(uniqueName("alice"))
	in.About = "about me"
	in.AccountKeyHash = "key-hash"
	sess := newSession(uuid(next()), t0)
	u, err := s.CreateUser(ctx, in, sess)
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if u.ID <= 0 {
		t.Fatalf("CreateUser: got ID %d, want > 0", u.ID)
	}
	in.ID = u.ID
	if !same(u, in) {
		t.Errorf("CreateUser returned %+v, want %+v", u, in)
	}
	if got := mustUser(t, s, u.ID); !same(got, in) {
		t.Errorf("User(%d) = %+v, want %+v", u.ID, got, in)
	}
	if got, err := s.UserByUsername(ctx, in.Username); err != nil || !same(got, in) {
		t.Errorf("UserByUsername(%q) = %+v, %v; want %+v", in.Username, got, err, in)
	}
	sess.UserID = u.ID
	if got, err := s.SessionByToken(ctx, sess.TokenHash); err != nil || !same(got, sess) {
		t.Errorf("SessionByToken = %+v, %v; want %+v (UserID set by the store)", got, err, sess)
	}
	if got, err := s.Sessions(ctx, u.ID); err != nil || len(got) != 1 || !same(got[0], sess) {
		t.Errorf("Sessions(%d) = %+v, %v; want [%+v]", u.ID, got, err, sess)
	}
	u2, _ := create(t, s, uniqueName("bob"))
	if u2.ID <= u.ID {
		t.Errorf("second user got ID %d, want above %d", u2.ID, u.ID)
	}
}

func testCreateUserConflict(t *testing.T, s users.Store) {
	name := uniqueName("carol")
	create(t, s, name)
	sess := newSession(uuid(next()), t0)
	other := newUser(name)
	other.Name = "Somebody Else"
	_, err := s.CreateUser(ctx, other, sess)
	wantErr(t, "CreateUser with a taken username", err, users.ErrConflict)
	if _, err := s.SessionByToken(ctx, sess.TokenHash); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("the refused user's session was stored: SessionByToken got %v, want ErrNotFound", err)
	}
	if u, _ := s.UserByUsername(ctx, name); u.Name == other.Name {
		t.Errorf("the refused user replaced the first")
	}
}

func testCreateUserRace(t *testing.T, s users.Store) {
	name := uniqueName("dave")
	const n = 50
	var wg sync.WaitGroup
	var ok, conflict atomic.Int32
	for range n {
		wg.Go(func() {
			_, err := s.CreateUser(ctx, newUser(name), newSession(uuid(next()), t0))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, users.ErrConflict):
				conflict.Add(1)
			default:
				t.Errorf("CreateUser: unexpected error %v", err)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || conflict.Load() != n-1 {
		t.Errorf("%d concurrent CreateUser of one name: got %d successes and %d conflicts, want 1 and %d", n, ok.Load(), conflict.Load(), n-1)
	}
}

func testIDsNotReused(t *testing.T, s users.Store) {
	a, _ := create(t, s, uniqueName("erin"))
	b, _ := create(t, s, uniqueName("erin"))
	for _, id := range []int64{b.ID, a.ID} {
		if _, err := s.DeleteUser(ctx, id); err != nil {
			t.Fatalf("DeleteUser(%d): %v", id, err)
		}
	}
	c, _ := create(t, s, a.Username)
	if c.ID <= b.ID {
		t.Errorf("after deleting users %d and %d, a new user got ID %d, want above %d", a.ID, b.ID, c.ID, b.ID)
	}
}

func testUserNotFound(t *testing.T, s users.Store) {
	_, err := s.User(ctx, 987654321)
	wantErr(t, "User(unknown)", err, users.ErrNotFound)
	_, err = s.UserByUsername(ctx, "nobody12345")
	wantErr(t, "UserByUsername(unknown)", err, users.ErrNotFound)
	_, err = s.SessionByToken(ctx, strings.Repeat("0", 64))
	wantErr(t, "SessionByToken(unknown)", err, users.ErrNotFound)
	_, err = s.Upload(ctx, "nothing")
	wantErr(t, "Upload(unknown)", err, users.ErrNotFound)
}

func testCopies(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("frank"))
	up1, up2 := upload(u.ID, uuid(next()), "png"), upload(u.ID, uuid(next()), "jpg")
	for _, up := range []users.Upload{up1, up2} {
		if _, err := s.PutUpload(ctx, up); err != nil {
			t.Fatalf("PutUpload: %v", err)
		}
	}
	p := photoOf(up1)
	if err := s.AddPhoto(ctx, u.ID, p, 10); err != nil {
		t.Fatalf("AddPhoto: %v", err)
	}
	p.FileType = "changed after the call"
	if err := s.AddPhoto(ctx, u.ID, photoOf(up2), 10); err != nil {
		t.Fatalf("AddPhoto: %v", err)
	}

	got := mustUser(t, s, u.ID)
	if got.Photos[0].FileType != "png" {
		t.Errorf("changing the Photo passed to AddPhoto changed the store: got %q", got.Photos[0].FileType)
	}
	got.Photos[0].FileType = "changed"
	got.Photos = append(got.Photos[:1], users.Photo{ID: "appended"})
	again := mustUser(t, s, u.ID)
	if len(again.Photos) != 2 || again.Photos[0].FileType != "png" || again.Photos[1].ID != up2.Name {
		t.Errorf("changing a returned user's Photos changed the store: got %+v", again.Photos)
	}
	byName, _ := s.UserByUsername(ctx, u.Username)
	byName.Photos[0].FileType = "changed"
	if mustUser(t, s, u.ID).Photos[0].FileType != "png" {
		t.Errorf("changing UserByUsername's Photos changed the store")
	}
	found, _ := s.SearchUsers(ctx, u.Username, 10)
	if len(found) != 1 {
		t.Fatalf("SearchUsers(%q) found %d users, want 1", u.Username, len(found))
	}
	found[0].Photos[0].FileType = "changed"
	if mustUser(t, s, u.ID).Photos[0].FileType != "png" {
		t.Errorf("changing SearchUsers' Photos changed the store")
	}

	list, _ := s.Sessions(ctx, u.ID)
	list[0].Device.Name = "changed"
	if again, _ := s.Sessions(ctx, u.ID); again[0].Device.Name != "phone" {
		t.Errorf("changing a returned session changed the store")
	}

	in := newUser(uniqueName("grace"))
	in.Photos = []users.Photo{{ID: "given"}}
	stored, err := s.CreateUser(ctx, in, newSession(uuid(next()), t0))
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	in.Photos[0].ID = "changed"
	stored.Photos[0].ID = "changed too"
	if got := mustUser(t, s, stored.ID); got.Photos[0].ID != "given" {
		t.Errorf("changing CreateUser's argument or result changed the store: got %q", got.Photos[0].ID)
	}
}

func ptr[T any](v T) *T { return &v }

func testUpdateUser(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("heidi"))
	err := s.UpdateUser(ctx, u.ID, users.UserUpdate{Name: ptr("Heidi Klum"), About: ptr("hello")})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want := u
	want.Name, want.About = "Heidi Klum", "hello"
	if got := mustUser(t, s, u.ID); !same(got, want) {
		t.Errorf("after UpdateUser(name, about): got %+v, want %+v", got, want)
	}
	if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{PasswordHash: ptr("new-hash"), AccountKeyHash: ptr("key")}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	want.PasswordHash, want.AccountKeyHash = "new-hash", "key"
	if got := mustUser(t, s, u.ID); !same(got, want) {
		t.Errorf("after UpdateUser(hashes): got %+v, want %+v", got, want)
	}
	if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{}); err != nil {
		t.Fatalf("UpdateUser({}): %v", err)
	}
	if got := mustUser(t, s, u.ID); !same(got, want) {
		t.Errorf("an empty UpdateUser changed the user: got %+v, want %+v", got, want)
	}
	if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{About: ptr("")}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if got := mustUser(t, s, u.ID); got.About != "" {
		t.Errorf("UpdateUser(About: \"\") left About %q", got.About)
	}
	wantErr(t, "UpdateUser(unknown)", s.UpdateUser(ctx, 987654321, users.UserUpdate{Name: ptr("x")}), users.ErrNotFound)
}

func testUpdateUserIfPassword(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("ivan"))
	err := s.UpdateUser(ctx, u.ID, users.UserUpdate{PasswordHash: ptr("second"), IfPasswordHash: "stale"})
	wantErr(t, "UpdateUser with a stale IfPasswordHash", err, users.ErrConflict)
	if got := mustUser(t, s, u.ID); got.PasswordHash != u.PasswordHash {
		t.Errorf("a refused conditional update changed PasswordHash to %q", got.PasswordHash)
	}
	err = s.UpdateUser(ctx, u.ID, users.UserUpdate{PasswordHash: ptr("second"), IfPasswordHash: u.PasswordHash})
	if err != nil {
		t.Fatalf("UpdateUser with the current IfPasswordHash: %v", err)
	}
	if got := mustUser(t, s, u.ID); got.PasswordHash != "second" {
		t.Errorf("after a conditional update: PasswordHash %q, want %q", got.PasswordHash, "second")
	}
}

func testEndSessions(t *testing.T, s users.Store) {
	u, first := create(t, s, uniqueName("judy"))
	second, third := newSession(uuid(next()), t0), newSession(uuid(next()), t0)
	for _, x := range []users.Session{second, third} {
		x.UserID = u.ID
		if _, err := s.CreateSession(ctx, x, 50); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	err := s.UpdateUser(ctx, u.ID, users.UserUpdate{PasswordHash: ptr("p2"), EndSessions: true, KeepSession: second.ID})
	if err != nil {
		t.Fatalf("UpdateUser(EndSessions, KeepSession): %v", err)
	}
	if got, want := sessionIDs(t, s, u.ID), []string{second.ID}; !slices.Equal(got, want) {
		t.Errorf("after EndSessions keeping %s: sessions %v, want %v", second.ID, got, want)
	}
	for _, x := range []users.Session{first, third} {
		_, err := s.SessionByToken(ctx, x.TokenHash)
		wantErr(t, "SessionByToken of an ended session", err, users.ErrNotFound)
	}
	if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{EndSessions: true}); err != nil {
		t.Fatalf("UpdateUser(EndSessions): %v", err)
	}
	if got := sessionIDs(t, s, u.ID); len(got) != 0 {
		t.Errorf("after EndSessions without KeepSession: sessions %v, want none", got)
	}
	_, err = s.SessionByToken(ctx, second.TokenHash)
	wantErr(t, "SessionByToken after EndSessions", err, users.ErrNotFound)
}

func testDeleteUser(t *testing.T, s users.Store) {
	u, first := create(t, s, uniqueName("kate"))
	other, otherSess := create(t, s, uniqueName("leo"))
	second := newSession(uuid(next()), t0)
	second.UserID = u.ID
	if _, err := s.CreateSession(ctx, second, 50); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	ups := []users.Upload{upload(u.ID, "b-"+uuid(next()), "png"), upload(u.ID, "a-"+uuid(next()), "txt")}
	for _, up := range ups {
		if _, err := s.PutUpload(ctx, up); err != nil {
			t.Fatalf("PutUpload: %v", err)
		}
	}
	if err := s.AddPhoto(ctx, u.ID, photoOf(ups[0]), 10); err != nil {
		t.Fatalf("AddPhoto: %v", err)
	}
	otherUp := upload(other.ID, uuid(next()), "png")
	if _, err := s.PutUpload(ctx, otherUp); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}

	removed, err := s.DeleteUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	slices.SortFunc(removed, func(a, b users.Upload) int { return strings.Compare(a.Name, b.Name) })
	want := []users.Upload{ups[1], ups[0]}
	if !same(removed, want) {
		t.Errorf("DeleteUser returned %+v, want %+v", removed, want)
	}
	_, err = s.User(ctx, u.ID)
	wantErr(t, "User after DeleteUser", err, users.ErrNotFound)
	_, err = s.UserByUsername(ctx, u.Username)
	wantErr(t, "UserByUsername after DeleteUser", err, users.ErrNotFound)
	for _, x := range []users.Session{first, second} {
		_, err = s.SessionByToken(ctx, x.TokenHash)
		wantErr(t, "SessionByToken after DeleteUser", err, users.ErrNotFound)
		wantErr(t, "DeleteSession after DeleteUser", s.DeleteSession(ctx, x.ID), users.ErrNotFound)
	}
	if got := sessionIDs(t, s, u.ID); len(got) != 0 {
		t.Errorf("Sessions after DeleteUser: %v, want none", got)
	}
	for _, up := range ups {
		_, err = s.Upload(ctx, up.Name)
		wantErr(t, "Upload after DeleteUser", err, users.ErrNotFound)
	}
	if found, _ := s.SearchUsers(ctx, u.Username, 50); len(found) != 0 {
		t.Errorf("SearchUsers after DeleteUser found %+v", found)
	}
	_, err = s.DeleteUser(ctx, u.ID)
	wantErr(t, "DeleteUser twice", err, users.ErrNotFound)

	// Others are untouched, and the username is free again.
	if got, err := s.Upload(ctx, otherUp.Name); err != nil || !same(got, otherUp) {
		t.Errorf("another user's upload after DeleteUser: %+v, %v", got, err)
	}
	if _, err := s.SessionByToken(ctx, otherSess.TokenHash); err != nil {
		t.Errorf("another user's session after DeleteUser: %v", err)
	}
	again, _ := create(t, s, u.Username)
	if again.ID == u.ID {
		t.Errorf("the username registered again got the deleted ID %d", u.ID)
	}
	if _, err := s.PutUpload(ctx, upload(again.ID, ups[0].Name, "gif")); err != nil {
		t.Errorf("the deleted user's file name is not free again: %v", err)
	}
}

func testSessionReplace(t *testing.T, s users.Store) {
	u, first := create(t, s, uniqueName("mallory"))
	again := newSession(first.Device.ID, t0.Add(time.Hour))
	again.UserID = u.ID
	if _, err := s.CreateSession(ctx, again, 50); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	_, err := s.SessionByToken(ctx, first.TokenHash)
	wantErr(t, "SessionByToken of the replaced session", err, users.ErrNotFound)
	if got, err := s.SessionByToken(ctx, again.TokenHash); err != nil || !same(got, again) {
		t.Errorf("SessionByToken of the new session = %+v, %v; want %+v", got, err, again)
	}
	other := newSession(uuid(next()), t0)
	other.UserID = u.ID
	if _, err := s.CreateSession(ctx, other, 50); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if got, want := sessionIDs(t, s, u.ID), sorted(again.ID, other.ID); !slices.Equal(got, want) {
		t.Errorf("sessions: got %v, want %v (one per device)", got, want)
	}
	// The same device of another user is another session.
	v, vFirst := create(t, s, uniqueName("niaj"))
	shared := newSession(other.Device.ID, t0)
	shared.UserID = v.ID
	if _, err := s.CreateSession(ctx, shared, 50); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if got, want := sessionIDs(t, s, u.ID), sorted(again.ID, other.ID); !slices.Equal(got, want) {
		t.Errorf("another user's login from the same device changed this user's sessions: %v, want %v", got, want)
	}
	if got, want := sessionIDs(t, s, v.ID), sorted(vFirst.ID, shared.ID); !slices.Equal(got, want) {
		t.Errorf("sessions of the second user: got %v, want %v", got, want)
	}
}

func testSessionCap(t *testing.T, s users.Store) {
	const max = 50
	u, first := create(t, s, uniqueName("olivia"))
	// first: created and used at t0. Add 49 more, used later, two of them tied on
	// UpdatedAt at the earliest moment after first.
	all := []users.Session{first}
	for i := 1; i < max; i++ {
		x := newSession(uuid(next()), t0.Add(time.Duration(i)*time.Minute))
		x.UserID = u.ID
		x.UpdatedAt = t0.Add(time.Duration(100+i) * time.Minute)
		all = append(all, x)
	}
	// Two sessions share the oldest UpdatedAt after first; the older CreatedAt goes first.
	all[7].UpdatedAt = t0.Add(time.Minute / 2)
	all[3].UpdatedAt = t0.Add(time.Minute / 2)
	for _, x := range all[1:] {
		if _, err := s.CreateSession(ctx, x, max); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
	}
	if n := len(sessionIDs(t, s, u.ID)); n != max {
		t.Fatalf("after %d sessions: got %d, want %d", max, n, max)
	}
	// Used recently: first is no longer the oldest.
	if err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{UpdatedAt: ptr(t0.Add(1000 * time.Minute))}); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	var added []users.Session
	for range 2 {
		x := newSession(uuid(next()), t0.Add(2000*time.Minute))
		x.UserID = u.ID
		// The new session is the least recently used of all: it must stay anyway.
		x.UpdatedAt = t0.Add(-time.Hour)
		if _, err := s.CreateSession(ctx, x, max); err != nil {
			t.Fatalf("CreateSession over the cap: %v", err)
		}
		added = append(added, x)
	}
	got := sessionIDs(t, s, u.ID)
	if len(got) != max {
		t.Fatalf("over the cap: got %d sessions, want %d", len(got), max)
	}
	// The first new session evicted all[3] (tied oldest UpdatedAt, older CreatedAt than
	// all[7]); the second evicted the first new one, then the least recently used.
	var want []string
	for i, x := range all {
		if i != 3 {
			want = append(want, x.ID)
		}
	}
	want = append(want, added[1].ID)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after two sessions over the cap: got sessions\n%v\nwant\n%v\n(evicted: the tied oldest UpdatedAt with the oldest CreatedAt, then the previous new one)", got, want)
	}
	_, err := s.SessionByToken(ctx, all[3].TokenHash)
	wantErr(t, "SessionByToken of the evicted session", err, users.ErrNotFound)
	if _, err := s.SessionByToken(ctx, all[7].TokenHash); err != nil {
		t.Errorf("the tied session with the newer CreatedAt was evicted: %v", err)
	}
}

// fillTiedSessions gives a new user max sessions: the first made at t0 and used later,
// so that it is never the oldest, and max-1 made and used in one second after it. The
// tied ones get IDs that sort against their creation order, so a store that breaks the
// tie by ID (or at random) is seen. It returns the user and the tied sessions in the
// order they were made.
func fillTiedSessions(t *testing.T, s users.Store, max int) (users.User, []users.Session) {
	t.Helper()
	u, first := create(t, s, uniqueName("tied"))
	second := t0.Add(time.Hour)
	var tied []users.Session
	for i := range max - 1 {
		x := newSession(uuid(next()), second)
		x.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", 0xffffffff-i, next())
		x.UserID = u.ID
		if _, err := s.CreateSession(ctx, x, max); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		tied = append(tied, x)
	}
	if err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{UpdatedAt: ptr(t0.Add(2 * time.Hour))}); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	return u, tied
}

// addTied adds one more session in the tied second and checks that it evicted want.
func addTied(t *testing.T, s users.Store, u users.User, max int, want users.Session) {
	t.Helper()
	x := newSession(uuid(next()), t0.Add(time.Hour))
	x.UserID = u.ID
	if _, err := s.CreateSession(ctx, x, max); err != nil {
		t.Fatalf("CreateSession over the cap: %v", err)
	}
	if n := len(sessionIDs(t, s, u.ID)); n != max {
		t.Fatalf("over the cap: %d sessions, want %d", n, max)
	}
	if _, err := s.SessionByToken(ctx, want.TokenHash); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("over the cap with sessions tied on both times: session %s, the oldest in creation order, is still there (%v); want it evicted", want.ID, err)
	}
}

func testSessionCapTies(t *testing.T, s users.Store) {
	const max = 50
	u, tied := fillTiedSessions(t, s, max)
	addTied(t, s, u, max, tied[0])
	addTied(t, s, u, max, tied[1])
}

func testReopenSessionCapTies(t *testing.T, open func() users.Store) {
	const max = 50
	s := open()
	u, tied := fillTiedSessions(t, s, max)
	addTied(t, s, u, max, tied[0])
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open()
	defer s.Close()
	addTied(t, s, u, max, tied[1])
	addTied(t, s, u, max, tied[2])
}

func testSessionReturned(t *testing.T, s users.Store) {
	u, first := create(t, s, uniqueName("returned"))
	phone := newSession(uuid(next()), t0.Add(time.Minute))
	phone.UserID = u.ID
	got, err := s.CreateSession(ctx, phone, 50)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if !same(sessionSet(got), sessionSet([]users.Session{first, phone})) {
		t.Errorf("CreateSession returned %+v, want the first session and the new one", got)
	}
	// Logging in again from the phone replaces its session: the answer lists the new
	// one and not the one it replaced, and equals what a read shows now.
	again := newSession(phone.Device.ID, t0.Add(2*time.Minute))
	again.UserID = u.ID
	got, err = s.CreateSession(ctx, again, 50)
	if err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	if !same(sessionSet(got), sessionSet([]users.Session{first, again})) {
		t.Errorf("CreateSession after a replacement returned %+v, want the first session and the replacing one", got)
	}
	read, _ := s.Sessions(ctx, u.ID)
	if !same(sessionSet(got), sessionSet(read)) {
		t.Errorf("CreateSession returned %+v, but Sessions reads %+v", got, read)
	}
	// The returned slice is a copy: changing it changes nothing stored.
	got[0].IPAddress = "changed"
	if read, _ := s.Sessions(ctx, u.ID); !same(sessionSet(read), sessionSet([]users.Session{first, again})) {
		t.Errorf("changing the returned sessions changed the store: %+v", read)
	}
}

// sessionSet keys sessions by ID, for comparing lists in no particular order.
func sessionSet(list []users.Session) map[string]users.Session {
	m := make(map[string]users.Session, len(list))
	for _, x := range list {
		m[x.ID] = x
	}
	return m
}

func testSessionNoUser(t *testing.T, s users.Store) {
	x := newSession(uuid(next()), t0)
	x.UserID = 987654321
	_, err := s.CreateSession(ctx, x, 50)
	wantErr(t, "CreateSession(unknown user)", err, users.ErrNotFound)
	_, err = s.SessionByToken(ctx, x.TokenHash)
	wantErr(t, "SessionByToken after a refused CreateSession", err, users.ErrNotFound)
}

func testSessionsEmpty(t *testing.T, s users.Store) {
	list, err := s.Sessions(ctx, 987654321)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("Sessions(unknown) = %#v, %v; want an empty slice and no error", list, err)
	}
	u, first := create(t, s, uniqueName("peggy"))
	if err := s.DeleteSession(ctx, first.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	list, err = s.Sessions(ctx, u.ID)
	if err != nil || list == nil || len(list) != 0 {
		t.Errorf("Sessions(user without sessions) = %#v, %v; want an empty slice and no error", list, err)
	}
}

func testUpdateDeleteSession(t *testing.T, s users.Store) {
	u, first := create(t, s, uniqueName("quinn"))
	later := t0.Add(time.Hour)
	err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{UpdatedAt: &later, DeviceName: ptr("tablet"), DeviceToken: ptr("push")})
	if err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	want := first
	want.UpdatedAt, want.Device.Name, want.Device.Token = later, "tablet", "push"
	if got, err := s.SessionByToken(ctx, first.TokenHash); err != nil || !same(got, want) {
		t.Errorf("after UpdateSession: %+v, %v; want %+v", got, err, want)
	}
	if err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{DeviceName: ptr("")}); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	want.Device.Name = ""
	if got, _ := s.Sessions(ctx, u.ID); len(got) != 1 || !same(got[0], want) {
		t.Errorf("after UpdateSession(DeviceName: \"\"): %+v; want [%+v]", got, want)
	}
	wantErr(t, "UpdateSession(unknown)", s.UpdateSession(ctx, uuid(next()), users.SessionUpdate{DeviceName: ptr("x")}), users.ErrNotFound)

	if err := s.DeleteSession(ctx, first.ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	_, err = s.SessionByToken(ctx, first.TokenHash)
	wantErr(t, "SessionByToken after DeleteSession", err, users.ErrNotFound)
	wantErr(t, "DeleteSession twice", s.DeleteSession(ctx, first.ID), users.ErrNotFound)
	wantErr(t, "UpdateSession after DeleteSession", s.UpdateSession(ctx, first.ID, users.SessionUpdate{}), users.ErrNotFound)
	if _, err := s.User(ctx, u.ID); err != nil {
		t.Errorf("User after DeleteSession: %v", err)
	}
}

func testTouchBefore(t *testing.T, s users.Store) {
	_, first := create(t, s, uniqueName("touch"))
	read := func() users.Session {
		t.Helper()
		got, err := s.SessionByToken(ctx, first.TokenHash)
		if err != nil {
			t.Fatalf("SessionByToken: %v", err)
		}
		return got
	}
	// Stored UpdatedAt (t0) is not before TouchBefore (t0): nothing changes, not even
	// the other fields, and no error.
	err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{UpdatedAt: ptr(t0.Add(time.Minute)), DeviceName: ptr("renamed"), TouchBefore: t0})
	if err != nil {
		t.Fatalf("UpdateSession with a failing TouchBefore: %v, want nil", err)
	}
	if got := read(); !same(got, first) {
		t.Errorf("an UpdateSession whose TouchBefore failed changed the session: %+v, want %+v", got, first)
	}
	// Before it: the update applies.
	touched := t0.Add(time.Minute)
	if err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{UpdatedAt: &touched, TouchBefore: t0.Add(time.Second)}); err != nil {
		t.Fatalf("UpdateSession with a holding TouchBefore: %v", err)
	}
	want := first
	want.UpdatedAt = touched
	if got := read(); !same(got, want) {
		t.Errorf("after a conditional touch: %+v, want %+v", got, want)
	}
	// Of many servers that saw the same stale session, one touches; the others change
	// nothing, though they all name a later time.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			at := touched.Add(time.Duration(i+1) * time.Minute)
			if err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{UpdatedAt: &at, TouchBefore: touched.Add(time.Second)}); err != nil {
				t.Errorf("concurrent conditional touch: %v", err)
			}
		})
	}
	wg.Wait()
	got := read()
	if !got.UpdatedAt.After(touched) || got.UpdatedAt.After(touched.Add(10*time.Minute)) {
		t.Errorf("after concurrent touches UpdatedAt is %v, want one of theirs", got.UpdatedAt)
	}
	second := got.UpdatedAt
	if err := s.UpdateSession(ctx, first.ID, users.SessionUpdate{UpdatedAt: ptr(second.Add(time.Hour)), TouchBefore: touched.Add(time.Second)}); err != nil {
		t.Fatalf("UpdateSession: %v", err)
	}
	if got := read(); !got.UpdatedAt.Equal(second) {
		t.Errorf("a touch after another one's changed UpdatedAt to %v, want %v kept", got.UpdatedAt, second)
	}
	// No session: still ErrNotFound.
	err = s.UpdateSession(ctx, uuid(next()), users.SessionUpdate{UpdatedAt: &touched, TouchBefore: t0.Add(time.Hour)})
	wantErr(t, "UpdateSession(unknown) with TouchBefore", err, users.ErrNotFound)
}

func testPutUpload(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("rupert"))
	v, _ := create(t, s, uniqueName("sybil"))
	name := uuid(next())
	up := upload(u.ID, name, "png")
	replaced, err := s.PutUpload(ctx, up)
	if err != nil || replaced != nil {
		t.Fatalf("PutUpload(new) = %+v, %v; want nil, nil", replaced, err)
	}
	if got, err := s.Upload(ctx, name); err != nil || !same(got, up) {
		t.Errorf("Upload = %+v, %v; want %+v", got, err, up)
	}
	// The owner replaces it with another type: one namespace across types.
	up2 := upload(u.ID, name, "jpg")
	up2.Size = 99
	replaced, err = s.PutUpload(ctx, up2)
	if err != nil || replaced == nil || !same(*replaced, up) {
		t.Errorf("PutUpload(same owner, other type) = %+v, %v; want the replaced %+v", replaced, err, up)
	}
	if got, _ := s.Upload(ctx, name); !same(got, up2) {
		t.Errorf("Upload after replacement = %+v, want %+v", got, up2)
	}
	// Another user cannot take the name, whatever the type.
	_, err = s.PutUpload(ctx, upload(v.ID, name, "gif"))
	wantErr(t, "PutUpload of another user's name", err, users.ErrConflict)
	if got, _ := s.Upload(ctx, name); !same(got, up2) {
		t.Errorf("a refused PutUpload changed the record to %+v", got)
	}
	// In use as a photo: not even the owner may replace it.
	if err := s.AddPhoto(ctx, u.ID, photoOf(up2), 10); err != nil {
		t.Fatalf("AddPhoto: %v", err)
	}
	_, err = s.PutUpload(ctx, upload(u.ID, name, "png"))
	wantErr(t, "PutUpload over a photo", err, users.ErrConflict)
	_, err = s.PutUpload(ctx, upload(987654321, uuid(next()), "png"))
	wantErr(t, "PutUpload(unknown owner)", err, users.ErrNotFound)
}

func testAddPhoto(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("trent"))
	v, _ := create(t, s, uniqueName("ursula"))
	var ups []users.Upload
	for range 4 {
		up := upload(u.ID, uuid(next()), "png")
		if _, err := s.PutUpload(ctx, up); err != nil {
			t.Fatalf("PutUpload: %v", err)
		}
		ups = append(ups, up)
	}
	vUp := upload(v.ID, uuid(next()), "png")
	if _, err := s.PutUpload(ctx, vUp); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}

	wantErr(t, "AddPhoto(unknown user)", s.AddPhoto(ctx, 987654321, photoOf(ups[0]), 10), users.ErrNotFound)
	wantErr(t, "AddPhoto(unknown upload)", s.AddPhoto(ctx, u.ID, users.Photo{ID: uuid(next()), FileType: "png"}, 10), users.ErrNotFound)
	wantErr(t, "AddPhoto(another user's upload)", s.AddPhoto(ctx, u.ID, photoOf(vUp), 10), users.ErrNotFound)

	for _, i := range []int{2, 0, 1} {
		if err := s.AddPhoto(ctx, u.ID, photoOf(ups[i]), 3); err != nil {
			t.Fatalf("AddPhoto: %v", err)
		}
	}
	wantErr(t, "AddPhoto(already a photo)", s.AddPhoto(ctx, u.ID, photoOf(ups[0]), 10), users.ErrConflict)
	wantErr(t, "AddPhoto(over max)", s.AddPhoto(ctx, u.ID, photoOf(ups[3]), 3), users.ErrInvalid)

	want := []users.Photo{photoOf(ups[2]), photoOf(ups[0]), photoOf(ups[1])}
	if got := mustUser(t, s, u.ID).Photos; !same(got, want) {
		t.Errorf("Photos after AddPhoto of uploads 2, 0, 1: got %+v, want them oldest first %+v", got, want)
	}
}

func testDeletePhoto(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("victor"))
	v, _ := create(t, s, uniqueName("walter"))
	var ups []users.Upload
	for range 3 {
		up := upload(u.ID, uuid(next()), "png")
		if _, err := s.PutUpload(ctx, up); err != nil {
			t.Fatalf("PutUpload: %v", err)
		}
		if err := s.AddPhoto(ctx, u.ID, photoOf(up), 10); err != nil {
			t.Fatalf("AddPhoto: %v", err)
		}
		ups = append(ups, up)
	}
	got, err := s.DeletePhoto(ctx, u.ID, ups[1].Name)
	if err != nil || !same(got, ups[1]) {
		t.Fatalf("DeletePhoto = %+v, %v; want %+v", got, err, ups[1])
	}
	if photos := mustUser(t, s, u.ID).Photos; !same(photos, []users.Photo{photoOf(ups[0]), photoOf(ups[2])}) {
		t.Errorf("Photos after DeletePhoto: %+v", photos)
	}
	_, err = s.Upload(ctx, ups[1].Name)
	wantErr(t, "Upload after DeletePhoto", err, users.ErrNotFound)
	_, err = s.DeletePhoto(ctx, u.ID, ups[1].Name)
	wantErr(t, "DeletePhoto twice", err, users.ErrNotFound)
	_, err = s.DeletePhoto(ctx, v.ID, ups[0].Name)
	wantErr(t, "DeletePhoto of another user's photo", err, users.ErrNotFound)
	_, err = s.DeletePhoto(ctx, 987654321, ups[0].Name)
	wantErr(t, "DeletePhoto(unknown user)", err, users.ErrNotFound)
	if photos := mustUser(t, s, u.ID).Photos; len(photos) != 2 {
		t.Errorf("a refused DeletePhoto changed Photos: %+v", photos)
	}
	// An upload that is not a photo is not a photo to delete.
	plain := upload(u.ID, uuid(next()), "txt")
	if _, err := s.PutUpload(ctx, plain); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}
	_, err = s.DeletePhoto(ctx, u.ID, plain.Name)
	wantErr(t, "DeletePhoto of an upload that is no photo", err, users.ErrNotFound)
}

func testDeleteUpload(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("yvonne"))
	v, _ := create(t, s, uniqueName("zach"))
	plain, photo, other := upload(u.ID, uuid(next()), "txt"), upload(u.ID, uuid(next()), "png"), upload(v.ID, uuid(next()), "png")
	for _, up := range []users.Upload{plain, photo, other} {
		if _, err := s.PutUpload(ctx, up); err != nil {
			t.Fatalf("PutUpload: %v", err)
		}
	}
	if err := s.AddPhoto(ctx, u.ID, photoOf(photo), 10); err != nil {
		t.Fatalf("AddPhoto: %v", err)
	}
	_, err := s.DeleteUpload(ctx, u.ID, other.Name)
	wantErr(t, "DeleteUpload of another user's file", err, users.ErrNotFound)
	_, err = s.DeleteUpload(ctx, u.ID, uuid(next()))
	wantErr(t, "DeleteUpload of an unknown file", err, users.ErrNotFound)
	_, err = s.DeleteUpload(ctx, 987654321, other.Name)
	wantErr(t, "DeleteUpload(unknown user)", err, users.ErrNotFound)
	_, err = s.DeleteUpload(ctx, u.ID, photo.Name)
	wantErr(t, "DeleteUpload of a photo's file", err, users.ErrConflict)
	for _, up := range []users.Upload{photo, other} {
		if got, err := s.Upload(ctx, up.Name); err != nil || !same(got, up) {
			t.Errorf("a refused DeleteUpload changed %s: %+v, %v", up.Name, got, err)
		}
	}
	if photos := mustUser(t, s, u.ID).Photos; len(photos) != 1 {
		t.Errorf("a refused DeleteUpload changed Photos: %+v", photos)
	}

	got, err := s.DeleteUpload(ctx, u.ID, plain.Name)
	if err != nil || !same(got, plain) {
		t.Fatalf("DeleteUpload = %+v, %v; want %+v", got, err, plain)
	}
	_, err = s.Upload(ctx, plain.Name)
	wantErr(t, "Upload after DeleteUpload", err, users.ErrNotFound)
	_, err = s.DeleteUpload(ctx, u.ID, plain.Name)
	wantErr(t, "DeleteUpload twice", err, users.ErrNotFound)
	// The name is free again, for anyone.
	if _, err := s.PutUpload(ctx, upload(v.ID, plain.Name, "txt")); err != nil {
		t.Errorf("PutUpload of a deleted upload's name by another user: %v", err)
	}
}

func testUploadBytes(t *testing.T, s users.Store) {
	u, _ := create(t, s, uniqueName("abel"))
	v, _ := create(t, s, uniqueName("beth"))
	wantBytes := func(what string, id, want int64) {
		t.Helper()
		if n, err := s.UploadBytes(ctx, id); err != nil || n != want {
			t.Errorf("UploadBytes %s: got %d, %v; want %d", what, n, err, want)
		}
	}
	wantBytes("with no uploads", u.ID, 0)
	wantBytes("of an unknown user", 987654321, 0)
	a, b := upload(u.ID, uuid(next()), "txt"), upload(u.ID, uuid(next()), "png")
	a.Size, b.Size = 100, 5000
	for _, up := range []users.Upload{a, b, upload(v.ID, uuid(next()), "png")} {
		if _, err := s.PutUpload(ctx, up); err != nil {
			t.Fatalf("PutUpload: %v", err)
		}
	}
	wantBytes("of two uploads", u.ID, 5100)
	a.Size, a.Type = 7, "bin" // a replacement counts once, at its new size
	if _, err := s.PutUpload(ctx, a); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}
	wantBytes("after a replacement", u.ID, 5007)
	if _, err := s.DeleteUpload(ctx, u.ID, b.Name); err != nil {
		t.Fatalf("DeleteUpload: %v", err)
	}
	wantBytes("after a deletion", u.ID, 7)
}

func usernames(list []users.User) []string {
	out := []string{}
	for _, u := range list {
		out = append(out, u.Username)
	}
	return out
}

func createNamed(t *testing.T, s users.Store, username, name string) users.User {
	t.Helper()
	in := newUser(username)
	in.Name = name
	u, err := s.CreateUser(ctx, in, newSession(uuid(next()), t0))
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	return u
}

func testSearchOrder(t *testing.T, s users.Store) {
	// Created in this order, so IDs ascend down the list.
	createNamed(t, s, "zedkarl", "Karl Zed")        // name contains "karl"
	createNamed(t, s, "karlsson", "Sven")           // username prefix
	createNamed(t, s, "bobby", "Bob Karlsen")       // name contains
	createNamed(t, s, "karl1", "Someone")           // username prefix
	createNamed(t, s, "karl", "Exact")              // exact
	createNamed(t, s, "mikarla", "Mika")            // username contains
	createNamed(t, s, "nobody", "Nothing Matching") // no match
	createNamed(t, s, "karlsbad", "KARL")           // username prefix and name
	got, err := s.SearchUsers(ctx, "karl", 50)
	if err != nil {
		t.Fatalf("SearchUsers: %v", err)
	}
	want := []string{"karl", "karlsson", "karl1", "karlsbad", "zedkarl", "bobby", "mikarla"}
	if !slices.Equal(usernames(got), want) {
		t.Errorf("SearchUsers(%q) = %v, want %v", "karl", usernames(got), want)
	}
	got, _ = s.SearchUsers(ctx, "zzzz", 50)
	if got == nil || len(got) != 0 {
		t.Errorf("SearchUsers(no match) = %#v, want an empty slice", got)
	}
	// A match never spans the username and the name.
	got, _ = s.SearchUsers(ctx, "bybob", 50)
	if len(got) != 0 {
		t.Errorf("SearchUsers(%q) = %v, want none (username+name must not be joined)", "bybob", usernames(got))
	}
	got, _ = s.SearchUsers(ctx, "y bob", 50)
	if len(got) != 0 {
		t.Errorf("SearchUsers(%q) = %v, want none", "y bob", usernames(got))
	}
	got, _ = s.SearchUsers(ctx, "bob karlsen", 50)
	if !slices.Equal(usernames(got), []string{"bobby"}) {
		t.Errorf("SearchUsers(%q) = %v, want [bobby]", "bob karlsen", usernames(got))
	}
	got, _ = s.SearchUsers(ctx, "nobody", 50)
	if !slices.Equal(usernames(got), []string{"nobody"}) {
		t.Errorf("SearchUsers(%q) = %v, want [nobody]", "nobody", usernames(got))
	}
}

func testSearchLimit(t *testing.T, s users.Store) {
	// 60 name matches first, then 60 username-prefix matches: the prefix matches must
	// win the 50 places even though they come later.
	for i := range 60 {
		createNamed(t, s, fmt.Sprintf("other%03d", i), fmt.Sprintf("Limo %d", i))
	}
	for i := range 60 {
		createNamed(t, s, fmt.Sprintf("limo%03d", i), "Somebody")
	}
	got, err := s.SearchUsers(ctx, "limo", 50)
	if err != nil {
		t.Fatalf("SearchUsers: %v", err)
	}
	if len(got) != 50 {
		t.Fatalf("SearchUsers(limit 50) returned %d users", len(got))
	}
	for i, u := range got {
		if want := fmt.Sprintf("limo%03d", i); u.Username != want {
			t.Fatalf("SearchUsers(%q)[%d] = %q, want %q", "limo", i, u.Username, want)
		}
	}
	got, _ = s.SearchUsers(ctx, "limo", 3)
	if !slices.Equal(usernames(got), []string{"limo000", "limo001", "limo002"}) {
		t.Errorf("SearchUsers(limit 3) = %v", usernames(got))
	}
	// Fewer prefix matches than the limit: the rest is filled by ID.
	got, _ = s.SearchUsers(ctx, "limo 1", 50)
	var want []string
	for i := range 60 {
		if strings.HasPrefix(fmt.Sprint(i), "1") {
			want = append(want, fmt.Sprintf("other%03d", i))
		}
	}
	if !slices.Equal(usernames(got), want) {
		t.Errorf("SearchUsers(%q) = %v, want %v", "limo 1", usernames(got), want)
	}
	got, _ = s.SearchUsers(ctx, "o", 50)
	if len(got) != 50 || got[0].Username != "other000" || got[49].Username != "other049" {
		t.Errorf("SearchUsers(%q) = %v, want other000..other049", "o", usernames(got))
	}
	createNamed(t, s, "limo0", "Exact")
	got, _ = s.SearchUsers(ctx, "limo0", 2)
	if !slices.Equal(usernames(got), []string{"limo0", "limo000"}) {
		t.Errorf("SearchUsers(%q, 2) = %v, want [limo0 limo000]", "limo0", usernames(got))
	}
	got, _ = s.SearchUsers(ctx, "limo0", 1)
	if !slices.Equal(usernames(got), []string{"limo0"}) {
		t.Errorf("SearchUsers(%q, 1) = %v, want [limo0]", "limo0", usernames(got))
	}
}

func testSearchUnicode(t *testing.T, s users.Store) {
	createNamed(t, s, "elodie01", "ÉLODIE Dupré")
	createNamed(t, s, "sergei01", "Сергей Иванов")
	createNamed(t, s, "jurgen01", "Jürgen Groß")
	createNamed(t, s, "plainaa1", "Plain")
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"élodie", []string{"elodie01"}},
		{"dupré", []string{"elodie01"}},
		{"сергей", []string{"sergei01"}},
		{"иван", []string{"sergei01"}},
		{"jürgen", []string{"jurgen01"}},
		{"groß", []string{"jurgen01"}},
		{"plain", []string{"plainaa1"}},
		{"lodie", []string{"elodie01"}},
		{"elodie", []string{"elodie01"}},
	} {
		got, err := s.SearchUsers(ctx, tc.q, 50)
		if err != nil || !slices.Equal(usernames(got), tc.want) {
			t.Errorf("SearchUsers(%q) = %v, %v; want %v", tc.q, usernames(got), err, tc.want)
		}
	}
}

func testSearchChanges(t *testing.T, s users.Store) {
	var made []users.User
	for i := range 30 {
		made = append(made, createNamed(t, s, fmt.Sprintf("renamer%02d", i), "Before"))
	}
	if err := s.UpdateUser(ctx, made[10].ID, users.UserUpdate{Name: ptr("Afterwards Longer Name")}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if err := s.UpdateUser(ctx, made[20].ID, users.UserUpdate{Name: ptr("Aft")}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if _, err := s.DeleteUser(ctx, made[5].ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	got, _ := s.SearchUsers(ctx, "aft", 50)
	if !slices.Equal(usernames(got), []string{"renamer10", "renamer20"}) {
		t.Errorf("SearchUsers(%q) = %v, want [renamer10 renamer20]", "aft", usernames(got))
	}
	got, _ = s.SearchUsers(ctx, "before", 50)
	if len(got) != 27 {
		t.Errorf("SearchUsers(%q) found %d users, want 27", "before", len(got))
	}
	for _, u := range got {
		if u.Username == "renamer05" || u.Username == "renamer10" || u.Username == "renamer20" {
			t.Errorf("SearchUsers(%q) found %s, renamed or deleted", "before", u.Username)
		}
	}
	got, _ = s.SearchUsers(ctx, "renamer2", 50)
	if len(got) != 10 || got[0].Username != "renamer20" || got[0].Name != "Aft" {
		t.Errorf("SearchUsers(%q) = %v", "renamer2", usernames(got))
	}
}

func testConcurrent(t *testing.T, s users.Store) {
	const workers, rounds = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				u, err := s.CreateUser(ctx, newUser(fmt.Sprintf("conc%dx%d", w, i)), newSession(uuid(next()), t0))
				if err != nil {
					t.Errorf("CreateUser: %v", err)
					return
				}
				x := newSession(uuid(next()), t0)
				x.UserID = u.ID
				if _, err := s.CreateSession(ctx, x, 2); err != nil {
					t.Errorf("CreateSession: %v", err)
				}
				if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{Name: ptr(fmt.Sprintf("Renamed %d", i))}); err != nil {
					t.Errorf("UpdateUser: %v", err)
				}
				up := upload(u.ID, uuid(next()), "png")
				if _, err := s.PutUpload(ctx, up); err != nil {
					t.Errorf("PutUpload: %v", err)
				}
				if err := s.AddPhoto(ctx, u.ID, photoOf(up), 10); err != nil {
					t.Errorf("AddPhoto: %v", err)
				}
				if _, err := s.SearchUsers(ctx, "conc", 50); err != nil {
					t.Errorf("SearchUsers: %v", err)
				}
				if _, err := s.SessionByToken(ctx, x.TokenHash); err != nil {
					t.Errorf("SessionByToken: %v", err)
				}
				if i%3 == 0 {
					if _, err := s.DeleteUser(ctx, u.ID); err != nil {
						t.Errorf("DeleteUser: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	found, err := s.SearchUsers(ctx, "renamed", 1000)
	if err != nil {
		t.Fatalf("SearchUsers: %v", err)
	}
	if want := workers * (rounds - (rounds+2)/3); len(found) != want {
		t.Errorf("after the run: %d users named Renamed, want %d", len(found), want)
	}
	for _, u := range found {
		if len(u.Photos) != 1 {
			t.Errorf("user %s has %d photos, want 1", u.Username, len(u.Photos))
		}
		if got := sessionIDs(t, s, u.ID); len(got) != 2 {
			t.Errorf("user %s has %d sessions, want 2", u.Username, len(got))
		}
	}
}

// Persistence.

type persistenceTest struct {
	name string
	test func(t *testing.T, open func() users.Store)
}

var persistence = []persistenceTest{
	{"Reopened store holds every acknowledged write (R-STO-2)", testReopen},
	{"Reopened store never reuses the ID of a deleted user (R-DEL-1)", testReopenIDs},
	{"Reopened store evicts tied sessions in creation order still (R-LOG-2)", testReopenSessionCapTies},
	{"Reopened store keeps every field of every stored type (R-STO-2)", testReopenFieldsKept},
}

// snapshot is what a store shows of the given users and uploads, for comparing stores.
type snapshot struct {
	Users    map[int64]users.User
	Sessions map[int64][]users.Session
	Uploads  map[string]users.Upload
	Missing  []string
}

func take(t *testing.T, s users.Store, ids []int64, uploads []string) snapshot {
	t.Helper()
	snap := snapshot{Users: map[int64]users.User{}, Sessions: map[int64][]users.Session{}, Uploads: map[string]users.Upload{}}
	for _, id := range ids {
		u, err := s.User(ctx, id)
		if errors.Is(err, users.ErrNotFound) {
			snap.Missing = append(snap.Missing, fmt.Sprint("user ", id))
			continue
		} else if err != nil {
			t.Fatalf("User(%d): %v", id, err)
		}
		snap.Users[id] = u
		list, err := s.Sessions(ctx, id)
		if err != nil {
			t.Fatalf("Sessions(%d): %v", id, err)
		}
		slices.SortFunc(list, func(a, b users.Session) int { return strings.Compare(a.ID, b.ID) })
		snap.Sessions[id] = list
	}
	for _, name := range uploads {
		up, err := s.Upload(ctx, name)
		if errors.Is(err, users.ErrNotFound) {
			snap.Missing = append(snap.Missing, "upload "+name)
			continue
		} else if err != nil {
			t.Fatalf("Upload(%q): %v", name, err)
		}
		snap.Uploads[name] = up
	}
	return snap
}

// populate makes every kind of change to s and returns the IDs and upload names it used.
func populate(t *testing.T, s users.Store) (ids []int64, uploads []string) {
	t.Helper()
	var list []users.User
	for i := range 6 {
		u := createNamed(t, s, uniqueName("persist"), fmt.Sprintf("Persistent Ünïcode %d", i))
		list = append(list, u)
		ids = append(ids, u.ID)
	}
	a, b, c := list[0], list[1], list[2]
	later := t0.Add(time.Hour)
	for i := range 3 {
		x := newSession(uuid(next()), t0.Add(time.Duration(i)*time.Minute))
		x.UserID = a.ID
		if _, err := s.CreateSession(ctx, x, 3); err != nil {
			t.Fatalf("CreateSession: %v", err)
		}
		if i == 1 {
			if err := s.UpdateSession(ctx, x.ID, users.SessionUpdate{UpdatedAt: &later, DeviceName: ptr("renamed"), DeviceToken: ptr("tok")}); err != nil {
				t.Fatalf("UpdateSession: %v", err)
			}
		}
	}
	bs, _ := s.Sessions(ctx, b.ID)
	if err := s.DeleteSession(ctx, bs[0].ID); err != nil {
		t.Fatalf("DeleteSession: %v", err)
	}
	for i := range 3 {
		up := upload(a.ID, uuid(next()), "png")
		if _, err := s.PutUpload(ctx, up); err != nil {
			t.Fatalf("PutUpload: %v", err)
		}
		uploads = append(uploads, up.Name)
		if i < 2 {
			if err := s.AddPhoto(ctx, a.ID, photoOf(up), 10); err != nil {
				t.Fatalf("AddPhoto: %v", err)
			}
		}
	}
	if _, err := s.DeletePhoto(ctx, a.ID, uploads[0]); err != nil {
		t.Fatalf("DeletePhoto: %v", err)
	}
	gone := upload(a.ID, uuid(next()), "txt")
	if _, err := s.PutUpload(ctx, gone); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}
	if _, err := s.DeleteUpload(ctx, a.ID, gone.Name); err != nil {
		t.Fatalf("DeleteUpload: %v", err)
	}
	uploads = append(uploads, gone.Name)
	replaced := upload(a.ID, uploads[2], "jpg")
	if _, err := s.PutUpload(ctx, replaced); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}
	cu := upload(c.ID, uuid(next()), "gif")
	if _, err := s.PutUpload(ctx, cu); err != nil {
		t.Fatalf("PutUpload: %v", err)
	}
	uploads = append(uploads, cu.Name)
	if err := s.UpdateUser(ctx, b.ID, users.UserUpdate{Name: ptr("Bee \"quoted\" <html> & \\ \u2028"), About: ptr("line\nbreak"), AccountKeyHash: ptr("k")}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if err := s.UpdateUser(ctx, a.ID, users.UserUpdate{PasswordHash: ptr("p2"), IfPasswordHash: a.PasswordHash, EndSessions: true}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if _, err := s.DeleteUser(ctx, c.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	// The newest user is deleted too: its ID must still never come back.
	if _, err := s.DeleteUser(ctx, list[5].ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	return ids, uploads
}

func testReopen(t *testing.T, open func() users.Store) {
	s := open()
	ids, uploads := populate(t, s)
	before := take(t, s, ids, uploads)
	searchBefore, _ := s.SearchUsers(ctx, "ünïcode", 50)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open()
	after := take(t, s, ids, uploads)
	if !same(after, before) {
		t.Errorf("after reopening:\n%+v\nbefore:\n%+v", after, before)
	}
	if got, _ := s.SearchUsers(ctx, "ünïcode", 50); !same(got, searchBefore) {
		t.Errorf("SearchUsers after reopening = %v, before %v", usernames(got), usernames(searchBefore))
	}
	// Write more, then reopen once more: the second life's writes persist too.
	more, _ := create(t, s, uniqueName("second"))
	ids = append(ids, more.ID)
	if err := s.UpdateUser(ctx, ids[0], users.UserUpdate{About: ptr("second life")}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	before = take(t, s, ids, uploads)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open()
	defer s.Close()
	if after := take(t, s, ids, uploads); !same(after, before) {
		t.Errorf("after the second reopening:\n%+v\nbefore:\n%+v", after, before)
	}
}

func testReopenIDs(t *testing.T, open func() users.Store) {
	s := open()
	a, _ := create(t, s, uniqueName("ids"))
	b, _ := create(t, s, uniqueName("ids"))
	if _, err := s.DeleteUser(ctx, b.ID); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open()
	defer s.Close()
	c, _ := create(t, s, b.Username)
	if c.ID <= b.ID {
		t.Errorf("after deleting user %d and reopening, a new user got ID %d", b.ID, c.ID)
	}
	if _, err := s.User(ctx, a.ID); err != nil {
		t.Errorf("User(%d) after reopening: %v", a.ID, err)
	}
}

func testSessionWithUser(t *testing.T, s users.Store) {
	r, ok := s.(users.SessionUserReader)
	if !ok {
		t.Skip("the store does not implement users.SessionUserReader")
	}
	u, first := create(t, s, uniqueName("both"))
	second := newSession(uuid(next()), t0)
	second.UserID = u.ID
	if _, err := s.CreateSession(ctx, second, users.MaxSessions); err != nil {
		t.Fatal(err)
	}
	sess, got, sessions, err := r.SessionWithUser(ctx, second.TokenHash)
	if err != nil {
		t.Fatal(err)
	}
	if !same(sess, second) {
		t.Errorf("SessionWithUser session: got %+v, want %+v", sess, second)
	}
	if want := mustUser(t, s, u.ID); !same(got, want) {
		t.Errorf("SessionWithUser user: got %+v, want %+v", got, want)
	}
	want, _ := s.Sessions(ctx, u.ID)
	if !same(sessionSet(sessions), sessionSet(want)) || len(sessions) != 2 {
		t.Errorf("SessionWithUser sessions: got %+v, want the 2 of Sessions %+v", sessions, want)
	}
	_, _, _, err = r.SessionWithUser(ctx, fmt.Sprintf("%064x", next()+1_000_000))
	wantErr(t, "SessionWithUser of an unknown digest", err, users.ErrNotFound)
	if _, err := s.DeleteUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, _, _, err = r.SessionWithUser(ctx, first.TokenHash)
	wantErr(t, "SessionWithUser after DeleteUser", err, users.ErrNotFound)
}
