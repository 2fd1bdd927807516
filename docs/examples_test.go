package docs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/media"
	"usersapi/storage"
	"usersapi/users"
)

// The examples of api.md are checked by replaying them. The page marks them with HTML
// comments, which a Markdown renderer does not show:
//
//	<!-- story: NAME [busy] [broken-store] -->
//	    starts a story: the examples that follow, up to the next story, run in order
//	    against one fresh in-process server (memory store, files in a temporary folder,
//	    PBKDF2 at auth.MinIterations). busy gives it one hashing slot and almost no
//	    patience for it (R-SEC-5); broken-store makes every read of a user fail.
//	<!-- example: NAME [retry] -->
//	    the next two ```http blocks are a request and the answer it must get. retry
//	    sends the request again (up to 500 times, the clock standing still) until the
//	    answer matches: for answers that depend on a race, like a 503.
//	<!-- replay: NAME [times=N] [retry] -->
//	    sends the request of an example (of any story) again, N times (default 1),
//	    each time expecting its documented answer, dates aside: a replay sets up state
//	    at another moment than the example it repeats.
//	<!-- object: TYPE -->
//	    the next ```json block is an instance of the Go type (e.g. users.UserInfo): it
//	    must decode into it with unknown fields refused, and name every field it has.
//
// The clock of every story starts at 2026-11-25T16:11:45Z and moves one minute
// forward before each step after the first, so dates are exact. Access tokens, session
// IDs and the names the server gives to uploads are new on every run: the page writes
// made-up ones, and the test binds each made-up value to the real one the first time
// it appears in an answer, substitutes it in every later request, and checks that it
// stands for the same real value (and no other made-up value does) every time after.
//
// A ```http or ```json block outside these markers is an error: every example on the
// page is checked.

// start is when every story begins.
var start = time.Date(2026, 11, 25, 16, 11, 45, 0, time.UTC)

type docStory struct {
	name    string
	options []string
	line    int
	steps   []docStep
}

type docStep struct {
	kind    string // "example" or "replay"
	name    string
	line    int
	retry   bool
	times   int
	request string // raw request block (examples)
	answer  string // raw answer block (examples)
}

type docObject struct {
	typ  string
	line int
	body string
}

type fence struct {
	info string
	line int // of the opening ```
	body string
}

var (
	markerRe = regexp.MustCompile(`^<!--\s*(story|example|replay|object):\s*(.*?)\s*-->$`)
	fenceRe  = regexp.MustCompile("^```\\s*(\\S*)")
)

// parseAPIDoc reads the markers and fenced blocks of a Markdown page.
func parseAPIDoc(t *testing.T, path string) (stories []*docStory, objects []docObject) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")

	// First pass: fences and markers in order.
	type item struct {
		marker []string // kind, argument
		fence  *fence
		line   int
	}
	var items []item
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r")
		if m := fenceRe.FindStringSubmatch(l); m != nil {
			f := &fence{info: m[1], line: i + 1}
			var body []string
			for i++; i < len(lines) && strings.TrimRight(lines[i], "\r") != "```"; i++ {
				body = append(body, strings.TrimRight(lines[i], "\r"))
			}
			if i == len(lines) {
				t.Fatalf("%s:%d: fenced block never closed", path, f.line)
			}
			f.body = strings.Join(body, "\n")
			items = append(items, item{fence: f, line: f.line})
			continue
		}
		if m := markerRe.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			items = append(items, item{marker: m[1:], line: i + 1})
		}
	}

	var cur *docStory
	names := map[string]bool{}
	for i := 0; i < len(items); i++ {
		it := items[i]
		if it.fence != nil {
			if it.fence.info == "http" || it.fence.info == "json" {
				t.Errorf("%s:%d: a ```%s block outside any example or object marker: every example must be checked", path, it.line, it.fence.info)
			}
			continue
		}
		kind, args := it.marker[0], strings.Fields(it.marker[1])
		if len(args) == 0 {
			t.Fatalf("%s:%d: %s marker without a name", path, it.line, kind)
		}
		// next returns the following fence, which must be of the info string.
		next := func(info string) string {
			if i+1 >= len(items) || items[i+1].fence == nil || items[i+1].fence.info != info {
				t.Fatalf("%s:%d: %s %q must be followed by a ```%s block", path, it.line, kind, args[0], info)
			}
			i++
			return items[i].fence.body
		}
		switch kind {
		case "story":
			cur = &docStory{name: args[0], options: args[1:], line: it.line}
			stories = append(stories, cur)
		case "object":
			objects = append(objects, docObject{typ: args[0], line: it.line, body: next("json")})
		case "example", "replay":
			if cur == nil {
				t.Fatalf("%s:%d: %s before the first story marker", path, it.line, kind)
			}
			st := docStep{kind: kind, name: args[0], line: it.line, times: 1}
			for _, a := range args[1:] {
				switch {
				case a == "retry":
					st.retry = true
				case strings.HasPrefix(a, "times=") && kind == "replay":
					n, err := strconv.Atoi(strings.TrimPrefix(a, "times="))
					if err != nil || n < 1 {
						t.Fatalf("%s:%d: bad %q", path, it.line, a)
					}
					st.times = n
				default:
					t.Fatalf("%s:%d: unknown option %q of %s", path, it.line, a, kind)
				}
			}
			if kind == "example" {
				if names[st.name] {
					t.Fatalf("%s:%d: a second example named %q", path, it.line, st.name)
				}
				names[st.name] = true
				st.request = next("http")
				st.answer = next("http")
			}
			cur.steps = append(cur.steps, st)
		}
	}
	return stories, objects
}

