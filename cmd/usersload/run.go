package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"usersapi/auth"
)

// config is everything run reads from its flags.
type config struct {
	target       string
	store        string
	data         string
	users        int
	sessions     int
	photos       int
	scenarios    []string
	clients      int
	loginClients int
	hashSlots    int
	duration     time.Duration
	count        int
	warmup       time.Duration
	slice        time.Duration
	iterations   int
	seedOnly     bool
	seeded       bool
	seedKey      string
	baseline     bool
	baselineHere bool
	cpuProfile   string
	memProfile   string
	json         bool
	quiet        bool
}

// allScenarios lists the scenarios in the order they run.
var allScenarios = []string{"me", "get", "search", "update", "login"}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var scenarios string
	fs.StringVar(&c.target, "target", getenv("USERSLOAD_TARGET"), "URL of a running server to load instead of an in-process one, or comma-separated URLs of several on one database, loaded in turn (env USERSLOAD_TARGET)")
	fs.StringVar(&c.store, "store", "memory", "in-process store: memory or file")
	fs.StringVar(&c.data, "data", "", "data folder of the file store (required with -store file); seeding needs it new or empty")
	fs.IntVar(&c.users, "users", 1000, "number of users to seed (or, with -target, to register)")
	fs.IntVar(&c.sessions, "sessions", 1, "sessions per seeded user")
	fs.IntVar(&c.photos, "photos", 0, "photo records per seeded user")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: "+strings.Join(allScenarios, ", "))
	fs.IntVar(&c.clients, "c", 16, "concurrent clients per scenario")
	fs.IntVar(&c.loginClients, "login-c", 2*runtime.NumCPU(), "concurrent clients of the login scenario (logins beyond the hashing slots only queue)")
	fs.IntVar(&c.hashSlots, "hash-slots", 0, "hashes the in-process server runs at once (0: auth.DefaultSlots, one per CPU as cmd/usersd runs)")
	fs.DurationVar(&c.duration, "d", 10*time.Second, "duration of each scenario")
	fs.IntVar(&c.count, "n", 0, "requests per scenario instead of a duration (0: use -d)")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured warm-up before each scenario")
	fs.DurationVar(&c.slice, "slice", time.Second, "a scenario and its baseline run by turns, this long each (at least 5s for login)")
	fs.IntVar(&c.iterations, "pbkdf2-iterations", auth.DefaultIterations, "PBKDF2 count of the server's password hashes (the seeded hash uses it too)")
	fs.BoolVar(&c.seedOnly, "seed-only", false, "seed the store, report time and memory, and exit")
	fs.BoolVar(&c.seeded, "seeded", false, "the store (-target's, or -data's with -store file) was seeded with the same -users, -sessions and -seed-key: do not seed or register")
	fs.StringVar(&c.seedKey, "seed-key", "usersload", "key the seeded tokens and IDs are made from")
	fs.BoolVar(&c.baseline, "baseline", true, "measure the bare net/http baseline")
	fs.BoolVar(&c.baselineHere, "baseline-here", false, "with -target, serve the baseline from this process rather than from one of its own")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (server and clients) to this file")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a heap profile taken after seeding to this file")
	fs.BoolVar(&c.json, "json", false, "print results as JSON lines instead of a table")
	fs.BoolVar(&c.quiet, "q", false, "no progress lines on stderr")
	if err := fs.Parse(args[1:]); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for s := range strings.SplitSeq(scenarios, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !slices.Contains(allScenarios, s) {
			return c, fmt.Errorf("unknown scenario %q; known: %s", s, strings.Join(allScenarios, ", "))
		}
		c.scenarios = append(c.scenarios, s)
	}
	switch {
	case c.users < 1 || c.users > 9_999_999:
		return c, errors.New("-users must be 1 to 9,999,999")
	case c.sessions < 1 || c.sessions > 49:
		return c, errors.New("-sessions must be 1 to 49 (one more is the login device, and 50 is the cap)")
	case c.photos < 0 || c.photos > 10:
		return c, errors.New("-photos must be 0 to 10")
	case c.slice <= 0 || c.duration <= 0:
		return c, errors.New("-d and -slice must be positive")
	case c.clients < 1 || c.loginClients < 1:
		return c, errors.New("-c and -login-c must be at least 1")
	case c.iterations < auth.MinIterations:
		return c, fmt.Errorf("-pbkdf2-iterations must be at least %d", auth.MinIterations)
	case c.store != "memory" && c.store != "file":
		return c, fmt.Errorf("-store must be memory or file, not %q", c.store)
	case c.store == "file" && c.data == "":
		return c, errors.New("-store file needs -data")
	case c.seeded && c.target == "" && c.store != "file":
		return c, errors.New("-seeded goes with -target or -store file")
	case c.seedOnly && c.target != "":
		return c, errors.New("-seed-only builds a store in this process; it does not go with -target")
	}
	return c, nil
}

