// Package pgtest gives the tests of the postgres module a PostgreSQL to run against.
//
// If USERSD_TEST_DB is set (a postgres:// URL of a role that may create databases),
// every NewDB creates a database with a random name there and drops it when its test
// ends. Otherwise Main starts a throwaway cluster for the test binary: initdb in a
// temporary folder, listening on a free loopback port only, with its socket in that
// folder, and stops and removes it when the tests end. The binaries are found with
// pg_config --bindir; without them the tests fail, saying what to install.
//
// When the tests run as root, the cluster runs as the postgres system user (initdb
// refuses root), through runuser.
//
// It imports the standard library and pgx only.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the variable that points the tests at an existing server instead of a
// throwaway cluster.
const EnvURL = "USERSD_TEST_DB"

// Install is what to do when no PostgreSQL binaries are found.
const Install = "install PostgreSQL (apt-get install postgresql-15 postgresql-contrib-15) or set " + EnvURL + " to a postgres:// URL of a role that may create databases"

var (
	base    *url.URL // where NewDB creates databases: the server and an admin role
	cluster *Cluster // started by Main, nil with USERSD_TEST_DB
	setup   error    // why Main could not provide a server
)

// Main runs the tests of a package: it starts the throwaway cluster (unless
// USERSD_TEST_DB is set), runs m, stops the cluster and exits. Call it from TestMain.
// If no server can be had, every NewDB fails its test with the reason.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if env := os.Getenv(EnvURL); env != "" {
		u, err := url.Parse(env)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			setup = fmt.Errorf("pgtest: %s must be a postgres:// URL", EnvURL)
		} else {
			base = u
		}
		return m.Run()
	}
	c, err := StartCluster()
	if err != nil {
		setup = err
		return m.Run() // every NewDB fails, saying why
	}
	cluster = c
	base = c.url("postgres")
	code := m.Run()
	if err := c.Remove(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	return code
}

// Default returns the cluster Main started, or nil when the tests run against
// USERSD_TEST_DB (or Main could not start one). A test that must stop and restart the
// server skips without it.
func Default() *Cluster { return cluster }

// NewDB creates an empty database with a random name and returns its URL; it is
// dropped when the test ends (after the test's own cleanups, so close what uses it
// in a cleanup registered later, as t.Cleanup runs last-in first-out).
func NewDB(t testing.TB) string {
	t.Helper()
	if setup != nil {
		t.Fatal(setup)
	}
	if base == nil {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain first")
	}
	name := "usersd_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := admin(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDB(base, name).String()
}

// admin runs one statement on the server's admin database.
func admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, base.String())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func withDB(u *url.URL, db string) *url.URL {
	v := *u
	v.Path = "/" + db
	return &v
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Cluster is a throwaway PostgreSQL cluster in a temporary folder, on a loopback port.
type Cluster struct {
	Dir      string // the folder: data/, the socket, the log
	Port     int
	bin      string // the PostgreSQL binaries
	password string // of the superuser postgres
	asUser   string // the system user the server runs as; "" for the current one
}

// StartCluster makes and starts a new cluster. fsync, synchronous_commit and
// full_page_writes are on, as in production (docs/storage.md). Remove stops it and
// deletes its folder.
func StartCluster() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, password: randomHex(16)}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, errors.New("pgtest: running as root, and there is no postgres system user to run the cluster as (initdb refuses root); " + Install)
		}
		c.asUser = "postgres"
	}
	// Not named after the server: a "pkill -f usersd-pg" must not stop a test's cluster.
	if c.Dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, err
	}
	fail := func(err error) (*Cluster, error) {
		c.Remove()
		return nil, err
	}
	if c.asUser != "" {
		if err := exec.Command("chown", c.asUser, c.Dir).Run(); err != nil {
			return fail(fmt.Errorf("pgtest: chown %s %s: %v", c.asUser, c.Dir, err))
		}
	}
	pwfile := filepath.Join(c.Dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o644); err != nil {
		return fail(err)
	}
	if out, err := c.command("initdb", "-D", c.data(), "-U", "postgres", "--pwfile", pwfile,
		"--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %v\n%s", err, out))
	}
	os.Remove(pwfile)
	if c.Port, err = freePort(); err != nil {
		return fail(err)
	}
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 300
shared_buffers = 256MB
logging_collector = off
`, c.Port, c.Dir)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fail(err)
	}
	_, err = f.WriteString(conf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	if err := c.startWatchdog(); err != nil {
		return fail(err)
	}
	if err := c.Start(); err != nil {
		return fail(err)
	}
	return c, nil
}

// binDir finds the PostgreSQL binaries with pg_config.
func binDir() (string, error) {
	out, err := exec.Command("pg_config", "--bindir").Output()
	if err != nil {
		return "", fmt.Errorf("pgtest: pg_config --bindir: %v; %s", err, Install)
	}
	dir := strings.TrimSpace(string(out))
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("pgtest: %s is missing from %s (pg_config --bindir); %s", b, dir, Install)
		}
	}
	return dir, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

// command runs a PostgreSQL binary as the cluster's user.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asUser == "" {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
}

// startWatchdog starts a shell that stops the cluster and removes its folder once this
// process is gone, so that a test binary killed by a timeout or a panic leaves no
// server behind.
func (c *Cluster) startWatchdog() error {
	stop := c.command("pg_ctl", "stop", "-D", c.data(), "-m", "immediate", "-w")
	script := fmt.Sprintf(`while kill -0 %d 2>/dev/null; do sleep 1; done; if [ -d %s ]; then %s >/dev/null 2>&1; rm -rf %s; fi`,
		os.Getpid(), shellQuote(c.data()), shellJoin(stop.Args), shellQuote(c.Dir))
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start the watchdog: %v", err)
	}
	go cmd.Wait()
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// Start starts the cluster (again, after Stop or Kill), on the same port, and waits
// until it takes connections.
func (c *Cluster) Start() error {
	logFile := filepath.Join(c.Dir, "server.log")
	out, err := c.command("pg_ctl", "start", "-D", c.data(), "-l", logFile, "-w", "-t", "120").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(logFile)
		if len(log) > 4000 {
			log = log[len(log)-4000:]
		}
		return fmt.Errorf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// Stop stops the cluster cleanly (pg_ctl stop -m fast).
func (c *Cluster) Stop() error { return c.stop("fast") }

// Kill stops the cluster as a crash would (pg_ctl stop -m immediate): no checkpoint,
// connections cut; the next Start recovers from the WAL.
func (c *Cluster) Kill() error { return c.stop("immediate") }

func (c *Cluster) stop(mode string) error {
	out, err := c.command("pg_ctl", "stop", "-D", c.data(), "-m", mode, "-w", "-t", "120").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop -m %s: %v\n%s", mode, err, bytes.TrimSpace(out))
	}
	return nil
}

// Remove stops the cluster if it runs and deletes its folder.
func (c *Cluster) Remove() error {
	var err error
	if _, serr := os.Stat(filepath.Join(c.data(), "postmaster.pid")); serr == nil {
		err = c.Stop()
	}
	if rerr := os.RemoveAll(c.Dir); err == nil {
		err = rerr
	}
	return err // the watchdog finds no folder and ends with this process
}

// URL returns the URL of the database db on the cluster, as the superuser.
func (c *Cluster) URL(db string) string { return c.url(db).String() }

func (c *Cluster) url(db string) *url.URL {
	return &url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", c.password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
}
