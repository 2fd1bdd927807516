package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"usersapi/httpapi"
	"usersapi/users"
)

// The test mode (-dev, docs/testing-clients.md): httpapi answers Prefer and serves the
// /dev/ routes; this file gives them a clock that moves forward on request and a state
// that POST /dev/reset puts back as it was at the start.

// devClock is the service's clock in the test mode: the real time plus an offset that
// only grows (httpapi.DevClock).
type devClock struct{ offset atomic.Int64 }

func (c *devClock) Now() time.Time          { return time.Now().Add(c.Offset()) }
func (c *devClock) Offset() time.Duration   { return time.Duration(c.offset.Load()) }
func (c *devClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// devServer serves the API in the test mode. A reset closes the state, empties it,
// opens it again, makes a new Service on it (so new throttles and upload lock too)
// with the -demo users, and swaps the API's handler for one of that Service.
//
// Every request but those of the /dev/ routes holds mu for reading while it is served,
// and a reset holds it for writing: it waits for the requests under way to end, and
// the requests that come meanwhile wait for it. No request sees a closed store or
// writes a file into an emptied folder.
type devServer struct {
	c          config
	log        *slog.Logger
	clock      *devClock
	newService func(State, func() time.Time) *users.Service
	opts       httpapi.Options
	demoHash   string // the demo users' password hash, made once

	mu  sync.RWMutex
	st  State // under mu
	api atomic.Pointer[apiHandler]
}

type apiHandler struct{ http.Handler }

// newDevServer starts the test mode on st, which it closes when it is done.
func newDevServer(ctx context.Context, c config, log *slog.Logger, st State, opts httpapi.Options, newService func(State, func() time.Time) *users.Service) (*devServer, error) {
	d := &devServer{c: c, log: log, clock: &devClock{}, newService: newService, st: st}
	dev := &httpapi.Dev{Clock: d.clock}
	if c.store == "memory" || c.store == "file" {
		dev.Reset = d.reset // a backend's store is not ours to empty
	}
	opts.Dev = dev
	d.opts = opts
	if c.demo > 0 {
		hash, err := demoPasswordHash(ctx, c.iterations)
		if err != nil {
			return nil, err
		}
		d.demoHash = hash
	}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *devServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/dev/") {
		// No read lock: a reset, which is one of these, waits for the locks of the others.
		// The /dev/ routes touch no state; unknown paths under /dev/ are 404s.
		d.api.Load().ServeHTTP(w, r)
		return
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	d.api.Load().ServeHTTP(w, r)
}

// start makes the Service on d.st, seeds the demo users and serves it. The caller
// holds mu, or nobody is serving yet.
func (d *devServer) start(ctx context.Context) error {
	svc := d.newService(d.st, d.clock.Now)
	if d.c.demo > 0 {
		if err := seedDemo(ctx, svc, d.st.Store, d.c.demo, d.demoHash, d.clock.Now(), d.log); err != nil {
			return err
		}
	}
	d.api.Store(&apiHandler{httpapi.NewServer(svc, d.opts)})
	return nil
}

// reset is POST /dev/reset: every user, session, upload and file goes, the throttles
// and the clock start again, and the -demo users come back.
func (d *devServer) reset(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx) // once begun, a reset finishes
	d.mu.Lock()
	defer d.mu.Unlock()
	start := time.Now()
	d.st.Close()
	d.st.Close = func() {} // closed: a failure below must not close it again
	if d.c.store == "file" {
		if err := emptyFolder(d.c.data); err != nil {
			d.log.Error("reset: the data folder could not be emptied; restart the server", "data", d.c.data, "err", err)
			return err
		}
	}
	st, err := openState(ctx, d.c, d.log, nil)
	if err != nil {
		d.log.Error("reset: the store could not be opened again; restart the server", "err", err)
		return err
	}
	d.st = st
	d.clock.offset.Store(0)
	if err := d.start(ctx); err != nil {
		d.log.Error("reset: the demo users could not be made", "err", err)
		return err
	}
	d.log.Info("reset", "store", d.c.store, "demoUsers", d.c.demo, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// close closes the state, once the server has stopped.
func (d *devServer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.st.Close()
}

// emptyFolder removes everything in dir, and keeps dir.
func emptyFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("emptying %s: %w", dir, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("emptying %s: %w", dir, err)
		}
	}
	return nil
}

// logDevMode writes the line that says the test mode is on, whatever -log-level is.
func logDevMode(ctx context.Context, log *slog.Logger, c config) {
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "dev mode: a test server for client apps (docs/testing-clients.md); Prefer forces errors and delays, POST /dev/reset deletes all data; never use it in production", 0)
	r.Add("store", c.store, "demoUsers", c.demo)
	log.Handler().Handle(ctx, r)
}
