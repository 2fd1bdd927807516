package users_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/storage"
	"usersapi/users"
)

// countingHasher counts the hashes and checks that reach the real Hasher, and lets a
// test hold a call until it says so.
type countingHasher struct {
	users.Hasher
	hashes   atomic.Int64
	verifies atomic.Int64

	mu        sync.Mutex
	holdHash  map[string]chan struct{} // Hash(secret) waits for the channel to close
	holdCheck chan struct{}            // every Verify waits for it, if not nil
	entered   chan string              // told of every held call as it starts waiting
}

func (h *countingHasher) Hash(ctx context.Context, secret string) (string, error) {
	h.hashes.Add(1)
	h.mu.Lock()
	hold := h.holdHash[secret]
	h.mu.Unlock()
	if hold != nil {
		h.entered <- secret
		<-hold
	}
	return h.Hasher.Hash(ctx, secret)
}

func (h *countingHasher) Verify(ctx context.Context, secret, encoded string) (bool, bool, error) {
	h.verifies.Add(1)
	h.mu.Lock()
	hold := h.holdCheck
	h.mu.Unlock()
	if hold != nil {
		h.entered <- secret
		<-hold
	}
	return h.Hasher.Verify(ctx, secret, encoded)
}

// calls returns the number of hashes and checks so far.
func (h *countingHasher) calls() int64 { return h.hashes.Load() + h.verifies.Load() }

// secEnv is a Service on a memory store with a counting hasher and a settable clock.
type secEnv struct {
	t      *testing.T
	svc    *users.Service
	store  users.Store
	hasher *countingHasher
	now    atomic.Pointer[time.Time]
}

func newSecEnv(t *testing.T, iterations int) *secEnv {
	t.Helper()
	e := &secEnv{t: t, store: storage.NewMemory()}
	start := time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)
	e.now.Store(&start)
	e.hasher = &countingHasher{Hasher: auth.NewHasher(auth.HasherOptions{Iterations: iterations}), entered: make(chan string, 100)}
	e.svc = users.NewService(users.Config{
		Store:  e.store,
		Hasher: e.hasher,
		Tokens: auth.Tokens{},
		Now:    func() time.Time { return *e.now.Load() },
	})
	return e
}

func (e *secEnv) advance(d time.Duration) {
	t := e.now.Load().Add(d)
	e.now.Store(&t)
}

var secSeq atomic.Int64

// secUser is a registered user with its first session.
type secUser struct {
	users.UserInfo
	creds users.Credentials
	sess  users.Session
	token string
}

func (e *secEnv) register() secUser {
	e.t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("secuser%d", secSeq.Add(1))
	pw := "correct horse"
	info, err := e.svc.Register(ctx, users.RegisterRequest{Name: &name, Username: &name, Password: &pw, DeviceInfo: &users.DeviceInfo{ID: users.NewUUID()}}, "192.0.2.1")
	if err != nil {
		e.t.Fatalf("register %s: %v", name, err)
	}
	token := info.DeviceSessions[0].AccessToken
	sess, err := e.svc.Authenticate(ctx, token)
	if err != nil {
		e.t.Fatal(err)
	}
	return secUser{UserInfo: info, creds: users.Credentials{Username: name, Password: pw}, sess: sess, token: token}
}

func (e *secEnv) login(c users.Credentials) error {
	_, err := e.svc.Login(context.Background(), c, func() (users.LoginRequest, error) {
		return users.LoginRequest{DeviceInfo: &users.DeviceInfo{ID: users.NewUUID()}}, nil
	}, "192.0.2.1")
	return err
}

func ptr[T any](v T) *T { return &v }

const goodKey = "an account key of at least 25 characters"

// attempts are the five places where a secret is checked under R-SEC-4, each as a
// function of the secret given, for the user u of e.
type attempt struct {
	name    string
	counter string // "password" or "key"
	try     func(e *secEnv, u secUser, secret string) error
	wrong   error // the error of a wrong secret
}

