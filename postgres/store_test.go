package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"usersapi/postgres"
	"usersapi/postgres/pgtest"
	"usersapi/storage/storagetest"
	"usersapi/users"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var ctx = context.Background()

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func open(t testing.TB, url string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(ctx, url, &postgres.Options{Logger: quiet(), MaxConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// TestStore runs the users.Store contract against PostgreSQL, persistence included: a
// Store opened again on the same database holds everything acknowledged (R-STO-1,
// R-STO-2). The "dir" of each persistent test names its database.
func TestStore(t *testing.T) {
	var mu sync.Mutex
	dbs := map[string]string{} // dir -> database URL
	storagetest.RunPersistent(t, func(t *testing.T, dir string) users.Store {
		mu.Lock()
		url, ok := dbs[dir]
		if !ok {
			url = pgtest.NewDB(t)
			dbs[dir] = url
		}
		mu.Unlock()
		return open(t, url)
	})
}

// TestAboutKeepsAnyText: an about may hold any valid UTF-8 (R-FLD-4), NUL included,
// which a text column refuses; it is kept as bytes.
func TestAboutKeepsAnyText(t *testing.T) {
	s := open(t, pgtest.NewDB(t))
	defer s.Close()
	u, err := s.CreateUser(ctx, users.User{Name: "N", Username: "nulabout", PasswordHash: "h", About: "a\x00b", CreatedAt: time.Now().UTC().Truncate(time.Second)},
		users.Session{ID: "s1", TokenHash: "t1", Device: users.DeviceInfo{ID: "d1"}})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	about := "tab\tnul\x00 line\n\u2028 é"
	if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{About: &about}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if got, err := s.User(ctx, u.ID); err != nil || got.About != about {
		t.Errorf("User = %q, %v; want About %q", got.About, err, about)
	}
}

// TestOpenConcurrently: servers started at once on an empty database make the schema
// once and all open.
func TestOpenConcurrently(t *testing.T) {
	url := pgtest.NewDB(t)
	const n = 4
	errs := make(chan error, n)
	var stores sync.Map
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := postgres.Open(ctx, url, &postgres.Options{Logger: quiet(), MaxConns: 2})
			if err == nil {
				stores.Store(i, s)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Open: %v", err)
		}
	}
	stores.Range(func(_, s any) bool { s.(*postgres.Store).Close(); return true })
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var versions []int
	rows, _ := conn.Query(ctx, `SELECT version FROM schema_version ORDER BY version`)
	if versions, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
		t.Fatal(err)
	}
	if len(versions) != postgres.SchemaVersion || versions[len(versions)-1] != postgres.SchemaVersion {
		t.Errorf("schema_version holds %v, want 1..%d once each", versions, postgres.SchemaVersion)
	}
}

// TestSchemaTooNew: a database migrated by a newer version is refused, saying so.
func TestSchemaTooNew(t *testing.T) {
	url := pgtest.NewDB(t)
	open(t, url).Close()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, postgres.SchemaVersion+5); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	s, err := postgres.Open(ctx, url, &postgres.Options{Logger: quiet()})
	if err == nil {
		s.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	if !errors.Is(err, postgres.ErrSchemaTooNew) || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open: %v; want ErrSchemaTooNew", err)
	}
	t.Logf("as refused: %v", err)
}

// TestOpenUnreachable: a URL that leads nowhere fails Open, naming the server and the
// cause; a malformed one names the problem.
func TestOpenUnreachable(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"postgres://usersd:secret@127.0.0.1:1/usersd?connect_timeout=2", "127.0.0.1:1"},
		{"postgres://usersd:secret@127.0.0.1:5432/usersd?sslmode=bogus", "sslmode"},
		{"mysql://127.0.0.1/x", "not valid"},
	} {
		start := time.Now()
		s, err := postgres.Open(ctx, tc.url, &postgres.Options{Logger: quiet()})
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s): %v; want it to name %q", tc.url, err, tc.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%s): the error shows the password: %v", tc.url, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Open(%s) took %v", tc.url, d)
		}
		t.Logf("%s: %v", tc.url, err)
	}
}

// TestDatabaseDown: while the server is down, Writable and every call answer ErrBusy
// (503 with Retry-After); once it is back, the pool reconnects by itself.
func TestDatabaseDown(t *testing.T) {
	c := pgtest.Default()
	if c == nil {
		t.Skip("needs the throwaway cluster (" + pgtest.EnvURL + " is set)")
	}
	s := open(t, pgtest.NewDB(t))
	defer s.Close()
	u, err := s.CreateUser(ctx, users.User{Name: "Down", Username: "downtime", PasswordHash: "h", CreatedAt: time.Now().UTC().Truncate(time.Second)},
		users.Session{ID: "s-down", TokenHash: "t-down", Device: users.DeviceInfo{ID: "d-down"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Writable(); err != nil {
		t.Fatalf("Writable with the server up: %v", err)
	}
	if err := c.Kill(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			c.Start()
		}
	}()
	err = s.Writable()
	if !errors.Is(err, users.ErrBusy) || users.RetryAfter(err) == 0 {
		t.Errorf("Writable with the server down: %v; want ErrBusy with a Retry-After", err)
	}
	t.Logf("Writable, down: %v", err)
	for what, err := range map[string]error{
		"User":       func() error { _, err := s.User(ctx, u.ID); return err }(),
		"UpdateUser": s.UpdateUser(ctx, u.ID, users.UserUpdate{About: new(string)}),
		"Search":     func() error { _, err := s.SearchUsers(ctx, "down", 50); return err }(),
	} {
		if !errors.Is(err, users.ErrBusy) {
			t.Errorf("%s with the server down: %v; want ErrBusy", what, err)
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	deadline := time.Now().Add(30 * time.Second)
	for s.Writable() != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.Writable(); err != nil {
		t.Fatalf("Writable after the restart: %v", err)
	}
	if got, err := s.User(ctx, u.ID); err != nil || got.Username != "downtime" {
		t.Errorf("User after the restart: %+v, %v", got, err)
	}
}
