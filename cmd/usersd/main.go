// Command usersd serves the Users API.
//
//	go run ./cmd/usersd                 # :8080, file store in ./data
//	go run ./cmd/usersd -addr 127.0.0.1:0 -store memory
//
// Every flag has an environment fallback (USERSD_ADDR, USERSD_DATA, …); flags win. The
// first line on stdout is the URL the server listens on. SIGINT or SIGTERM shut it down
// gracefully.
//
// This is the one package that knows every other: it wires the store, the hasher and
// the HTTP server together.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"usersapi/auth"
)

func main() {
	auth.ServeOnAllCPUs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "usersd:", err)
		os.Exit(1)
	}
}
