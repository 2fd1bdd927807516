package conformance_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Configuration comes from the environment, as in complement; the report's path and the
// address its links point to may also be given as flags.
var (
	reportPath = flag.String("conformance.report", "",
		"write a markdown table of rule -> pass/fail/skip to this file (env CONFORMANCE_REPORT)")
	docsFlag = flag.String("conformance.docs", "",
		"the URL or path of the docs folder the report links its rules to (env CONFORMANCE_DOCS); "+
			"default: the path from the report to this repository's docs folder")

	// baseURL is the server under test, without a trailing slash.
	baseURL string
	// uploadLimit is the server's upload cap in bytes (R-UPL-1).
	uploadLimit int64 = 50 << 20
	// uploadQuota is the server's quota of one user's uploads in bytes (R-LIM-2), 0
	// when not known.
	uploadQuota int64

	httpClient = &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
		},
	}
)

// startInProcess, when set by inprocess_test.go, starts this project's server and
// returns its URL, its upload cap and a function that stops it.
var startInProcess func() (url string, maxUpload int64, stop func())

// inProcessQuota is the upload quota of the in-process server, set with startInProcess.
var inProcessQuota int64

// TestMain picks the server under test (USERS_BASE_URL, else the in-process one), runs
// the tests and writes the report of rule results when asked to.
func TestMain(m *testing.M) {
	flag.Parse()
	baseURL = strings.TrimRight(os.Getenv("USERS_BASE_URL"), "/")
	if v := os.Getenv("USERS_UPLOAD_LIMIT"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "USERS_UPLOAD_LIMIT=%q: want a positive number of bytes\n", v)
			os.Exit(2)
		}
		uploadLimit = n
	}
	if v := os.Getenv("USERS_UPLOAD_QUOTA"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "USERS_UPLOAD_QUOTA=%q: want a positive number of bytes\n", v)
			os.Exit(2)
		}
		uploadQuota = n
	}
	where := baseURL
	var stop func()
	if baseURL == "" && startInProcess != nil {
		baseURL, uploadLimit, stop = startInProcess()
		uploadQuota = inProcessQuota
		inProcess = true
		where = "in-process server (" + baseURL + ")"
	}
	start := time.Now()
	code := m.Run()
	elapsed := time.Since(start)
	if stop != nil {
		stop()
	}

	path := *reportPath
	if path == "" {
		path = os.Getenv("CONFORMANCE_REPORT")
	}
	if path != "" {
		if err := writeReport(path, where, elapsed); err != nil {
			fmt.Fprintln(os.Stderr, "conformance report:", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// server skips the test when there is no server to test.
func server(t *testing.T) {
	t.Helper()
	if baseURL == "" {
		t.Skip("no server: set USERS_BASE_URL=http://host:port (the in-process server is not built in)")
	}
}
