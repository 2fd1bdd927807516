package storage_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"usersapi/storage"
	"usersapi/users"
)

// A write to the file store is on disk when the call returns; a store opened again on
// the folder has it.
func ExampleOpenFile() {
	dir, _ := os.MkdirTemp("", "usersapi-example-")
	defer os.RemoveAll(dir)
	opts := &storage.FileOptions{Logger: slog.New(slog.DiscardHandler)}

	s, err := storage.OpenFile(dir, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := s.CreateUser(context.Background(), users.User{Name: "Alice", Username: "alice"},
		users.Session{ID: "6f9619ff-8b86-4d01-b42d-00c04fc964ff", TokenHash: "…"})
	if _, err := storage.OpenFile(dir, opts); err != nil {
		fmt.Println("second server:", err != nil)
	}
	s.Close()

	s, _ = storage.OpenFile(dir, opts)
	defer s.Close()
	again, _ := s.User(context.Background(), u.ID)
	fmt.Println(again.ID, again.Username)
	// Output:
	// second server: true
	// 1 alice
}

// A seeder fills a Memory and writes it as a data folder in one go.
func ExampleWriteFolder() {
	m := storage.NewMemory()
	for i := range 3 {
		name := fmt.Sprintf("seed%d", i)
		m.CreateUser(context.Background(), users.User{Name: name, Username: name, PasswordHash: "shared-precomputed-hash"},
			users.Session{ID: "s-" + name, TokenHash: "t-" + name})
	}
	dir, _ := os.MkdirTemp("", "usersapi-example-")
	defer os.RemoveAll(dir)
	if err := storage.WriteFolder(dir, m); err != nil {
		fmt.Println(err)
		return
	}
	s, _ := storage.OpenFile(dir, &storage.FileOptions{Logger: slog.New(slog.DiscardHandler)})
	defer s.Close()
	found, _ := s.SearchUsers(context.Background(), "seed", 50)
	fmt.Println(len(found))
	// Output: 3
}