var attempts = []attempt{
	{"login", "password", func(e *secEnv, u secUser, secret string) error {
		return e.login(users.Credentials{Username: u.creds.Username, Password: secret})
	}, users.ErrUnauthorized},
	{"change password", "password", func(e *secEnv, u secUser, secret string) error {
		return e.svc.ChangePassword(context.Background(), u.sess, users.ChangePasswordRequest{OldPassword: &secret, NewPassword: ptr("a brand new password")})
	}, users.ErrForbidden},
	{"set account key", "password", func(e *secEnv, u secUser, secret string) error {
		return e.svc.SetAccountKey(context.Background(), u.sess, users.SetAccountKeyRequest{Password: &secret, AccountKey: ptr(goodKey)})
	}, users.ErrForbidden},
	{"deregister", "password", func(e *secEnv, u secUser, secret string) error {
		return e.svc.Deregister(context.Background(), users.Credentials{Username: u.creds.Username, Password: secret})
	}, users.ErrUnauthorized},
	{"reset", "key", func(e *secEnv, u secUser, secret string) error {
		return e.svc.ResetPassword(context.Background(), users.ResetPasswordRequest{UserID: &u.ID, AccountKey: &secret, NewPassword: ptr("a brand new password")})
	}, users.ErrForbidden},
}

// right returns the right secret of u for the attempt's counter.
func right(a attempt, u secUser) string {
	if a.counter == "key" {
		return goodKey
	}
	return u.creds.Password
}

// TestThrottleSkipsTheCheckWhileBlocked covers R-SEC-4 for each place a secret is
// checked: ten failures give 429 with a retry time, and while blocked even the right
// secret is refused without hashing anything.
func TestThrottleSkipsTheCheckWhileBlocked(t *testing.T) {
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			e := newSecEnv(t, auth.MinIterations)
			u := e.register()
			if err := e.svc.SetAccountKey(context.Background(), u.sess, users.SetAccountKeyRequest{Password: &u.creds.Password, AccountKey: ptr(goodKey)}); err != nil {
				t.Fatal(err)
			}
			wrong := "wrong secret, long enough to pass every field rule"
			for i := range users.MaxFailures {
				if err := a.try(e, u, wrong); !errors.Is(err, a.wrong) {
					t.Fatalf("wrong secret %d: got %v, want %v", i, err, a.wrong)
				}
				e.advance(time.Second)
			}
			before := e.hasher.calls()
			err := a.try(e, u, right(a, u))
			if !errors.Is(err, users.ErrTooManyAttempts) {
				t.Fatalf("right secret after %d failures: got %v, want ErrTooManyAttempts", users.MaxFailures, err)
			}
			// The first failure was 10s ago: it leaves the window in 15m-10s.
			if got, want := users.RetryAfter(err), users.FailureWindow-10*time.Second; got != want {
				t.Errorf("RetryAfter %v, want %v", got, want)
			}
			if n := e.hasher.calls() - before; n != 0 {
				t.Errorf("while blocked, %d hashes or checks ran; want none", n)
			}
			e.advance(users.FailureWindow - 10*time.Second - time.Nanosecond)
			if err := a.try(e, u, right(a, u)); !errors.Is(err, users.ErrTooManyAttempts) {
				t.Errorf("just before the window passes: got %v, want still blocked", err)
			}
			e.advance(time.Second)
			if err := a.try(e, u, right(a, u)); err != nil {
				t.Errorf("once the first failure left the window: got %v, want success", err)
			}
		})
	}
}