// clock is the stepped clock of a story.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// brokenStore fails every read of a user, to show the answer to an unexpected error.
type brokenStore struct{ users.Store }

func (brokenStore) User(context.Context, int64) (users.User, error) {
	return users.User{}, errors.New("storage: the disk is on fire")
}

// newStoryServer starts the server a story runs against.
func newStoryServer(t *testing.T, s *docStory) (*httptest.Server, *clock) {
	t.Helper()
	clk := &clock{t: start}
	var store users.Store = storage.NewMemory()
	hopts := auth.HasherOptions{Iterations: auth.MinIterations}
	for _, o := range s.options {
		switch o {
		case "busy":
			hopts.Slots, hopts.MaxWait = 1, time.Nanosecond
		case "broken-store":
			store = brokenStore{store}
		default:
			t.Fatalf("api.md:%d: unknown story option %q", s.line, o)
		}
	}
	files, err := media.OpenDir(filepath.Join(t.TempDir(), "uploads"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	svc := users.NewService(users.Config{
		Store:     store,
		Hasher:    auth.NewHasher(hopts),
		Tokens:    auth.Tokens{},
		Files:     files,
		Previewer: media.NewPreviewer(0),
		Now:       clk.Now,
	})
	srv := httptest.NewServer(httpapi.NewServer(svc, httpapi.Options{}))
	t.Cleanup(srv.Close)
	return srv, clk
}

// binder ties the made-up values of the page to the real ones of a run.
type binder struct {
	fwd map[string]string // page -> real
	rev map[string]string // real -> page
	// loose lets any date stand for any date. Replays run with it: they only set up
	// state, at another moment than the example they repeat, which was checked exactly.
	loose bool
}

var (
	dateRe  = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	uuidRe  = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// volatile reports whether s has the shape of a value that changes from run to run.
func volatile(s string) bool { return uuidRe.MatchString(s) || tokenRe.MatchString(s) }

// match reports whether the page's value doc stands for the real value got, binding
// them if doc is a made-up value seen for the first time.
func (b *binder) match(doc, got string) error {
	if b.loose && dateRe.MatchString(doc) && dateRe.MatchString(got) {
		return nil
	}
	if real, ok := b.fwd[doc]; ok {
		if real != got {
			return fmt.Errorf("%q stood for %q before, now the server says %q", doc, real, got)
		}
		return nil
	}
	if doc != got && !(volatile(doc) && volatile(got) && uuidRe.MatchString(doc) == uuidRe.MatchString(got)) {
		return fmt.Errorf("the page says %q, the server %q", doc, got)
	}
	if !volatile(doc) {
		return nil
	}
	if other, ok := b.rev[got]; ok && other != doc {
		return fmt.Errorf("the page says %q where the server gives %q, which the page calls %q elsewhere", doc, got, other)
	}
	b.fwd[doc], b.rev[got] = got, doc
	return nil
}

// substitute replaces the made-up values of the page by their real ones. A UUID may
// be written in upper case too (R-WIRE-9).
func (b *binder) substitute(s string) string {
	for doc, real := range b.fwd {
		s = strings.ReplaceAll(s, doc, real)
		if uuidRe.MatchString(doc) {
			s = strings.ReplaceAll(s, strings.ToUpper(doc), strings.ToUpper(real))
		}
	}
	return s
}

// compareJSON compares a documented JSON value with the real one, key by key.
func (b *binder) compareJSON(path string, doc, got any) []string {
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: the page shows an object, the server gave %v", path, got)}
		}
		var errs []string
		for _, k := range sortedKeys(d) {
			if _, ok := g[k]; !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: on the page, not in the answer", path, k))
				continue
			}
			errs = append(errs, b.compareJSON(path+"."+k, d[k], g[k])...)
		}
		for _, k := range sortedKeys(g) {
			if _, ok := d[k]; !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: in the answer (%v), not on the page", path, k, g[k]))
			}
		}
		return errs
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: the page shows an array, the server gave %v", path, got)}
		}
		if len(d) != len(g) {
			return []string{fmt.Sprintf("%s: the page shows %d elements, the server gave %d", path, len(d), len(g))}
		}
		var errs []string
		for i := range d {
			errs = append(errs, b.compareJSON(fmt.Sprintf("%s[%d]", path, i), d[i], g[i])...)
		}
		return errs
	case string:
		g, ok := got.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: the page shows a string, the server gave %v", path, got)}
		}
		if err := b.match(d, g); err != nil {
			return []string{fmt.Sprintf("%s: %v", path, err)}
		}
		return nil
	default:
		if !reflect.DeepEqual(doc, got) {
			return []string{fmt.Sprintf("%s: the page says %v, the server %v", path, doc, got)}
		}
		return nil
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// httpBlock is a request or answer as the page writes it.
type httpBlock struct {
	first  string
	header [][2]string
	body   string
}

