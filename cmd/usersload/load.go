package main

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"usersapi/internal/seed"
)

// directory knows the users the clients act as: seeded ones, whose IDs and tokens
// follow from the seed.Set, or users registered through the API, whose are kept.
type directory struct {
	set     seed.Set
	n       int
	firstID int64

	// Set only for users registered through the API.
	numbers []int
	ids     []int64
	tokens  []string
}

func (d *directory) number(i int) int {
	if d.numbers != nil {
		return d.numbers[i]
	}
	return i + 1
}

func (d *directory) id(i int) int64 {
	if d.ids != nil {
		return d.ids[i]
	}
	return d.firstID + int64(i)
}

func (d *directory) sessions() int {
	if d.tokens != nil {
		return 1
	}
	return max(d.set.Sessions, 1)
}

func (d *directory) token(i, j int) string {
	if d.tokens != nil {
		return d.tokens[i]
	}
	return d.set.Token(d.number(i), j)
}

func (d *directory) username(i int) string { return seed.Username(d.number(i)) }

// loginDevice is a device of user i that holds none of the sessions the other
// scenarios use, so logins never end them (R-LOG-2).
func (d *directory) loginDevice(i int) string { return d.set.DeviceID(d.number(i), d.sessions()) }

// loader runs scenarios against one server, or several that share a database, to
// which it sends requests in turn.
type loader struct {
	c        config
	client   *http.Client
	bases    []string // every server, at least one
	next     atomic.Uint64
	dir      *directory
	progress io.Writer
}

// at returns the URL of path on the next server.
func (l *loader) at(path string) string {
	if len(l.bases) == 1 {
		return l.bases[0] + path
	}
	return l.bases[l.next.Add(1)%uint64(len(l.bases))] + path
}

// scenario makes the requests of one kind of load.
type scenario struct {
	name string
	next func(w *worker) (*http.Request, error)
}

// worker is the state of one client: its random source, and its context.
type worker struct {
	ctx context.Context
	rng *rand.Rand
	dir *directory
}

func (w *worker) user() int { return w.rng.IntN(w.dir.n) }

func (w *worker) bearer(method, u string, body []byte) (*http.Request, error) {
	i := w.user()
	req, err := newRequest(w.ctx, method, u, body)
	if err == nil {
		req.Header.Set("Authorization", "Bearer "+w.dir.token(i, w.rng.IntN(w.dir.sessions())))
	}
	return req, err
}

func newRequest(ctx context.Context, method, u string, body []byte) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err == nil && body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

// baselineScenario asks the baseline server exactly what the me scenario asks the API.
func baselineScenario(base string) scenario {
	return scenario{"baseline", func(w *worker) (*http.Request, error) {
		return w.bearer(http.MethodGet, base+"/users/me", nil)
	}}
}

// scenario returns the named scenario of the API.
func (l *loader) scenario(name string) scenario {
	d := l.dir
	switch name {
	case "me": // R-ME-1: token lookup, user and sessions, private UserInfo
		return scenario{name, func(w *worker) (*http.Request, error) {
			return w.bearer(http.MethodGet, l.at("/users/me"), nil)
		}}
	case "get": // R-GET-1: public UserInfo
		return scenario{name, func(w *worker) (*http.Request, error) {
			return newRequest(w.ctx, http.MethodGet, l.at("/users/"+strconv.FormatInt(d.id(w.user()), 10)), nil)
		}}
	case "search": // R-SRCH-1, with the query mix of seed.MixedKind
		return scenario{name, func(w *worker) (*http.Request, error) {
			var q string
			if kind := seed.MixedKind(w.rng); kind == seed.QueryUsername {
				q = d.username(w.user())
			} else {
				q = seed.Query(w.rng, kind, d.n)
			}
			return newRequest(w.ctx, http.MethodGet, l.at("/users?s="+url.QueryEscape(q)), nil)
		}}
	case "update": // R-UPD-1: a new about text; one time in eight a new name as well
		return scenario{name, func(w *worker) (*http.Request, error) {
			ch := struct {
				Name  string `json:"name,omitempty"`
				About string `json:"about"`
			}{About: "Changed my profile, version " + strconv.Itoa(w.rng.IntN(1_000_000)) + "."}
			if w.rng.IntN(8) == 0 {
				ch.Name = seed.Name(1 + w.user())
			}
			body, err := json.Marshal(ch)
			if err != nil {
				return nil, err
			}
			return w.bearer(http.MethodPut, l.at("/users/me"), body)
		}}
	case "login": // R-LOG-1: Basic, one PBKDF2 at the server's count, a new session
		return scenario{name, func(w *worker) (*http.Request, error) {
			i := w.user()
			body := []byte(`{"deviceInfo":{"id":"` + d.loginDevice(i) + `","name":"usersload"}}`)
			req, err := newRequest(w.ctx, http.MethodPost, l.at("/users/login"), body)
			if err == nil {
				req.SetBasicAuth(d.username(i), seed.Password)
			}
			return req, err
		}}
	}
	panic("usersload: unknown scenario " + name)
}