// TestThrottleCounters covers the two counters of R-SEC-4: the password checks share
// one, reset has its own, and a success clears the count.
func TestThrottleCounters(t *testing.T) {
	e := newSecEnv(t, auth.MinIterations)
	u := e.register()
	ctx := context.Background()
	if err := e.svc.SetAccountKey(ctx, u.sess, users.SetAccountKeyRequest{Password: &u.creds.Password, AccountKey: ptr(goodKey)}); err != nil {
		t.Fatal(err)
	}
	wrong := "wrong secret, long enough to pass every field rule"
	byName := map[string]attempt{}
	for _, a := range attempts {
		byName[a.name] = a
	}

	t.Run("the password checks share one counter", func(t *testing.T) {
		for i := range users.MaxFailures {
			a := attempts[i%4] // login, change password, set account key, deregister
			if err := a.try(e, u, wrong); !errors.Is(err, a.wrong) {
				t.Fatalf("%s with a wrong password: %v", a.name, err)
			}
		}
		for _, a := range attempts[:4] {
			if err := a.try(e, u, u.creds.Password); !errors.Is(err, users.ErrTooManyAttempts) {
				t.Errorf("%s after ten mixed failures: got %v, want ErrTooManyAttempts", a.name, err)
			}
		}
	})
	t.Run("password failures do not block reset", func(t *testing.T) {
		if err := byName["reset"].try(e, u, wrong); !errors.Is(err, users.ErrForbidden) {
			t.Errorf("reset with a wrong key: got %v, want ErrForbidden", err)
		}
	})
	e.advance(users.FailureWindow)
	t.Run("reset failures do not block login", func(t *testing.T) {
		for range users.MaxFailures {
			byName["reset"].try(e, u, wrong)
		}
		if err := byName["reset"].try(e, u, goodKey); !errors.Is(err, users.ErrTooManyAttempts) {
			t.Fatalf("reset after ten failures: got %v, want ErrTooManyAttempts", err)
		}
		if err := e.login(u.creds); err != nil {
			t.Errorf("login while reset is blocked: got %v, want success", err)
		}
	})
	e.advance(users.FailureWindow)
	t.Run("a success clears the count", func(t *testing.T) {
		for range users.MaxFailures - 1 {
			e.login(users.Credentials{Username: u.creds.Username, Password: wrong})
		}
		if err := e.login(u.creds); err != nil {
			t.Fatal(err)
		}
		for i := range users.MaxFailures - 1 {
			if err := e.login(users.Credentials{Username: u.creds.Username, Password: wrong}); !errors.Is(err, users.ErrUnauthorized) {
				t.Fatalf("failure %d after a success: got %v, want ErrUnauthorized", i, err)
			}
		}
		if err := e.login(u.creds); err != nil {
			t.Errorf("nine failures after a success: got %v, want success", err)
		}
	})
	t.Run("the username is counted lower-cased", func(t *testing.T) {
		for i := range users.MaxFailures {
			name := u.creds.Username
			if i%2 == 0 {
				name = strings.ToUpper(name)
			}
			e.login(users.Credentials{Username: " " + name, Password: wrong})
		}
		if err := e.login(u.creds); !errors.Is(err, users.ErrTooManyAttempts) {
			t.Errorf("after ten failures under spellings of one username: got %v, want ErrTooManyAttempts", err)
		}
	})
}

