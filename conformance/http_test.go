package conformance_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// request is one HTTP request of a test, built by do's options.
type request struct {
	method, path string
	header       http.Header
	body         []byte
	stream       func() io.Reader // a body too large to hold, made afresh for each try
	streamLen    int64
	noRetry      bool
}

// option changes a request.
type option func(*request)

// bearer sends the token as Bearer credentials.
func bearer(token string) option {
	return func(r *request) { r.header.Set("Authorization", "Bearer "+token) }
}

// basic sends HTTP Basic credentials.
func basic(username, password string) option {
	return func(r *request) {
		req := http.Request{Header: http.Header{}}
		req.SetBasicAuth(username, password)
		r.header.Set("Authorization", req.Header.Get("Authorization"))
	}
}

// header sets a request header; an empty value removes it.
func header(key, value string) option {
	return func(r *request) {
		if value == "" {
			r.header.Del(key)
		} else {
			r.header.Set(key, value)
		}
	}
}

// again adds a second line of a header the request already has, with value.
func again(key, value string) option {
	return func(r *request) { r.header.Add(key, value) }
}

// rawJSON sends s as the body, with Content-Type application/json.
func rawJSON(s string) option {
	return func(r *request) {
		r.body = []byte(s)
		r.header.Set("Content-Type", "application/json")
	}
}

// jsonOf sends v, marshalled, with Content-Type application/json. Use rawJSON for
// bodies that encoding/json would not write (bad UTF-8, duplicate keys, …).
func jsonOf(v any) option {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return rawJSON(string(b))
}

// rawBody sends b as the body with the given Content-Type ("" for none).
func rawBody(contentType string, b []byte) option {
	return func(r *request) {
		r.body = b
		if contentType == "" {
			r.header.Del("Content-Type")
		} else {
			r.header.Set("Content-Type", contentType)
		}
	}
}

// streamBody sends n bytes made by newReader, which is called again for a retry.
func streamBody(n int64, newReader func() io.Reader) option {
	return func(r *request) { r.stream, r.streamLen = newReader, n }
}

// noRetry makes do return a 503 instead of retrying after its Retry-After.
func noRetry() option { return func(r *request) { r.noRetry = true } }

// response is an answer read whole.
type response struct {
	req    string // "METHOD /path", for messages
	status int
	header http.Header
	body   []byte
	length int64 // the parsed Content-Length, -1 when unknown
}

// do sends one request to the server under test and reads the answer. A 503 (R-SEC-5:
// the server is saturated, which says nothing about the request) is retried after its
// Retry-After, unless noRetry is given.
func do(t testing.TB, method, path string, opts ...option) *response {
	t.Helper()
	r := build(method, path, opts...)
	deadline := time.Now().Add(2 * time.Minute)
	for attempt := 1; ; attempt++ {
		res, err := send(r)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		if res.status != http.StatusServiceUnavailable || r.noRetry || time.Now().After(deadline) {
			return res
		}
		t.Logf("%s %s: 503 (try %d), retrying after Retry-After %q", method, path, attempt, res.header.Get("Retry-After"))
		sleepRetryAfter(res)
	}
}

// sleepRetryAfter waits as long as the answer's Retry-After says, at most 10 seconds.
func sleepRetryAfter(res *response) {
	wait := time.Second
	if s, err := strconv.Atoi(res.header.Get("Retry-After")); err == nil && s > 0 {
		wait = min(time.Duration(s)*time.Second, 10*time.Second)
	}
	time.Sleep(wait)
}

