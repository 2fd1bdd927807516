package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/media"
	"usersapi/storage"
	"usersapi/users"
)

// config is everything run reads from flags and the environment.
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
}

// parseFlags reads args, falling back to getenv for every flag not given.
func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
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
	fs.StringVar(&c.store, "store", env("USERSD_STORE", "file"), "store: file or memory (env USERSD_STORE)")
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
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if c.iterations < auth.MinIterations {
		return c, fmt.Errorf("-pbkdf2-iterations must be at least %d", auth.MinIterations)
	}
	if c.store != "file" && c.store != "memory" {
		return c, fmt.Errorf("-store must be file or memory, not %q", c.store)
	}
	if c.maxUpload <= 0 {
		return c, fmt.Errorf("-max-upload must be a positive number of bytes")
	}
	if c.uploadQuota <= 0 {
		return c, fmt.Errorf("-upload-quota must be a positive number of bytes")
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

// run starts the server and serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	store, err := openStore(c, log)
	if err != nil {
		return err
	}
	defer store.Close()
	files, closeFiles, err := openUploads(c, log) // after the store, whose lock covers <data>
	if err != nil {
		return err
	}
	defer closeFiles()

	svc := users.NewService(users.Config{
		Store:         store,
		Hasher:        auth.NewHasher(auth.HasherOptions{Iterations: c.iterations}),
		Tokens:        auth.Tokens{},
		Files:         files,
		Previewer:     media.NewPreviewer(0),
		MaxUpload:     c.maxUpload,
		UploadQuota:   c.uploadQuota,
		MaxSessionAge: c.maxSessionAge,
	})
	var origins []string
	for o := range strings.SplitSeq(c.corsOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	handler := httpapi.NewServer(svc, httpapi.Options{Logger: log, TrustedProxy: c.trustedProxy, CORSOrigins: origins})

	limits := httpapi.Limits{MaxConns: c.maxConns, MaxConnsPerClient: c.maxConnsPerClient}
	ln, err := httpapi.Listen(c.addr, limits)
	if err != nil {
		return err
	}
	srv := httpapi.NewHTTPServer(handler, limits, log)
	fmt.Fprintln(stdout, "http://"+displayAddr(ln.Addr()))
	log.Info("serving", "addr", ln.Addr().String(), "store", c.store, "data", c.data)

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

// openStore opens the store the config names: the durable file store in the data
// folder (R-STO-1), or the memory store, which forgets everything at exit.
func openStore(c config, log *slog.Logger) (users.Store, error) {
	if c.store == "memory" {
		return storage.NewMemory(), nil
	}
	return storage.OpenFile(c.data, &storage.FileOptions{Logger: log})
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