// TestThrottleUnknownAccounts covers R-SEC-4: an unknown username or user id is
// counted and blocked like a known one, with the same answers.
func TestThrottleUnknownAccounts(t *testing.T) {
	e := newSecEnv(t, auth.MinIterations)
	u := e.register()
	wrong := "wrong secret, long enough to pass every field rule"
	ghost := secUser{creds: users.Credentials{Username: "ghostuser", Password: wrong}}
	ghost.ID = 1 << 40
	for _, a := range []attempt{attempts[0], attempts[4]} { // login, reset
		var known, unknown []error
		for range users.MaxFailures + 1 {
			known = append(known, a.try(e, u, wrong))
			unknown = append(unknown, a.try(e, ghost, wrong))
		}
		for i := range known {
			if fmt.Sprint(known[i], users.RetryAfter(known[i])) != fmt.Sprint(unknown[i], users.RetryAfter(unknown[i])) || errors.Is(known[i], users.ErrTooManyAttempts) != errors.Is(unknown[i], users.ErrTooManyAttempts) {
				t.Errorf("%s attempt %d: known account %v, unknown %v; want the same", a.name, i, known[i], unknown[i])
			}
		}
		if !errors.Is(unknown[users.MaxFailures], users.ErrTooManyAttempts) {
			t.Errorf("%s: the eleventh attempt on an unknown account got %v, want ErrTooManyAttempts", a.name, unknown[users.MaxFailures])
		}
	}
	t.Run("an unknown account costs a check like a known one", func(t *testing.T) {
		e.advance(users.FailureWindow)
		before := e.hasher.calls()
		e.login(ghost.creds)
		unknownCost := e.hasher.calls() - before
		before = e.hasher.calls()
		e.login(users.Credentials{Username: u.creds.Username, Password: wrong})
		if knownCost := e.hasher.calls() - before; unknownCost != knownCost || knownCost != 1 {
			t.Errorf("unknown user: %d hash calls, known user with a wrong password: %d; want 1 each (R-LOG-1)", unknownCost, knownCost)
		}
	})
}

// TestThrottleConcurrentAttempts covers R-SEC-4 under concurrency: many wrong guesses
// sent at once must not all be checked before the first failure is counted, or a
// client with many connections would get far more than ten guesses per window.
func TestThrottleConcurrentAttempts(t *testing.T) {
	e := newSecEnv(t, auth.MinIterations)
	u := e.register()
	hold := make(chan struct{})
	e.hasher.mu.Lock()
	e.hasher.holdCheck = hold
	e.hasher.mu.Unlock()

	const n = 4 * users.MaxFailures
	var returned atomic.Int64
	errs := make(chan error, n)
	for range n {
		go func() {
			err := e.login(users.Credentials{Username: u.creds.Username, Password: "wrong secret, long enough"})
			returned.Add(1)
			errs <- err
		}()
	}
	// Wait until ten attempts are being checked (held); the others wait for their turn.
	checking := 0
	deadline := time.After(10 * time.Second)
	for checking < users.MaxFailures {
		select {
		case <-e.hasher.entered:
			checking++
		case <-deadline:
			t.Fatalf("after 10s: %d checking, %d answered of %d", checking, returned.Load(), n)
		}
	}
	select {
	case <-e.hasher.entered:
		t.Fatalf("an attempt past the ten under way reached the password check")
	case <-time.After(50 * time.Millisecond):
	}
	if r := returned.Load(); r != 0 {
		t.Errorf("%d attempts were answered while ten checks were under way; want them to wait for their turn", r)
	}
	close(hold)
	go func() { // the checks made after the ten failed, if any: let them through
		for range e.hasher.entered {
		}
	}()
	blocked := 0
	for range n {
		err := <-errs
		switch {
		case errors.Is(err, users.ErrTooManyAttempts):
			blocked++
			if users.RetryAfter(err) <= 0 {
				t.Errorf("429 without a retry time: %v", err)
			}
		case errors.Is(err, users.ErrUnauthorized):
		default:
			t.Errorf("concurrent wrong login: %v", err)
		}
	}
	if v := e.hasher.verifies.Load(); v > users.MaxFailures {
		t.Errorf("%d concurrent wrong logins: %d reached the password check; want at most %d", n, v, users.MaxFailures)
	}
	if checking+blocked != n {
		t.Errorf("%d checked + %d blocked, want %d in all", checking, blocked, n)
	}
	if err := e.login(u.creds); !errors.Is(err, users.ErrTooManyAttempts) {
		t.Errorf("after the storm: got %v, want ErrTooManyAttempts", err)
	}
}

