// Package conformance is the black-box conformance suite of the Users API: a set of
// go tests that speak plain HTTP and JSON to a running server and check every rule of
// docs/api.md and the decisions it rests on (R-WIRE-…, R-OBJ-…, R-FLD-…, the endpoint
// rules, uploads and photos, R-SEC-2, R-SEC-4, R-SES-…).
//
//	USERS_BASE_URL=http://127.0.0.1:8080 go test ./conformance/...
//
// Without USERS_BASE_URL the suite starts this project's server in-process (memory
// store, low PBKDF2 count), so plain `go test ./...` runs it too. See docs/conformance.md
// for the flags, the environment variables and the report.
//
// The tests know the server only through the wire: they assert JSON by exact key on the
// raw body and must never import the client package or any server package. The one
// exception is inprocess_test.go, which starts the in-process server through the
// internal/inprocess package.
package conformance
