package storage

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"usersapi/users"
)

// TestJournalFailureStopsWrites: once the journal cannot be written, that write and every
// later one fail, nothing more is acknowledged, reads go on, and Close reports it.
func TestJournalFailureStopsWrites(t *testing.T) {
	ctx := context.Background()
	f, err := OpenFile(t.TempDir(), &FileOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.CreateUser(ctx, users.User{Username: "first1", Name: "First"}, users.Session{ID: "s1", TokenHash: "t1"})
	if err != nil {
		t.Fatal(err)
	}
	f.j.f.Close() // the flusher is idle: the write above was acknowledged
	about := "lost"
	if err := f.UpdateUser(ctx, u.ID, users.UserUpdate{About: &about}); err == nil {
		t.Fatalf("UpdateUser on a broken journal succeeded")
	}
	_, err = f.CreateUser(ctx, users.User{Username: "second2", Name: "Second"}, users.Session{ID: "s2", TokenHash: "t2"})
	if err == nil {
		t.Errorf("a write after a journal failure succeeded")
	}
	if _, err := f.User(ctx, u.ID); err != nil {
		t.Errorf("reads after a journal failure: %v", err)
	}
	if err := f.Close(); err == nil || errors.Is(err, errClosed) {
		t.Errorf("Close after a journal failure: got %v, want the write error", err)
	}
}