// TestConcurrentRightPasswords covers R-SEC-4's bound on checks under way: it holds
// back attempts past ten for their turn, and never answers one 429 when no attempt has
// failed. Twenty-four logins with the right password at once all succeed.
func TestConcurrentRightPasswords(t *testing.T) {
	e := newSecEnv(t, auth.MinIterations)
	u := e.register()
	hold := make(chan struct{})
	e.hasher.mu.Lock()
	e.hasher.holdCheck = hold
	e.hasher.mu.Unlock()
	const n = 24
	errs := make(chan error, n)
	for range n {
		go func() { errs <- e.login(u.creds) }()
	}
	for range users.MaxFailures { // ten checks under way, fourteen waiting
		<-e.hasher.entered
	}
	close(hold)
	go func() {
		for range e.hasher.entered {
		}
	}()
	for range n {
		if err := <-errs; err != nil {
			t.Errorf("a concurrent login with the right password: %v, want success", err)
		}
	}
}

// TestRehashOnLogin covers R-SEC-1: a login on a hash below the configured count
// stores a new hash with that count, which still works.
func TestRehashOnLogin(t *testing.T) {
	ctx := context.Background()
	e := newSecEnv(t, 2*auth.MinIterations)
	u := e.register()
	weak, err := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}).Hash(ctx, u.creds.Password)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpdateUser(ctx, u.ID, users.UserUpdate{PasswordHash: &weak}); err != nil {
		t.Fatal(err)
	}
	if err := e.login(u.creds); err != nil {
		t.Fatalf("login on the weak hash: %v", err)
	}
	stored, err := e.store.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.PasswordHash == weak || !strings.HasPrefix(stored.PasswordHash, fmt.Sprintf("$pbkdf2-sha256$i=%d$", 2*auth.MinIterations)) {
		t.Fatalf("after login the stored hash is %q; want a new one with i=%d", stored.PasswordHash, 2*auth.MinIterations)
	}
	if err := e.login(u.creds); err != nil {
		t.Errorf("login on the new hash: %v", err)
	}
	if after, _ := e.store.User(ctx, u.ID); after.PasswordHash != stored.PasswordHash {
		t.Error("a login on a hash at the configured count rehashed it again")
	}
	if err := e.login(users.Credentials{Username: u.creds.Username, Password: "wrong secret, long enough"}); !errors.Is(err, users.ErrUnauthorized) {
		t.Errorf("wrong password after the rehash: %v", err)
	}

	t.Run("a password change during the rehash is not undone", func(t *testing.T) {
		if err := e.store.UpdateUser(ctx, u.ID, users.UserUpdate{PasswordHash: &weak}); err != nil {
			t.Fatal(err)
		}
		hold := make(chan struct{})
		e.hasher.mu.Lock()
		e.hasher.holdHash = map[string]chan struct{}{u.creds.Password: hold} // the rehash
		e.hasher.mu.Unlock()
		done := make(chan error)
		go func() { done <- e.login(u.creds) }()
		<-e.hasher.entered // the login checked the weak hash and is rehashing

		changed := "changed meanwhile"
		e.hasher.mu.Lock()
		e.hasher.holdHash = nil
		e.hasher.mu.Unlock()
		newHash, err := e.hasher.Hash(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.UpdateUser(ctx, u.ID, users.UserUpdate{PasswordHash: &newHash}); err != nil {
			t.Fatal(err)
		}
		close(hold)
		// Its check passed, but the password changed before its session was made: the
		// change ends it like every other session (R-PW-1).
		if err := <-done; !errors.Is(err, users.ErrUnauthorized) {
			t.Errorf("the login whose rehash lost the race: %v; want ErrUnauthorized", err)
		}
		if stored, _ := e.store.User(ctx, u.ID); stored.PasswordHash != newHash {
			t.Error("the rehash overwrote the password set meanwhile")
		}
		if err := e.login(users.Credentials{Username: u.creds.Username, Password: changed}); err != nil {
			t.Errorf("the password set meanwhile no longer logs in: %v", err)
		}
	})
}