// Result is what one measurement found. Latencies are in milliseconds.
type Result struct {
	Scenario   string  `json:"scenario"`
	Clients    int     `json:"clients"`
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"perSecond"`
	P50        float64 `json:"p50Ms"`
	P90        float64 `json:"p90Ms"`
	P99        float64 `json:"p99Ms"`
	Max        float64 `json:"maxMs"`
	Ratio      float64 `json:"ratio,omitempty"`
	RatioTo    string  `json:"ratioTo,omitempty"`
	SlotRatio  float64 `json:"slotRatio,omitempty"` // login: to the raw rate of as many CPUs as hashing slots
	FirstError string  `json:"firstError,omitempty"`
	Note       string  `json:"note,omitempty"`
}

func (r *Result) ratio(to Result, name string) {
	if to.PerSecond > 0 {
		r.Ratio, r.RatioTo = r.PerSecond/to.PerSecond, name
	}
}

// measure is what the clients of one phase saw; the slices of a phase add up.
type measure struct {
	h        hist
	errors   int64
	elapsed  time.Duration
	firstErr string
}

func (m *measure) add(o *measure) {
	m.h.merge(&o.h)
	m.errors += o.errors
	m.elapsed += o.elapsed
	if m.firstErr == "" {
		m.firstErr = o.firstErr
	}
}

func (m *measure) result(name string, clients int) Result {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	r := Result{
		Scenario:   name,
		Clients:    clients,
		Requests:   int64(m.h.n),
		Errors:     m.errors,
		Seconds:    m.elapsed.Seconds(),
		P50:        ms(m.h.quantile(0.50)),
		P90:        ms(m.h.quantile(0.90)),
		P99:        ms(m.h.quantile(0.99)),
		Max:        ms(m.h.max),
		FirstError: m.firstErr,
	}
	if m.elapsed > 0 {
		r.PerSecond = float64(m.h.n) / m.elapsed.Seconds()
	}
	return r
}

// phase is one side of a comparison: the scenario, or what it is compared with.
type phase struct {
	name    string
	clients int
	// work runs the phase's clients for d, or for count requests if count > 0.
	work   func(ctx context.Context, d time.Duration, count int, p *phase) *measure
	done   atomic.Int64 // requests finished, for the progress lines
	failed atomic.Int64 // of which failed
	last   int64        // done at the previous progress line
	m      measure
}

// compare warms both phases up, then runs them by turns in slices until each ran for
// -d (or -n requests), so that anything else loading the machine weighs on both
// alike. ref may be nil. The ratio of the two is taken from these totals.
func (l *loader) compare(ctx context.Context, a, ref *phase, slice time.Duration) {
	phases := []*phase{a}
	if ref != nil {
		phases = []*phase{ref, a}
	}
	if l.c.warmup > 0 {
		for _, p := range phases {
			p.work(ctx, l.c.warmup, 0, &phase{})
		}
	}
	var current atomic.Pointer[phase]
	stop := l.showProgress(phases, &current)
	defer stop()
	if l.c.count > 0 {
		for _, p := range phases {
			current.Store(p)
			p.m.add(p.work(ctx, l.c.duration, l.c.count, p)) // pbkdf2 takes the duration
		}
		return
	}
	for left := l.c.duration; left > 0 && ctx.Err() == nil; left -= slice {
		for _, p := range phases {
			current.Store(p)
			p.m.add(p.work(ctx, min(slice, left), 0, p))
		}
	}
}

// showProgress prints a line a second on the loader's progress writer, about the
// phase running, until the returned function is called.
func (l *loader) showProgress(phases []*phase, current *atomic.Pointer[phase]) (stop func()) {
	if l.progress == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				var line string
				for _, p := range phases {
					n := p.done.Load()
					mark := " "
					if p == current.Load() {
						mark = "*"
					}
					line += fmt.Sprintf("  %s%-8s %9d requests %8.0f/s %4d errors", mark, p.name, n, float64(n-p.last), p.failed.Load())
					p.last = n
				}
				fmt.Fprintf(l.progress, "%4.0fs%s\n", now.Sub(start).Seconds(), line)
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// httpPhase is a phase of clients sending the requests of sc.
func (l *loader) httpPhase(sc scenario, clients int) *phase {
	return &phase{name: sc.name, clients: clients, work: func(ctx context.Context, d time.Duration, count int, p *phase) *measure {
		return l.drive(ctx, sc, clients, d, count, p)
	}}
}

// drive runs clients that each send a request, wait for the whole answer and send the
// next (a closed loop), for d or until count requests were sent if count > 0. With a
// duration, only requests that end within it count, and the throughput is theirs
// over exactly d; the requests still running at the end are waited for and dropped.
func (l *loader) drive(ctx context.Context, sc scenario, clients int, d time.Duration, count int, p *phase) *measure {
	var (
		wg       sync.WaitGroup
		claimed  atomic.Int64
		start    = time.Now()
		deadline = start.Add(d)
		ms       = make([]measure, clients)
	)
	for k := range clients {
		m := &ms[k]
		w := &worker{ctx: ctx, rng: rand.New(rand.NewPCG(uint64(k), uint64(start.UnixNano()))), dir: l.dir}
		wg.Go(func() {
			for ctx.Err() == nil {
				if count > 0 {
					if claimed.Add(1) > int64(count) {
						return
					}
				} else if !time.Now().Before(deadline) {
					return
				}
				req, err := sc.next(w)
				if err != nil { // a bug in the scenario: stop this client
					m.errors++
					m.firstErr = err.Error()
					return
				}
				t0 := time.Now()
				err = l.do(req)
				t1 := time.Now()
				if count == 0 && t1.After(deadline) {
					return
				}
				m.h.record(t1.Sub(t0))
				p.done.Add(1)
				if err != nil {
					p.failed.Add(1)
					m.errors++
					if m.firstErr == "" {
						m.firstErr = err.Error()
					}
				}
			}
		})
	}
	wg.Wait()
	total := &measure{}
	for k := range ms {
		total.add(&ms[k])
	}
	total.elapsed = d
	if count > 0 {
		total.elapsed = time.Since(start)
	}
	return total
}

// do sends req and reads the whole answer, which must be a 200.
func (l *loader) do(req *http.Request) error {
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, b)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// meBody returns the answer of GET /users/me for the first user: the baseline serves
// a body of its size.
func (l *loader) meBody(ctx context.Context) ([]byte, error) {
	req, err := newRequest(ctx, http.MethodGet, l.bases[0]+"/users/me", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+l.dir.token(0, 0))
	resp, err := l.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /users/me as the first seeded user: %s: %s", resp.Status, body)
	}
	return body, nil
}

// pbkdf2Phase computes PBKDF2-HMAC-SHA256 at the given count on one goroutine per
// CPU: the most logins a second the CPUs allow, since the server runs one hash per CPU
// at once (R-SEC-5). It always runs for a duration; as in drive, only hashes that end
// within it count.
func pbkdf2Phase(iterations int) *phase {
	procs := runtime.NumCPU()
	return &phase{name: "pbkdf2", clients: procs, work: func(ctx context.Context, d time.Duration, _ int, p *phase) *measure {
		var (
			wg       sync.WaitGroup
			start    = time.Now()
			deadline = start.Add(d)
			ms       = make([]measure, procs)
			salt     = make([]byte, 16)
		)
		for k := range procs {
			m := &ms[k]
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(deadline) {
					t0 := time.Now()
					pbkdf2.Key(sha256.New, seed.Password, salt, iterations, 32)
					t1 := time.Now()
					if t1.After(deadline) {
						return
					}
					m.h.record(t1.Sub(t0))
					p.done.Add(1)
				}
			})
		}
		wg.Wait()
		total := &measure{}
		for k := range ms {
			total.add(&ms[k])
		}
		total.elapsed = d
		return total
	}}
}
