package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/internal/seed"
	"usersapi/storage"
	"usersapi/users"
)

// httpServer is a server listening on a free loopback port.
type httpServer struct {
	url string
	srv *http.Server
}

// listen serves h on 127.0.0.1 with the settings of cmd/usersd (R-SEC-6), so that the
// baseline and the API differ only in their handlers.
func listen(h http.Handler) (*httpServer, error) {
	// The load comes from one address with more connections than a client may open.
	limits := httpapi.Limits{MaxConnsPerClient: -1, MaxConns: -1}
	ln, err := httpapi.Listen("127.0.0.1:0", limits)
	if err != nil {
		return nil, err
	}
	srv := httpapi.NewHTTPServer(h, limits, nil)
	go srv.Serve(ln)
	return &httpServer{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (s *httpServer) close() { s.srv.Close() }

// startBaseline serves body, as application/json, to every request: what the fastest
// possible handler of GET /users/me would do.
func startBaseline(body []byte) (*httpServer, error) {
	length := fmt.Sprint(len(body))
	return listen(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", length)
		w.WriteHeader(http.StatusOK)
		w.Write(body)
	}))
}

// inProcess is the API served from this process on a seeded store.
type inProcess struct {
	*httpServer
	store     users.Store
	dir       *directory
	hashSlots int // hashes the server runs at once
}

func (p *inProcess) close() {
	if p.httpServer != nil {
		p.httpServer.close()
	}
	if p.store != nil {
		p.store.Close()
	}
}

// startInProcess seeds the store (with -store file: a Memory written out as one
// snapshot by storage.WriteFolder, then opened as usersd opens it), reports what that
// took, and unless -seed-only serves the API on it as cmd/usersd would.
func startInProcess(ctx context.Context, c config, stdout, stderr io.Writer) (*inProcess, error) {
	hash, err := seed.PasswordHash(ctx, c.iterations)
	if err != nil {
		return nil, err
	}
	set := seed.Set{Key: c.seedKey, PasswordHash: hash, Sessions: c.sessions, Photos: c.photos, Now: time.Now().UTC().Truncate(time.Second)}
	p := &inProcess{dir: &directory{set: set, n: c.users, firstID: 1}}
	if !c.seeded {
		mem, err := seedMemory(ctx, c, set, stdout, stderr)
		if err != nil {
			return nil, err
		}
		p.store = mem
		if c.store == "file" {
			start := time.Now()
			if err := storage.WriteFolder(c.data, mem); err != nil {
				return nil, err
			}
			fmt.Fprintf(stdout, "wrote the file store in %s to %s\n", time.Since(start).Round(time.Millisecond), c.data)
			p.store = nil
		}
	}
	if c.store == "file" {
		if c.seedOnly {
			return p, nil
		}
		before := memory()
		start := time.Now()
		f, err := storage.OpenFile(c.data, &storage.FileOptions{Logger: slog.New(slog.NewTextHandler(stderr, nil))})
		if err != nil {
			return nil, err
		}
		p.store = f
		after := memory()
		fmt.Fprintf(stdout, "opened the file store in %s: live heap +%.1f MiB, RSS +%.1f MiB\n",
			time.Since(start).Round(time.Millisecond), mib(after.heap-before.heap), mib(after.rss-before.rss))
	}
	if c.seedOnly {
		return p, nil
	}
	hasher := auth.NewHasher(auth.HasherOptions{Iterations: c.iterations, Slots: c.hashSlots})
	p.hashSlots = hasher.Slots()
	svc := users.NewService(users.Config{
		Store:  p.store,
		Hasher: hasher,
		Tokens: auth.Tokens{},
	})
	if p.httpServer, err = listen(httpapi.NewServer(svc, httpapi.Options{})); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// seedMemory fills a memory store with the seeded users and reports the time and the
// memory it took.
func seedMemory(ctx context.Context, c config, set seed.Set, stdout, stderr io.Writer) (*storage.Memory, error) {
	mem := storage.NewMemory()
	before := memory()
	start := time.Now()
	last := start
	_, err := seed.Fill(ctx, mem, set, 1, c.users, func(n int) {
		if n%1024 == 0 {
			if now := time.Now(); now.Sub(last) >= time.Second {
				last = now
				fmt.Fprintf(stderr, "seeding: %d/%d users, %.0f/s\n", n, c.users, float64(n)/now.Sub(start).Seconds())
			}
		}
	})
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	after := memory()
	fmt.Fprintf(stdout, "seeded %d users (%d sessions, %d photos each) in memory in %s, %.0f users/s\n",
		c.users, c.sessions, c.photos, took.Round(time.Millisecond), float64(c.users)/took.Seconds())
	fmt.Fprintf(stdout, "memory: live heap +%.1f MiB, RSS +%.1f MiB after GC (%.0f MiB per 1,000,000 users), peak RSS %.1f MiB\n",
		mib(after.heap-before.heap), mib(after.rss-before.rss), mib(after.rss-before.rss)*1e6/float64(c.users), mib(after.peak))
	if c.memProfile != "" {
		if err := writeHeapProfile(c.memProfile); err != nil {
			return nil, err
		}
	}
	return mem, nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// memUse is the process's memory at one moment, in bytes.
type memUse struct {
	heap uint64 // live heap after a full GC
	rss  int64  // resident set after that GC returned free memory to the OS
	peak int64  // highest resident set so far
}

func memory() memUse {
	debug.FreeOSMemory() // runs a GC first
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, peak := procStatus()
	return memUse{heap: ms.HeapAlloc, rss: rss, peak: peak}
}

func mib[T int64 | uint64](b T) float64 { return float64(int64(b)) / (1 << 20) }
