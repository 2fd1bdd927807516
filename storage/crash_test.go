package storage_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"usersapi/storage"
	"usersapi/users"
)

// The crash test runs this test binary again as a child that writes to a file store and
// prints one line per acknowledged write, and one per value its readers were shown; the
// parent kills it with SIGKILL at a random moment, reopens the store and checks that
// every acknowledged write, and every value shown, is there (R-STO-2, and durable
// before visible: no reader is shown what a crash can take back).
const (
	crashDirEnv   = "USERSAPI_STORAGE_CRASH_DIR"
	crashRoundEnv = "USERSAPI_STORAGE_CRASH_ROUND"
	crashCompact  = 16 << 10 // small, so that the child compacts several times a round
)

// TestFileCrashChild is the child's side; it does nothing in a normal run.
func TestFileCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestFileCrash")
	}
	round := os.Getenv(crashRoundEnv)
	s, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet(), CompactBytes: crashCompact})
	if err != nil {
		fmt.Printf("OPENFAIL %v\n", err)
		os.Exit(3)
	}
	var out sync.Mutex
	ack := func(format string, args ...any) {
		out.Lock()
		fmt.Printf("ACK "+format+"\n", args...)
		out.Unlock()
	}
	// Readers look at the users around the newest acknowledged one, some of them
	// written but not yet synced, and print what they were shown: that must survive the
	// crash as much as what was acknowledged (durable before visible).
	var newest atomic.Int64
	show := func(format string, args ...any) {
		out.Lock()
		fmt.Printf("SHOWN "+format+"\n", args...)
		out.Unlock()
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				id := newest.Load() - 8 + rand.Int64N(16)
				u, err := s.User(ctx, id)
				if err != nil {
					continue
				}
				show("user %d %s", u.ID, u.Username)
				if u.About != "" {
					show("about %d %s", u.ID, u.About)
				}
			}
		})
	}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("r%sw%dn%d", round, w, i)
				u, err := s.CreateUser(ctx, users.User{Name: "Crash " + name, Username: name, PasswordHash: "h", CreatedAt: t0},
					users.Session{ID: "s1-" + name, TokenHash: "t1-" + name, CreatedAt: t0, UpdatedAt: t0, Device: users.DeviceInfo{ID: "d1-" + name}})
				if err != nil {
					fmt.Printf("ERR %v\n", err)
					os.Exit(4)
				}
				ack("user %d %s", u.ID, name)
				if u.ID > newest.Load() {
					newest.Store(u.ID)
				}
				_, err = s.CreateSession(ctx, users.Session{ID: "s2-" + name, UserID: u.ID, TokenHash: "t2-" + name,
					CreatedAt: t0, UpdatedAt: t0, Device: users.DeviceInfo{ID: "d2-" + name}}, 50)
				if err != nil {
					fmt.Printf("ERR %v\n", err)
					os.Exit(4)
				}
				ack("session %d t2-%s", u.ID, name)
				about := "about " + name
				if err := s.UpdateUser(ctx, u.ID, users.UserUpdate{About: &about}); err != nil {
					fmt.Printf("ERR %v\n", err)
					os.Exit(4)
				}
				ack("about %d %s", u.ID, about)
			}
		})
	}
	wg.Wait()
}

// TestFileCrash kills a writing child with SIGKILL in several rounds and checks after
// each that the store opens and holds every acknowledged write (R-STO-2), compactions
// included (R-STO-3).
func TestFileCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes; skipped with -short")
	}
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	dir := filepath.Join(t.TempDir(), "data")
	type fact struct{ kind, id, value string }
	var acked []fact // acknowledged, or shown to a reader: all must survive
	shown := 0
	deadline := time.Now().Add(40 * time.Second)
	rounds := 0
	for round := range 8 {
		if time.Now().After(deadline) {
			t.Logf("stopping after %d rounds to stay within the time budget", round)
			break
		}
		rounds++
		cmd := exec.Command(os.Args[0], "-test.run=^TestFileCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number of acknowledgements, at a random moment after it.
		killAfter := 30 + rand.IntN(2000)
		n := 0
		sc := bufio.NewScanner(stdout)
		killed := false
		for sc.Scan() {
			text := sc.Text()
			if rest, ok := strings.CutPrefix(text, "ACK "); ok {
				f := strings.SplitN(rest, " ", 3)
				acked = append(acked, fact{f[0], f[1], f[2]})
				n++
			} else if rest, ok := strings.CutPrefix(text, "SHOWN "); ok {
				f := strings.SplitN(rest, " ", 3)
				acked = append(acked, fact{f[0], f[1], f[2]})
				shown++
			} else if !strings.HasPrefix(text, "=== ") {
				t.Errorf("round %d: child says %q", round, text)
			}
			if n == killAfter && !killed {
				killed = true
				go func() {
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					cmd.Process.Signal(syscall.SIGKILL)
				}()
			}
		}
		err = cmd.Wait()
		if !killed || err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: child ended on its own (%v) after %d acknowledgements", round, err, n)
		}

		s, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
		if err != nil {
			t.Fatalf("round %d: the store does not open after kill -9: %v", round, err)
		}
		missing := 0
		for _, a := range acked {
			id, _ := strconv.ParseInt(a.id, 10, 64)
			var ok bool
			switch a.kind {
			case "user":
				u, err := s.User(ctx, id)
				ok = err == nil && u.Username == a.value
			case "session":
				sess, err := s.SessionByToken(ctx, a.value)
				ok = err == nil && sess.UserID == id
			case "about":
				u, err := s.User(ctx, id)
				ok = err == nil && u.About == a.value
			}
			if !ok {
				missing++
				if missing <= 5 {
					t.Errorf("round %d: acknowledged or shown %s %s %q is lost", round, a.kind, a.id, a.value)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if missing > 0 {
			t.Fatalf("round %d: %d of %d acknowledged or shown writes lost", round, missing, len(acked))
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshot.jsonl")); err != nil {
		t.Errorf("no compaction happened during the rounds: %v", err)
	}
	t.Logf("%d rounds, %d acknowledged or shown facts (%d shown to readers), all present", rounds, len(acked), shown)
}
