package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// baselineEnv, set in its environment, makes usersload the baseline server of a
// parent usersload (serveBaselineChild) instead of a load run.
const baselineEnv = "USERSLOAD_SERVE_BASELINE"

// serveBaseline starts the baseline server of body where c says, in this process or in
// one of its own, and returns its URL and the function that stops it.
func serveBaseline(c config, body []byte) (url string, stop func(), err error) {
	if c.target == "" || c.baselineHere {
		s, err := startBaseline(body)
		if err != nil {
			return "", nil, err
		}
		return s.url, s.close, nil
	}
	p, err := startBaselineProcess(body)
	if err != nil {
		return "", nil, err
	}
	return p.url, p.close, nil
}

// baselineProcess serves body as startBaseline does, from a usersload of its own: with
// -target the server under test is another process, so the baseline is one too, and
// their ratio compares like setups (the in-process baseline pays no process switch
// between client and server, which any server in another process does).
type baselineProcess struct {
	url   string
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startBaselineProcess starts this program again as the baseline server of body, and
// waits for the URL it serves on.
func startBaselineProcess(body []byte) (*baselineProcess, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("starting the baseline process: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), baselineEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the baseline process: %w", err)
	}
	p := &baselineProcess{cmd: cmd, stdin: stdin}
	// The body goes first, after its length; stdin then stays open while the child
	// should serve, so that it ends with this process however this one ends.
	if _, err := fmt.Fprintf(stdin, "%d\n%s", len(body), body); err != nil {
		p.close()
		return nil, fmt.Errorf("starting the baseline process: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		p.close()
		return nil, fmt.Errorf("the baseline process did not say where it serves (%q): %v", line, err)
	}
	p.url = strings.TrimSpace(line)
	return p, nil
}

// close ends the child by closing its stdin, and waits for it.
func (p *baselineProcess) close() {
	p.stdin.Close()
	p.cmd.Wait()
}

// asBaselineChild serves as the baseline and exits if this process was started as one
// (baselineEnv in its environment), and otherwise returns at once.
func asBaselineChild() {
	if os.Getenv(baselineEnv) == "" {
		return
	}
	if err := serveBaselineChild(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "usersload:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// serveBaselineChild is the child's side of startBaselineProcess: it reads the body
// from stdin, serves it, prints its URL on stdout, and returns when stdin ends.
func serveBaselineChild(stdin io.Reader, stdout io.Writer) error {
	in := bufio.NewReader(stdin)
	line, err := in.ReadString('\n')
	if err != nil {
		return fmt.Errorf("baseline: reading the body's length: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || n < 0 {
		return fmt.Errorf("baseline: bad body length %q", line)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(in, body); err != nil {
		return fmt.Errorf("baseline: reading the body: %w", err)
	}
	srv, err := startBaseline(body)
	if err != nil {
		return err
	}
	defer srv.close()
	fmt.Fprintln(stdout, srv.url)
	io.Copy(io.Discard, in) // until the parent closes stdin or exits
	return nil
}
