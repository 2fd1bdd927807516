package storage

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"usersapi/users"
)

// TestJournalFailureGoesBack: once the journal cannot be written, the write that failed
// is answered "not stored" (503 with a retry time), its change never shows to a reader,
// later writes are refused until the disk takes writes again, then they resume without
// a restart; what was acknowledged is all that a reopen finds.
func TestJournalFailureGoesBack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f, err := OpenFile(dir, &FileOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.CreateUser(ctx, users.User{Username: "first1", Name: "First"}, users.Session{ID: "s1", TokenHash: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	f.j.f.Close() // the flusher is idle: the write above was acknowledged
	about := "lost"
	err = f.UpdateUser(ctx, u.ID, users.UserUpdate{About: &about})
	if !errors.Is(err, users.ErrBusy) || users.RetryAfter(err) <= 0 {
		t.Fatalf("UpdateUser on a broken journal: %v, want ErrBusy with a retry time", err)
	}
	if got, err := f.User(ctx, u.ID); err != nil || got.About != "" {
		t.Errorf("after the failed update the user reads as about %q, %v; want the acknowledged \"\"", got.About, err)
	}

	f.mu.Lock()
	f.probeEvery = time.Hour // the disk is not asked again yet
	f.mu.Unlock()
	_, err = f.CreateUser(ctx, users.User{Username: "second2", Name: "Second"}, users.Session{ID: "s2", TokenHash: "t2"})
	if !errors.Is(err, users.ErrBusy) {
		t.Errorf("a write while the store refuses writes: %v, want ErrBusy", err)
	}
	if _, err := f.UserByUsername(ctx, "second2"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("the refused user: %v, want ErrNotFound", err)
	}
	if err := f.Writable(); !errors.Is(err, users.ErrBusy) {
		t.Errorf("Writable while writes are refused: %v, want ErrBusy (for /healthz)", err)
	}

	f.mu.Lock()
	f.probeEvery = 0 // the next write asks the disk, which takes writes
	f.mu.Unlock()
	third, err := f.CreateUser(ctx, users.User{Username: "third3", Name: "Third"}, users.Session{ID: "s3", TokenHash: "t3"})
	if err != nil {
		t.Fatalf("a write once the disk takes writes again: %v", err)
	}
	if err := f.Writable(); err != nil {
		t.Errorf("Writable once writes resumed: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	f, err = OpenFile(dir, &FileOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := f.User(ctx, u.ID); err != nil || got.About != "" {
		t.Errorf("after reopening, the first user: about %q, %v; want \"\"", got.About, err)
	}
	if _, err := f.UserByUsername(ctx, "second2"); !errors.Is(err, users.ErrNotFound) {
		t.Errorf("after reopening, the refused user: %v, want ErrNotFound", err)
	}
	if _, err := f.User(ctx, third.ID); err != nil {
		t.Errorf("after reopening, the user written after the disk came back: %v", err)
	}
}

// TestDurableBeforeVisible: a change applied but not yet synced shows to no reader: a
// read of that user, or one resting on the whole state (a lookup that finds nothing),
// waits for the sync, while a read of another user does not wait at all.
func TestDurableBeforeVisible(t *testing.T) {
	ctx := context.Background()
	f, err := OpenFile(t.TempDir(), &FileOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, err := f.CreateUser(ctx, users.User{Username: "pending1", Name: "Pending"}, users.Session{ID: "s1", TokenHash: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.CreateUser(ctx, users.User{Username: "other1", Name: "Other"}, users.Session{ID: "s2", TokenHash: "t2"})
	if err != nil {
		t.Fatal(err)
	}
	pause := make(chan struct{})
	f.j.mu.Lock()
	f.j.pause = pause
	f.j.mu.Unlock()

	f.mu.RLock()
	before := f.applied
	f.mu.RUnlock()
	acked := make(chan error, 1)
	about := "not yet on disk"
	go func() { acked <- f.UpdateUser(ctx, u.ID, users.UserUpdate{About: &about}) }()
	for applied := before; applied == before; {
		time.Sleep(time.Millisecond)
		f.mu.RLock()
		applied = f.applied
		f.mu.RUnlock()
	}

	read := make(chan string, 1)
	go func() {
		got, err := f.User(ctx, u.ID)
		if err != nil {
			read <- err.Error()
		}
		read <- got.About
	}()
	missing := make(chan error, 1)
	go func() { _, err := f.SessionByToken(ctx, "no such token"); missing <- err }()

	// The untouched user answers at once, while the sync is held.
	if got, err := f.User(ctx, other.ID); err != nil || got.Name != "Other" {
		t.Fatalf("User(other) while a sync is held: %+v, %v", got, err)
	}
	select {
	case got := <-read:
		t.Fatalf("a reader saw %q before the change was synced", got)
	case err := <-missing:
		t.Fatalf("a lookup that found nothing answered (%v) before the pending change was synced", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(pause)
	if err := <-acked; err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if got := <-read; got != about {
		t.Errorf("after the sync the reader got %q, want %q", got, about)
	}
	if err := <-missing; !errors.Is(err, users.ErrNotFound) {
		t.Errorf("the lookup after the sync: %v, want ErrNotFound", err)
	}
}
