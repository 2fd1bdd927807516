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
