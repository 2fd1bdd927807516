// Package daemon is the server that cmd/usersd and postgres/cmd/usersd-pg both run:
// its flags and their environment fallbacks, the wiring of store, hasher, files and
// HTTP server, and the graceful shutdown. It is the one package that knows every
// other, and it may import every package of the module. A Backend adds a place to
// keep state (usersd-pg adds PostgreSQL).
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/internal/seed"
	"usersapi/media"
	"usersapi/storage"
	"usersapi/users"
)

// Backend is a place to keep the service's state besides the file and memory stores
// that are built in. Its Name is one more value of -store, the default when given.
type Backend struct {
	Name string
	// Flags declares the backend's own flags on fs; each reads its fallback with getenv.
	Flags func(fs *flag.FlagSet, getenv func(string) string) error
	// Open opens the state once the flags are parsed.
	Open func(ctx context.Context, log *slog.Logger) (State, error)
}

// State is what a Backend keeps. Store is required. Nil Files, throttles or upload
// lock are made by Run: the uploads folder in the data folder, and in memory.
type State struct {
	Store                         users.Store
	Files                         users.Files
	PasswordThrottle, KeyThrottle users.Throttle
	UploadLock                    users.Locker
	// Close releases what Open opened, after the server has stopped.
	Close func()
}

// config is everything Run reads from flags and the environment.
type config struct {
	addr          string
	data          string
	store         string
	iterations    int
	corsOrigins   string
	trustedProxy  bool
	maxSessionAge time.Duration
	logLevel      string
	maxUpload     int64 // bytes (R-UPL-1)
	uploadQuota   int64 // bytes of one user's uploads (R-LIM-2)
	// connections open at once, in all and from one address (R-SEC-6); -1 is no cap
	maxConns, maxConnsPerClient int
	dev                         bool // the test mode for client apps (dev.go)
	demo                        int  // demo users to seed in the test mode (demo.go)
}

// parseFlags reads args, falling back to getenv for every flag not given.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer, backends ...Backend) (config, error) {
	var c config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.addr, "addr", env("USERSD_ADDR", ":8080"), "address to listen on (env USERSD_ADDR)")
	fs.StringVar(&c.data, "data", env("USERSD_DATA", "./data"), "data folder of the file store (env USERSD_DATA)")
	stores, def := []string{"file", "memory"}, "file"
	for _, b := range backends {
		stores = append(stores, b.Name)
	}
	if len(backends) > 0 {
		def = backends[0].Name
	}
	fs.StringVar(&c.store, "store", env("USERSD_STORE", def), "store: "+strings.Join(stores, ", ")+" (env USERSD_STORE)")
	fs.StringVar(&c.corsOrigins, "cors-origins", env("USERSD_CORS_ORIGINS", ""), "comma-separated browser origins allowed by CORS, or * (env USERSD_CORS_ORIGINS)")
	fs.StringVar(&c.logLevel, "log-level", env("USERSD_LOG_LEVEL", "info"), "debug, info, warn or error (env USERSD_LOG_LEVEL)")
	iterations, err := envInt(getenv, "USERSD_PBKDF2_ITERATIONS", auth.DefaultIterations)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.iterations, "pbkdf2-iterations", iterations, "PBKDF2 iterations for new password hashes (env USERSD_PBKDF2_ITERATIONS)")
	trusted, err := strconv.ParseBool(env("USERSD_TRUSTED_PROXY", "false"))
	if err != nil {
		return c, fmt.Errorf("USERSD_TRUSTED_PROXY: %v", err)
	}
	fs.BoolVar(&c.trustedProxy, "trusted-proxy", trusted, "take the client address from X-Forwarded-For (env USERSD_TRUSTED_PROXY)")
	age, err := time.ParseDuration(env("USERSD_MAX_SESSION_AGE", "0s"))
	if err != nil {
		return c, fmt.Errorf("USERSD_MAX_SESSION_AGE: %v", err)
	}
	fs.DurationVar(&c.maxSessionAge, "max-session-age", age, "end sessions older than this; 0 keeps them (env USERSD_MAX_SESSION_AGE)")
	maxUpload, err := envInt(getenv, "USERSD_MAX_UPLOAD", users.DefaultMaxUpload)
	if err != nil {
		return c, err
	}
	fs.Int64Var(&c.maxUpload, "max-upload", int64(maxUpload), "largest upload in bytes (env USERSD_MAX_UPLOAD)")
	quota, err := envInt(getenv, "USERSD_UPLOAD_QUOTA", users.DefaultUploadQuota)
	if err != nil {
		return c, err
	}
	fs.Int64Var(&c.uploadQuota, "upload-quota", int64(quota), "bytes of one user's uploads together (env USERSD_UPLOAD_QUOTA)")
	maxConns, err := envInt(getenv, "USERSD_MAX_CONNS", httpapi.DefaultMaxConns)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.maxConns, "max-conns", maxConns, "connections open at once; keep it under ulimit -n; -1: no cap (env USERSD_MAX_CONNS)")
	perClient, err := envInt(getenv, "USERSD_MAX_CONNS_PER_CLIENT", httpapi.DefaultMaxConnsPerClient)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.maxConnsPerClient, "max-conns-per-client", perClient, "connections open at once from one address; -1: no cap (env USERSD_MAX_CONNS_PER_CLIENT)")
	dev, err := strconv.ParseBool(env("USERSD_DEV", "false"))
	if err != nil {
		return c, fmt.Errorf("USERSD_DEV: %v", err)
	}
	fs.BoolVar(&c.dev, "dev", dev, "test mode for client apps (docs/testing-clients.md): Prefer: code= forces errors, delay= slows answers, POST /dev/reset deletes all data, /dev/clock moves the clock; never in production (env USERSD_DEV)")
	demo, err := envInt(getenv, "USERSD_DEMO", 0)
	if err != nil {
		return c, err
	}
	fs.IntVar(&c.demo, "demo", demo, fmt.Sprintf("with -dev: seed this many demo users (at most %d), three in four with a photo, at start and on every reset; their password is %q (env USERSD_DEMO)", maxDemo, seed.Password))
	for _, b := range backends {
		if err := b.Flags(fs, getenv); err != nil {
			return c, err
		}
	}
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.iterations < auth.MinIterations {
		return c, fmt.Errorf("-pbkdf2-iterations must be at least %d", auth.MinIterations)
	}
	if !slices.Contains(stores, c.store) {
		return c, fmt.Errorf("-store must be one of %s, not %q", strings.Join(stores, ", "), c.store)
	}
	if c.maxUpload <= 0 {
		return c, fmt.Errorf("-max-upload must be a positive number of bytes")
	}
	if c.uploadQuota <= 0 {
		return c, fmt.Errorf("-upload-quota must be a positive number of bytes")
	}
	if c.demo < 0 || c.demo > maxDemo {
		return c, fmt.Errorf("-demo must be 0 to %d users", maxDemo)
	}
	if c.demo > 0 && !c.dev {
		return c, fmt.Errorf("-demo needs -dev: the demo users' password is published")
	}
	return c, nil
}

