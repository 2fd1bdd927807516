package users_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/storage"
	"usersapi/users"
)

// staleStore shows the session as it was first read, as a second server that read it
// just before another one touched it would.
type staleStore struct {
	users.Store
	mu   sync.Mutex
	seen map[string]users.Session
}

func (s *staleStore) SessionByToken(ctx context.Context, tokenHash string) (users.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.seen[tokenHash]; ok {
		return sess, nil
	}
	sess, err := s.Store.SessionByToken(ctx, tokenHash)
	if err == nil {
		s.seen[tokenHash] = sess
	}
	return sess, err
}

// TestTouchOnceAcrossServers covers R-SES-1 with two servers on one store: the touch is
// made once a minute exactly (not at 59 s, at 60 s), and a server that read the session
// before another touched it changes nothing, so the touch is one write however many
// servers see the same stale session.
func TestTouchOnceAcrossServers(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)
	m := storage.NewMemory()
	stale := &staleStore{Store: m, seen: map[string]users.Session{}}
	var mu sync.Mutex
	nowA, nowB := start, start
	clock := func(p *time.Time) func() time.Time {
		return func() time.Time { mu.Lock(); defer mu.Unlock(); return *p }
	}
	set := func(p *time.Time, at time.Time) { mu.Lock(); *p = at; mu.Unlock() }
	hasher := auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations})
	a := users.NewService(users.Config{Store: m, Hasher: hasher, Tokens: auth.Tokens{}, Now: clock(&nowA)})
	b := users.NewService(users.Config{Store: stale, Hasher: hasher, Tokens: auth.Tokens{}, Now: clock(&nowB)})

	name, pw := "toucher01", "correct horse"
	info, err := a.Register(ctx, users.RegisterRequest{Name: &name, Username: &name, Password: &pw, DeviceInfo: &users.DeviceInfo{ID: users.NewUUID()}}, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	token := info.DeviceSessions[0].AccessToken
	if _, err := b.Authenticate(ctx, token); err != nil { // b reads the session as made
		t.Fatal(err)
	}
	stored := func() time.Time {
		t.Helper()
		list, err := m.Sessions(ctx, info.ID)
		if err != nil || len(list) != 1 {
			t.Fatalf("Sessions: %v, %v", list, err)
		}
		return list[0].UpdatedAt
	}

	set(&nowA, start.Add(59*time.Second))
	if _, err := a.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := stored(); !got.Equal(start) {
		t.Errorf("after 59 s: UpdatedAt %v, want %v (at most once a minute)", got, start)
	}
	set(&nowA, start.Add(time.Minute))
	if _, err := a.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := stored(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("after 60 s: UpdatedAt %v, want %v", got, start.Add(time.Minute))
	}
	// b still sees UpdatedAt = start and would touch; the store sees a's touch.
	set(&nowB, start.Add(61*time.Second))
	if _, err := b.Authenticate(ctx, token); err != nil {
		t.Fatal(err)
	}
	if got := stored(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("a second server's stale touch changed UpdatedAt to %v, want %v kept", got, start.Add(time.Minute))
	}
}