// TestPasswordEqualToUsernameIsAFieldError covers R-FLD-3 with R-WIRE-11: on every route
// whose body carries a password, one equal to the username (in any case) breaks a field
// rule, so it is 400 before any secret is checked, and it counts as no failed attempt:
// twenty of them leave the right password working.
func TestPasswordEqualToUsernameIsAFieldError(t *testing.T) {
	e := newSecEnv(t, 1000)
	u := e.register()
	ctx := context.Background()
	for _, c := range []struct {
		name string
		try  func(secret string) error
	}{
		{"change password, oldPassword", func(secret string) error {
			return e.svc.ChangePassword(ctx, u.sess, users.ChangePasswordRequest{OldPassword: &secret, NewPassword: ptr("a brand new password")})
		}},
		{"set account key, password", func(secret string) error {
			return e.svc.SetAccountKey(ctx, u.sess, users.SetAccountKeyRequest{Password: &secret, AccountKey: ptr(goodKey)})
		}},
	} {
		before := e.hasher.verifies.Load()
		for i := range 20 {
			secret := u.creds.Username
			if i%2 == 1 {
				secret = strings.ToUpper(secret)
			}
			if err := c.try(secret); !errors.Is(err, users.ErrInvalid) {
				t.Fatalf("%s equal to the username: %v, want ErrInvalid (400)", c.name, err)
			}
		}
		if n := e.hasher.verifies.Load() - before; n != 0 {
			t.Errorf("%s: %d password checks for passwords equal to the username, want none", c.name, n)
		}
		if err := e.login(u.creds); err != nil {
			t.Fatalf("after twenty field errors in %s, login with the right password: %v", c.name, err)
		}
	}
}

// TestRacingLoginsOnOneDevice covers R-LOG-2 with R-OBJ-3: logins racing on one device
// id each replace the device's session, and each answer lists the sessions as its own
// write left them, so never two sessions of that device (one of them already ended).
func TestRacingLoginsOnOneDevice(t *testing.T) {
	const n = 40
	e := newSecEnv(t, auth.MinIterations)
	// Hold each CreateSession's return until all n have been stored (or a second has
	// passed), as a durable store's sync wait does: every login then answers after the
	// others replaced its session.
	held := &heldSessions{Store: e.store}
	held.all.Add(n)
	e.svc = users.NewService(users.Config{Store: held, Hasher: e.hasher, Tokens: auth.Tokens{}, Now: func() time.Time { return *e.now.Load() }})
	u := e.register()
	device := users.NewUUID()
	answers := make(chan users.UserInfo, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			info, err := e.svc.Login(context.Background(), u.creds, func() (users.LoginRequest, error) {
				return users.LoginRequest{DeviceInfo: &users.DeviceInfo{ID: device}}, nil
			}, "192.0.2.1")
			if err != nil {
				t.Errorf("login: %v", err)
				return
			}
			answers <- info
		})
	}
	wg.Wait()
	close(answers)
	for info := range answers {
		of := 0
		for _, s := range info.DeviceSessions {
			if s.DeviceInfo.ID == device {
				of++
			}
		}
		if of != 1 || info.DeviceSessions[0].DeviceInfo.ID != device || info.DeviceSessions[0].AccessToken == "" {
			t.Fatalf("a login answer lists %d sessions of its device (want exactly its own, first, with its token): %+v", of, info.DeviceSessions)
		}
	}
}

// heldSessions is a Store whose CreateSession returns only once all of a number of
// calls have been stored, or after a second.
type heldSessions struct {
	users.Store
	all sync.WaitGroup
}

func (h *heldSessions) CreateSession(ctx context.Context, s users.Session, max int) ([]users.Session, error) {
	list, err := h.Store.CreateSession(ctx, s, max)
	h.all.Done()
	done := make(chan struct{})
	go func() { h.all.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
	}
	return list, err
}
