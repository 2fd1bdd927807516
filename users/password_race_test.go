package users_test

import (
	"context"
	"errors"
	"testing"

	"usersapi/auth"
	"usersapi/users"
)

// TestConcurrentPasswordChanges covers R-PW-1 with two changes that both know the old
// password: the one that finishes second must not undo the first, whose check of the
// old password it never saw. Otherwise someone who learned the old password could
// take the account back from its owner, who changed it meanwhile.
func TestConcurrentPasswordChanges(t *testing.T) {
	ctx := context.Background()
	e := newSecEnv(t, auth.MinIterations)
	owner := e.register()
	intruderToken, err := e.svc.Login(ctx, owner.creds, func() (users.LoginRequest, error) {
		return users.LoginRequest{DeviceInfo: &users.DeviceInfo{ID: users.NewUUID()}}, nil
	}, "198.51.100.7")
	if err != nil {
		t.Fatal(err)
	}
	intruder, err := e.svc.Authenticate(ctx, intruderToken.DeviceSessions[0].AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	intruderPW, ownerPW := "the intruder's password", "the owner's new password"
	hold := make(chan struct{})
	e.hasher.mu.Lock()
	e.hasher.holdHash = map[string]chan struct{}{intruderPW: hold}
	e.hasher.mu.Unlock()
	done := make(chan error)
	go func() {
		done <- e.svc.ChangePassword(ctx, intruder, users.ChangePasswordRequest{OldPassword: &owner.creds.Password, NewPassword: &intruderPW})
	}()
	<-e.hasher.entered // the intruder's old password passed; its new hash is being made

	if err := e.svc.ChangePassword(ctx, owner.sess, users.ChangePasswordRequest{OldPassword: &owner.creds.Password, NewPassword: &ownerPW}); err != nil {
		t.Fatalf("the owner's change: %v", err)
	}
	close(hold)
	if err := <-done; !errors.Is(err, users.ErrForbidden) {
		t.Errorf("the change that finished second: got %v, want ErrForbidden", err)
	}
	if err := e.login(users.Credentials{Username: owner.creds.Username, Password: ownerPW}); err != nil {
		t.Errorf("the owner's new password: %v; want it to work", err)
	}
	if err := e.login(users.Credentials{Username: owner.creds.Username, Password: intruderPW}); err == nil {
		t.Error("the intruder's password works: the owner's change was undone")
	}
	if _, err := e.svc.Authenticate(ctx, owner.token); err != nil {
		t.Errorf("the owner's session: %v; want it kept", err)
	}
}

// TestSetAccountKeyAfterPasswordChange: a key set with a password checked before the
// owner changed it is refused, so a session that learned the old password cannot plant
// a reset key once the owner has taken the account back.
func TestSetAccountKeyAfterPasswordChange(t *testing.T) {
	ctx := context.Background()
	e := newSecEnv(t, auth.MinIterations)
	owner := e.register()
	intruderKey := "the intruder's account key, long enough"
	hold := make(chan struct{})
	e.hasher.mu.Lock()
	e.hasher.holdHash = map[string]chan struct{}{intruderKey: hold}
	e.hasher.mu.Unlock()
	done := make(chan error)
	go func() {
		done <- e.svc.SetAccountKey(ctx, owner.sess, users.SetAccountKeyRequest{Password: &owner.creds.Password, AccountKey: &intruderKey})
	}()
	<-e.hasher.entered
	newHash, err := e.hasher.Hash(ctx, "the owner's new password")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpdateUser(ctx, owner.ID, users.UserUpdate{PasswordHash: &newHash}); err != nil {
		t.Fatal(err)
	}
	close(hold)
	if err := <-done; !errors.Is(err, users.ErrForbidden) {
		t.Errorf("set account key checked against a replaced password: got %v, want ErrForbidden", err)
	}
	if u, _ := e.store.User(ctx, owner.ID); u.AccountKeyHash != "" {
		t.Error("the account key was stored")
	}
}

// TestLoginDuringPasswordChange covers R-PW-1 and R-RST-1 against a login already
// under way: a login whose password was checked just before the password changed (and
// every other session ended) must not open a session after the change, or whoever
// knew the old password keeps a session the change was meant to end.
func TestLoginDuringPasswordChange(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		secret   string // the password the account has once the login resumes
		wantOpen bool
	}{
		{"the password changed", "the owner's new password", false},
		{"the hash was only renewed", "correct horse", true}, // as a rehash by another login does
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newSecEnv(t, auth.MinIterations)
			owner := e.register()
			hold := make(chan struct{})
			e.hasher.mu.Lock()
			e.hasher.holdCheck = hold
			e.hasher.mu.Unlock()
			type result struct {
				info users.UserInfo
				err  error
			}
			done := make(chan result)
			go func() {
				info, err := e.svc.Login(ctx, owner.creds, func() (users.LoginRequest, error) {
					return users.LoginRequest{DeviceInfo: &users.DeviceInfo{ID: users.NewUUID()}}, nil
				}, "198.51.100.7")
				done <- result{info, err}
			}()
			<-e.hasher.entered // the old hash is being checked

			// What ChangePassword and ResetPassword store, in one step.
			newHash, err := e.hasher.Hasher.Hash(ctx, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.UpdateUser(ctx, owner.ID, users.UserUpdate{PasswordHash: &newHash, EndSessions: true}); err != nil {
				t.Fatal(err)
			}
			close(hold)
			r := <-done
			sessions, err := e.store.Sessions(ctx, owner.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantOpen {
				if !errors.Is(r.err, users.ErrUnauthorized) || len(sessions) != 0 {
					t.Errorf("login checked against the old password: %v, %d sessions; want ErrUnauthorized and none", r.err, len(sessions))
				}
				return
			}
			if r.err != nil || len(sessions) != 1 {
				t.Fatalf("login while the hash was renewed: %v, %d sessions; want success and its session", r.err, len(sessions))
			}
			if _, err := e.svc.Authenticate(ctx, r.info.DeviceSessions[0].AccessToken); err != nil {
				t.Errorf("its token: %v", err)
			}
		})
	}
}