// decodeID returns the "id" of a JSON object, for goroutines that may not t.Fatal.
func decodeID(body []byte) (int64, error) {
	var v struct {
		ID *json.Number `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return 0, err
	}
	if v.ID == nil {
		return 0, fmt.Errorf("no id")
	}
	return v.ID.Int64()
}

// build makes the request do sends; send it with send from other goroutines than the
// test's, where t.Fatal is not allowed.
func build(method, path string, opts ...option) *request {
	r := &request{method: method, path: path, header: http.Header{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// send sends the request once.
func send(r *request) (*response, error) {
	var body io.Reader
	if r.stream != nil {
		body = r.stream()
	} else if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, baseURL+r.path, body)
	if err != nil {
		return nil, err
	}
	if r.stream != nil {
		req.ContentLength = r.streamLen
	}
	req.Header = r.header.Clone()
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %v", err)
	}
	return &response{
		req:    r.method + " " + r.path,
		status: resp.StatusCode,
		header: resp.Header,
		body:   b,
		length: resp.ContentLength,
	}, nil
}

// String describes the answer for failure messages.
func (r *response) String() string {
	body := string(r.body)
	if len(body) > 400 {
		body = body[:400] + "…"
	}
	return fmt.Sprintf("%s -> %d %s", r.req, r.status, body)
}

// wantStatus fails the test now unless the answer has the status.
func (r *response) wantStatus(t testing.TB, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: got status %d, want %d", r, r.status, status)
	}
}

// wantOK checks an "OK" answer: 200, empty body, Content-Length: 0 (R-WIRE-3).
func (r *response) wantOK(t testing.TB) {
	t.Helper()
	r.wantStatus(t, http.StatusOK)
	if len(r.body) != 0 {
		t.Errorf("%s: got a body of %d bytes, want an empty body (R-WIRE-3)", r, len(r.body))
	}
	if got := r.header.Get("Content-Length"); got != "0" {
		t.Errorf("%s: got Content-Length %q, want \"0\" (R-WIRE-3)", r.req, got)
	}
}

// wantObject checks a 200 JSON answer (R-WIRE-2) and returns its object.
func (r *response) wantObject(t testing.TB) map[string]any {
	t.Helper()
	r.wantStatus(t, http.StatusOK)
	r.wantJSONType(t, true)
	obj, ok := r.decode(t).(map[string]any)
	if !ok {
		t.Fatalf("%s: the body is not a JSON object", r)
	}
	return obj
}

// wantArray checks a 200 JSON answer (R-WIRE-2) and returns its array.
func (r *response) wantArray(t testing.TB) []any {
	t.Helper()
	r.wantStatus(t, http.StatusOK)
	r.wantJSONType(t, true)
	arr, ok := r.decode(t).([]any)
	if !ok {
		t.Fatalf("%s: the body is not a JSON array", r)
	}
	return arr
}

// wantJSONType checks Content-Type: exactly application/json; charset=utf-8 for
// success (R-WIRE-2), and at least the media type application/json for errors.
func (r *response) wantJSONType(t testing.TB, exact bool) {
	t.Helper()
	ct := r.header.Get("Content-Type")
	if exact {
		if ct != "application/json; charset=utf-8" {
			t.Errorf("%s: got Content-Type %q, want \"application/json; charset=utf-8\" (R-WIRE-2)", r.req, ct)
		}
		return
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
		t.Errorf("%s: got Content-Type %q, want application/json (R-WIRE-4)", r.req, ct)
	}
}

// decode parses the body as exactly one JSON value, keeping numbers as json.Number.
func (r *response) decode(t testing.TB) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: the body is not JSON: %v", r, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%s: data after the JSON value", r)
	}
	return v
}

// wantError checks an error answer: the status, and the body
// {"error": true, "reason": "<one sentence>"} and nothing else (R-WIRE-4). It returns
// the reason.
func (r *response) wantError(t testing.TB, status int) string {
	t.Helper()
	r.wantStatus(t, status)
	return r.errorBody(t)
}

// errorBody checks the R-WIRE-4 shape of an error answer whatever its status.
func (r *response) errorBody(t testing.TB) string {
	t.Helper()
	r.wantJSONType(t, false)
	obj, ok := r.decode(t).(map[string]any)
	if !ok {
		t.Fatalf("%s: the error body is not a JSON object (R-WIRE-4)", r)
	}
	wantKeys(t, r.req+" error body", obj, []string{"error", "reason"}, nil)
	if obj["error"] != true {
		t.Errorf("%s: got \"error\": %v, want true (R-WIRE-4)", r, obj["error"])
	}
	reason, ok := obj["reason"].(string)
	if !ok || strings.TrimSpace(reason) == "" {
		t.Fatalf("%s: got \"reason\": %#v, want a non-empty string (R-WIRE-4)", r, obj["reason"])
	}
	if strings.ContainsAny(reason, "\n\r") {
		t.Errorf("%s: the reason has several lines, want one sentence (R-WIRE-4)", r)
	}
	if !strings.HasSuffix(reason, ".") && !strings.HasSuffix(reason, "!") && !strings.HasSuffix(reason, "?") {
		t.Errorf("%s: the reason %q does not end like a sentence (R-WIRE-4)", r, reason)
	}
	for _, leak := range []string{"json: ", "strconv.", "runtime error", "goroutine ", ".go:", "panic", "sql:", "open /"} {
		if strings.Contains(reason, leak) {
			t.Errorf("%s: the reason leaks internals (%q) (R-WIRE-4)", r, leak)
		}
	}
	return reason
}

// wantChallenge checks a 401 answer and its WWW-Authenticate header (R-WIRE-6).
func (r *response) wantChallenge(t testing.TB, scheme string) {
	t.Helper()
	r.wantError(t, http.StatusUnauthorized)
	want := map[string]string{
		"Bearer": `Bearer realm="users"`,
		"Basic":  `Basic realm="users", charset="UTF-8"`,
	}[scheme]
	if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != want {
		t.Errorf("%s: got WWW-Authenticate %q, want [%q] (R-WIRE-6)", r.req, got, want)
	}
}

// wantRetryAfter checks that the answer has an integer Retry-After of at least 1 and at
// most max seconds, and returns it.
func (r *response) wantRetryAfter(t testing.TB, max int) int {
	t.Helper()
	v := r.header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		t.Errorf("%s: got Retry-After %q, want an integer number of seconds in 1..%d", r.req, v, max)
	}
	return n
}