func parseHTTPBlock(s string) (httpBlock, error) {
	head, body, _ := strings.Cut(s, "\n\n")
	lines := strings.Split(strings.TrimRight(head, "\n"), "\n")
	b := httpBlock{first: lines[0], body: body}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return b, fmt.Errorf("header line %q has no colon", l)
		}
		b.header = append(b.header, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return b, nil
}

var (
	fileBodyRe  = regexp.MustCompile(`^<the (\d+) bytes of (testdata/[^ ,>]+)(?:,[^>]*)?>$`)
	imageBodyRe = regexp.MustCompile(`^<an? (\d+)×(\d+) (PNG|JPEG|GIF) image>$`)
)

// fileBody returns the bytes a "<the N bytes of testdata/…>" body stands for.
func fileBody(body string) ([]byte, bool, error) {
	m := fileBodyRe.FindStringSubmatch(body)
	if m == nil {
		return nil, false, nil
	}
	data, err := os.ReadFile(m[2])
	if err != nil {
		return nil, true, err
	}
	if n, _ := strconv.Atoi(m[1]); n != len(data) {
		return nil, true, fmt.Errorf("%s has %d bytes, the page says %s", m[2], len(data), m[1])
	}
	return data, true, nil
}

// buildRequest makes the request of a documented example for the server at base.
func buildRequest(b *binder, base, raw string) (*http.Request, error) {
	blk, err := parseHTTPBlock(b.substitute(raw))
	if err != nil {
		return nil, err
	}
	f := strings.Fields(blk.first)
	if len(f) < 2 || len(f) > 3 || len(f) == 3 && f[2] != "HTTP/1.1" {
		return nil, fmt.Errorf("request line %q: want METHOD TARGET HTTP/1.1", blk.first)
	}
	body := []byte(blk.body)
	if data, ok, err := fileBody(blk.body); err != nil {
		return nil, err
	} else if ok {
		body = data
	}
	req, err := http.NewRequest(f[0], base+f[1], bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range blk.header {
		if strings.EqualFold(h[0], "Host") {
			continue
		}
		req.Header.Add(h[0], h[1])
	}
	return req, nil
}

// checkAnswer compares a real answer with the documented one.
func checkAnswer(b *binder, raw string, res *http.Response, body []byte) []string {
	blk, err := parseHTTPBlock(raw)
	if err != nil {
		return []string{err.Error()}
	}
	f := strings.SplitN(blk.first, " ", 3)
	if len(f) != 3 || f[0] != "HTTP/1.1" {
		return []string{fmt.Sprintf("status line %q: want HTTP/1.1 CODE TEXT", blk.first)}
	}
	if want := fmt.Sprintf("%d %s", res.StatusCode, http.StatusText(res.StatusCode)); f[1]+" "+f[2] != want {
		return []string{fmt.Sprintf("status: the page says %s %s, the server %s; body %s", f[1], f[2], want, body)}
	}
	var errs []string
	for _, h := range blk.header {
		got := res.Header.Values(h[0])
		if len(got) != 1 {
			errs = append(errs, fmt.Sprintf("header %s: the page says %q, the server sent %q", h[0], h[1], got))
			continue
		}
		if err := b.match(h[1], got[0]); err != nil {
			errs = append(errs, fmt.Sprintf("header %s: %v", h[0], err))
		}
	}
	doc := strings.TrimSpace(blk.body)
	switch {
	case doc == "":
		if len(body) != 0 {
			errs = append(errs, fmt.Sprintf("body: the page shows none, the server sent %q", body))
		}
	case imageBodyRe.MatchString(doc):
		m := imageBodyRe.FindStringSubmatch(doc)
		cfg, format, err := image.DecodeConfig(bytes.NewReader(body))
		if err != nil {
			errs = append(errs, fmt.Sprintf("body: the page shows %s, the server sent no image: %v", doc, err))
		} else if got := fmt.Sprintf("%d×%d %s", cfg.Width, cfg.Height, strings.ToUpper(format)); got != m[1]+"×"+m[2]+" "+m[3] {
			errs = append(errs, fmt.Sprintf("body: the page shows %s, the server a %s image", doc, got))
		}
	case fileBodyRe.MatchString(doc):
		data, _, err := fileBody(doc)
		if err != nil {
			errs = append(errs, err.Error())
		} else if !bytes.Equal(data, body) {
			errs = append(errs, fmt.Sprintf("body: the server did not send the bytes of %s (%d bytes)", doc, len(body)))
		}
	case strings.HasPrefix(doc, "{") || strings.HasPrefix(doc, "["):
		want, err := decodeJSON(doc)
		if err != nil {
			return append(errs, fmt.Sprintf("the page's body is not JSON: %v", err))
		}
		got, err := decodeJSON(string(body))
		if err != nil {
			return append(errs, fmt.Sprintf("the server's body %q is not JSON: %v", body, err))
		}
		errs = append(errs, b.compareJSON("body", want, got)...)
	default:
		// A text body: the page cannot show the line breaks it ends with.
		if err := b.match(doc, strings.TrimRight(string(body), "\n")); err != nil {
			errs = append(errs, "body: "+err.Error())
		}
	}
	return errs
}

// TestAPIExamples replays every example exchange of api.md against an in-process
// server and fails where the page and the server disagree.
func TestAPIExamples(t *testing.T) {
	stories, _ := parseAPIDoc(t, "api.md")
	if len(stories) == 0 {
		t.Fatal("api.md has no stories")
	}
	examples := map[string]docStep{}
	for _, s := range stories {
		for _, st := range s.steps {
			if st.kind == "example" {
				examples[st.name] = st
			}
		}
	}
	for _, s := range stories {
		t.Run(s.name, func(t *testing.T) {
			srv, clk := newStoryServer(t, s)
			b := &binder{fwd: map[string]string{}, rev: map[string]string{}}
			first := true
			for _, st := range s.steps {
				ex := st
				if st.kind == "replay" {
					var ok bool
					if ex, ok = examples[st.name]; !ok {
						t.Fatalf("api.md:%d: replay of unknown example %q", st.line, st.name)
					}
				}
				for n := range st.times {
					if !first {
						clk.advance(time.Minute)
					}
					first = false
					where := fmt.Sprintf("api.md:%d: %s %q", st.line, st.kind, st.name)
					if st.times > 1 {
						where += fmt.Sprintf(" (%d of %d)", n+1, st.times)
					}
					tries := 1
					if ex.retry || st.retry {
						tries = 500
					}
					var errs []string
					b.loose = st.kind == "replay"
					for range tries {
						errs = replayOnce(t, srv, b, ex, where)
						if len(errs) == 0 {
							break
						}
					}
					if len(errs) > 0 {
						t.Fatalf("%s:\n\t%s", where, strings.Join(errs, "\n\t"))
					}
				}
			}
		})
	}
}

// replayOnce sends the example's request and compares the answer. A failed
// comparison leaves the bindings as they were, so that a retry starts afresh.
func replayOnce(t *testing.T, srv *httptest.Server, b *binder, ex docStep, where string) []string {
	t.Helper()
	req, err := buildRequest(b, srv.URL, ex.request)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	// The page shows what the server answers, redirects included.
	hc := *srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	saved := &binder{fwd: clone(b.fwd), rev: clone(b.rev), loose: b.loose}
	errs := checkAnswer(b, ex.answer, res, body)
	if len(errs) > 0 {
		b.fwd, b.rev = saved.fwd, saved.rev
	}
	return errs
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// objectTypes are the Go types an object marker may name.
var objectTypes = map[string]reflect.Type{
	"users.UserInfo":      reflect.TypeFor[users.UserInfo](),
	"users.DeviceSession": reflect.TypeFor[users.DeviceSession](),
	"users.DeviceInfo":    reflect.TypeFor[users.DeviceInfo](),
	"users.MediaInfo":     reflect.TypeFor[users.MediaInfo](),
	"error": reflect.TypeFor[struct {
		Error  bool   `json:"error"`
		Reason string `json:"reason"`
	}](),
}

// TestAPIObjects checks the object examples of api.md against the Go types: each must
// decode with unknown fields refused and show every field of its type.
func TestAPIObjects(t *testing.T) {
	_, objects := parseAPIDoc(t, "api.md")
	seen := map[string]bool{}
	for _, o := range objects {
		typ, ok := objectTypes[o.typ]
		if !ok {
			t.Errorf("api.md:%d: unknown object type %q", o.line, o.typ)
			continue
		}
		seen[o.typ] = true
		if err := decodeStrict([]byte(o.body), typ); err != nil {
			t.Errorf("api.md:%d: the %s example does not decode: %v", o.line, o.typ, err)
			continue
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal([]byte(o.body), &keys); err != nil {
			t.Errorf("api.md:%d: %v", o.line, err)
			continue
		}
		for _, name := range jsonFields(typ) {
			if _, ok := keys[name]; !ok {
				t.Errorf("api.md:%d: the %s example lacks the field %q", o.line, o.typ, name)
			}
		}
	}
	for name := range objectTypes {
		if !seen[name] {
			t.Errorf("api.md shows no example of %s", name)
		}
	}
}

// jsonFields returns the JSON names of a struct type's fields.
func jsonFields(typ reflect.Type) []string {
	var names []string
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// readLines is a small helper for tests that read the pages line by line.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// TestAPIExamplesCoverEveryRoute checks that every route the server registers has at
// least one example in api.md, matched the way the server's mux matches requests.
func TestAPIExamplesCoverEveryRoute(t *testing.T) {
	stories, _ := parseAPIDoc(t, "api.md")
	mux := http.NewServeMux()
	for _, p := range httpapi.Routes() {
		mux.Handle(p, http.NotFoundHandler())
	}
	covered := map[string]bool{}
	for _, s := range stories {
		for _, st := range s.steps {
			if st.kind != "example" {
				continue
			}
			req, err := buildRequest(&binder{}, "http://example.test", st.request)
			if err != nil {
				t.Fatalf("api.md:%d: %v", st.line, err)
			}
			if _, pattern := mux.Handler(req); pattern != "" {
				covered[pattern] = true
			}
		}
	}
	for _, p := range httpapi.Routes() {
		if !covered[p] {
			t.Errorf("route %s has no example in api.md", p)
		}
	}
}
