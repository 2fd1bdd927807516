package httpapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"usersapi/httpapi"
)

// dialFrom opens a TCP connection to addr from the loopback address from (127.0.0.x).
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends GET /healthz on c and returns the status line of the answer.
func get(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestLimitListener covers R-SEC-6's caps on connections: past the cap of one client
// address, a new connection from it is answered 503 with Retry-After and closed, while
// another address is served; a closed connection frees its place.
func TestLimitListener(t *testing.T) {
	ln, err := httpapi.Listen("127.0.0.1:0", httpapi.Limits{MaxConns: 5, MaxConnsPerClient: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}), httpapi.Limits{}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	var held []net.Conn
	for range 3 {
		c := dialFrom(t, "127.0.0.1", addr)
		if got := get(t, c); got != "HTTP/1.1 200 OK" {
			t.Fatalf("a connection within the cap: %q", got)
		}
		held = append(held, c)
	}
	over := dialFrom(t, "127.0.0.1", addr)
	res, err := http.ReadResponse(bufio.NewReader(over), nil)
	if err != nil {
		t.Fatalf("the connection over the cap: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "1" || !strings.Contains(string(body), `"error":true`) {
		t.Errorf("the connection over the client's cap: %d, Retry-After %q, %s; want 503, 1 and the error object", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if got := get(t, dialFrom(t, "127.0.0.2", addr)); got != "HTTP/1.1 200 OK" {
		t.Errorf("another address while the first is at its cap: %q", got)
	}
	held[0].Close()
	time.Sleep(50 * time.Millisecond) // the server sees the close
	var again string
	for i := 0; i < 50; i++ {
		if again = get(t, dialFrom(t, "127.0.0.1", addr)); again == "HTTP/1.1 200 OK" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if again != "HTTP/1.1 200 OK" {
		t.Errorf("after a connection closed, a new one from the same address: %q", again)
	}
}

// TestSlowBody covers R-SEC-6's deadline of a request's body: a JSON body that does not
// arrive within the request timeout ends the request, instead of holding its
// connection for the five minutes an upload may take.
func TestSlowBody(t *testing.T) {
	e := newEnv(t)
	ln, err := httpapi.Listen("127.0.0.1:0", httpapi.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httpapi.NewHTTPServer(e.srv.Config.Handler, httpapi.Limits{RequestTimeout: 300 * time.Millisecond}, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	c := dialFrom(t, "127.0.0.1", ln.Addr().String())
	fmt.Fprintf(c, "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	io.Copy(io.Discard, c) // until the server ends the request and the connection
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("a body that never arrives held the connection for %v", took)
	}
}
