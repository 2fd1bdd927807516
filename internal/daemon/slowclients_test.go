//go:build linux

package daemon

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const fdLimitEnv = "USERSD_TEST_FD_LIMIT_CHILD"

// TestSlowClientsChild is TestSlowClients' server: usersd in a process limited to 1,024
// descriptors. It does nothing in a normal run.
func TestSlowClientsChild(t *testing.T) {
	if os.Getenv(fdLimitEnv) == "" {
		t.Skip("runs only as the child of TestSlowClients")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 1024, Max: 1024}); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	run(context.Background(), []string{"usersd", "-addr", "127.0.0.1:0", "-store", "memory", "-pbkdf2-iterations", "1000"}, getenv, os.Stdout, os.Stderr)
}

// TestSlowClients covers R-SEC-6 against a client that opens connections and never
// finishes its requests: with 1,100 such connections from one address open against a
// server limited to 1,024 descriptors, requests from other addresses are served.
func TestSlowClients(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1,100 connections; skipped with -short")
	}
	if os.Getenv(fdLimitEnv) != "" {
		t.Skip("in the child")
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 1300 {
		t.Fatalf("this test needs 1,300 descriptors of its own: the limit is %d (%v)", lim.Cur, err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSlowClientsChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fdLimitEnv+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL from the server: %v", err)
	}
	url := strings.TrimSpace(line)
	addr := strings.TrimPrefix(url, "http://")

	slow := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, Timeout: 5 * time.Second}
	opened := 0
	for range 1100 {
		c, err := slow.Dial("tcp", addr)
		if err != nil {
			continue // the kernel's backlog may be full for a moment: the server drops the surplus
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		opened++
	}
	if opened < 1000 {
		t.Fatalf("only %d of 1,100 slow connections could be opened", opened)
	}

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext,
	}}
	for i := range 20 {
		res, err := client.Get(url + "/healthz")
		if err != nil {
			t.Fatalf("request %d from another address while 1,100 slow connections are open: %v", i, err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("request %d from another address: %d, want 200", i, res.StatusCode)
		}
	}
}
