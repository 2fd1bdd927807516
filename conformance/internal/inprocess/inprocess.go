// Package inprocess starts this project's Users API server inside the calling process,
// wired as cmd/usersd wires it (memory store, uploads folder, previews), with a low
// PBKDF2 count so that a test run is fast. It is for the conformance suite, when no
// USERS_BASE_URL is given, and for the fault tests that check the suite.
//
// It is the only package of the conformance tree that imports the server's packages.
package inprocess

import (
	"net/http/httptest"
	"os"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/media"
	"usersapi/storage"
	"usersapi/users"
)

// MaxUpload is the upload cap of the in-process server: small, so that the test of
// the cap (R-UPL-1) sends little.
const MaxUpload = 2 << 20

// UploadQuota is the quota of one user's uploads of the in-process server (R-LIM-2):
// small, so that the test of the quota fills it with little.
const UploadQuota = 8 << 20

// Server is a running in-process server.
type Server struct {
	URL       string // base URL, e.g. http://127.0.0.1:41234
	MaxUpload int64  // bytes, the upload cap
	srv       *httptest.Server
	dir       *media.Dir
	tmp       string
}

// Start starts a server on a loopback port with an empty memory store and a fresh
// uploads folder.
func Start() (*Server, error) {
	tmp, err := os.MkdirTemp("", "usersapi-conformance-")
	if err != nil {
		return nil, err
	}
	// A file beside the uploads folder that no request may reach (R-UPL-2).
	if err := os.WriteFile(tmp+"/conformance-secret.txt", []byte("CONFORMANCE-SECRET"), 0o600); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	dir, err := media.OpenDir(tmp + "/uploads")
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	svc := users.NewService(users.Config{
		Store:       storage.NewMemory(),
		Hasher:      auth.NewHasher(auth.HasherOptions{Iterations: auth.MinIterations}),
		Tokens:      auth.Tokens{},
		Files:       dir,
		Previewer:   media.NewPreviewer(0),
		MaxUpload:   MaxUpload,
		UploadQuota: UploadQuota,
	})
	// The server and the limits of cmd/usersd (R-SEC-6).
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = httpapi.NewHTTPServer(httpapi.NewServer(svc, httpapi.Options{}), httpapi.Limits{}, nil)
	srv.Listener = httpapi.LimitListener(srv.Listener, httpapi.Limits{})
	srv.Start()
	return &Server{URL: srv.URL, MaxUpload: MaxUpload, srv: srv, dir: dir, tmp: tmp}, nil
}

// Close stops the server and removes its uploads folder.
func (s *Server) Close() {
	s.srv.Close()
	s.dir.Close()
	os.RemoveAll(s.tmp)
}