// run seeds a store (or registers users on -target), measures the baseline and every
// scenario, and prints the results on stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	if c.quiet {
		stderr = io.Discard
	}
	stderr = &syncWriter{w: stderr} // progress lines come from their own goroutine
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(stderr, "usersload: %s\n", machine())

	var (
		bases     []string
		dir       *directory
		hashSlots int // 0 when unknown
	)
	if c.target == "" {
		srv, err := startInProcess(ctx, c, stdout, stderr)
		if err != nil {
			return err
		}
		defer srv.close()
		if c.seedOnly {
			return nil
		}
		bases, dir, hashSlots = []string{srv.url}, srv.dir, srv.hashSlots
	} else {
		for t := range strings.SplitSeq(c.target, ",") {
			bases = append(bases, strings.TrimRight(strings.TrimSpace(t), "/"))
		}
		if dir, err = remoteDirectory(ctx, c, bases[0], stderr); err != nil {
			return err
		}
	}

	tr := &http.Transport{
		MaxIdleConns:        max(c.clients, c.loginClients) * 2,
		MaxIdleConnsPerHost: max(c.clients, c.loginClients),
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	l := &loader{c: c, client: client, bases: bases, dir: dir, progress: stderr}

	var results []Result
	report := func(r Result) {
		results = append(results, r)
		if c.json {
			printJSON(stdout, r)
		}
	}
	var baselineURL, baselineNote string
	if c.baseline {
		body, err := l.meBody(ctx)
		if err != nil {
			return err
		}
		url, stop, err := serveBaseline(c, body)
		if err != nil {
			return err
		}
		defer stop()
		baselineURL = url
		baselineNote = fmt.Sprintf("a bare net/http server answering a %d-byte body, as GET /users/me does", len(body))
	}
	for _, name := range c.scenarios {
		clients, slice := c.clients, c.slice
		var ref *phase
		switch {
		case name == "login":
			clients = c.loginClients
			ref = pbkdf2Phase(c.iterations)
			slice = max(slice, 5*time.Second) // a hash takes a good part of a second
		case c.baseline:
			ref = l.httpPhase(baselineScenario(baselineURL), c.clients)
		}
		a := l.httpPhase(l.scenario(name), clients)
		l.compare(ctx, a, ref, slice)
		if err := ctx.Err(); err != nil {
			return err
		}
		r := a.m.result(name, a.clients)
		if ref != nil {
			rr := ref.m.result(ref.name, ref.clients)
			r.ratio(rr, ref.name)
			if ref.name == "baseline" {
				rr.Note, baselineNote = baselineNote, ""
			}
			if ref.name == "pbkdf2" {
				rr.Note = fmt.Sprintf("PBKDF2-HMAC-SHA256 hashes of %d iterations, one goroutine per CPU", c.iterations)
				if hashSlots > 0 && rr.PerSecond > 0 {
					// The server hashes on hashSlots CPUs at most: the best it can do is
					// that share of the raw rate.
					r.SlotRatio = r.PerSecond / (rr.PerSecond * float64(hashSlots) / float64(rr.Clients))
					r.Note = fmt.Sprintf("the server hashes on %d of %d CPUs at once; per hashing CPU, logins run at %.2fx the raw rate",
						hashSlots, rr.Clients, r.SlotRatio)
				}
			}
			report(rr)
		}
		report(r)
	}
	if !c.json {
		printTable(stdout, c, results)
	}
	return ctx.Err()
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