func envInt(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", name, err)
	}
	return n, nil
}

// Run starts the server that args and getenv configure, prints its URL as the first
// line of stdout, logs to stderr, and serves until ctx is done, then shuts down
// gracefully. backends add values of -store, the first of them the default.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, backends ...Backend) error {
	c, err := parseFlags(args, getenv, stderr, backends...)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if c.dev {
		logDevMode(ctx, log, c) // the first line, before the store logs anything
	}

	st, err := openState(ctx, c, log, backends)
	if err != nil {
		return err
	}

	hasher := auth.NewHasher(auth.HasherOptions{Iterations: c.iterations})
	previewer := media.NewPreviewer(0)
	newService := func(st State, now func() time.Time) *users.Service {
		return users.NewService(users.Config{
			Store:            st.Store,
			Files:            st.Files,
			PasswordThrottle: st.PasswordThrottle,
			KeyThrottle:      st.KeyThrottle,
			UploadLock:       st.UploadLock,
			Hasher:           hasher,
			Tokens:           auth.Tokens{},
			Previewer:        previewer,
			MaxUpload:        c.maxUpload,
			UploadQuota:      c.uploadQuota,
			MaxSessionAge:    c.maxSessionAge,
			Now:              now,
		})
	}
	var origins []string
	for o := range strings.SplitSeq(c.corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	opts := httpapi.Options{Logger: log, TrustedProxy: c.trustedProxy, CORSOrigins: origins}
	var handler http.Handler
	if c.dev {
		d, err := newDevServer(ctx, c, log, st, opts, newService)
		if err != nil {
			st.Close()
			return err
		}
		defer d.close()
		handler = d
	} else {
		defer st.Close()
		handler = httpapi.NewServer(newService(st, nil), opts)
	}

	limits := httpapi.Limits{MaxConns: c.maxConns, MaxConnsPerClient: c.maxConnsPerClient}
	ln, err := httpapi.Listen(c.addr, limits)
	if err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(handler, limits, log)
	fmt.Fprintln(stdout, "http://"+displayAddr(ln.Addr()))
	mode := "production"
	if c.dev {
		mode = "dev"
	}
	where := []any{"addr", ln.Addr().String(), "store", c.store, "mode", mode}
	if c.store == "file" {
		where = append(where, "data", c.data)
	}
	log.Info("serving", where...)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openState opens the store the config names: the durable file store in the data
// folder (R-STO-1), the memory store, which forgets everything at exit, or a
// backend's. Uploads go to the backend's Files, or else to the uploads folder.
func openState(ctx context.Context, c config, log *slog.Logger, backends []Backend) (State, error) {
	var st State
	switch c.store {
	case "memory":
		st.Store = storage.NewMemory()
	case "file":
		s, err := storage.OpenFile(c.data, &storage.FileOptions{Logger: log})
		if err != nil {
			return st, err
		}
		st.Store = s
	default:
		i := slices.IndexFunc(backends, func(b Backend) bool { return b.Name == c.store })
		var err error
		if st, err = backends[i].Open(ctx, log); err != nil {
			return st, err
		}
	}
	closeState := st.Close
	if closeState == nil {
		closeState = func() { st.Store.Close() }
	}
	st.Close = closeState
	if st.Files == nil {
		files, closeFiles, err := openUploads(c, log) // after the store, whose lock covers <data>
		if err != nil {
			closeState()
			return st, err
		}
		st.Files = files
		st.Close = func() { closeFiles(); closeState() }
	}
	return st, nil
}

// displayAddr turns a listening address into one a client can dial: an unspecified
// host (":8080") becomes localhost.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}
