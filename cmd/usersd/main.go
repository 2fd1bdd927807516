// Command usersd serves the Users API.
//
//	go run ./cmd/usersd                 # :8080, file store in ./data
//	go run ./cmd/usersd -addr 127.0.0.1:0 -store memory
//
// Every flag has an environment fallback (USERSD_ADDR, USERSD_DATA, …); flags win. The
// first line on stdout is the URL the server listens on. SIGINT or SIGTERM shut it down
// gracefully.
//
// The server itself, its flags and its wiring, is internal/daemon, which
// postgres/cmd/usersd-pg runs too.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"usersapi/auth"
	"usersapi/internal/daemon"
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

// run serves the API with the file or memory store until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return daemon.Run(ctx, args, getenv, stdout, stderr)
}
