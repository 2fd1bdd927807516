// Command usersload measures the Users API under load and compares it with what the
// machine can do at best: a bare net/http server answering a fixed body of the same
// size, and the raw PBKDF2 rate of all CPUs.
//
//	go run ./cmd/usersload                              # in-process server, memory store
//	go run ./cmd/usersload -users 1000000 -scenarios search -d 20s
//	go run ./cmd/usersload -seed-only -users 1000000    # seeding time and memory only
//	go run ./cmd/usersload -target http://host:8080 -pbkdf2-iterations 600000
//
// Each scenario (me, get, search, update, login) runs -c clients for -d (or -n
// requests), prints a progress line per second on stderr, and ends with throughput
// and p50/p90/p99 latency on stdout, as a ratio to the baseline measured in the same
// run. docs/performance.md lists what each number means and what limits it.
//
// In process, the server and the clients share the CPUs: on a small machine the
// clients' own cost is part of every number, the baseline's included. With -target the
// baseline runs in a usersload process of its own, as the server does in its own.
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
	// As cmd/usersd does, so that the in-process server is measured as it is deployed.
	// The baseline runs under the same setting.
	auth.ServeOnAllCPUs()
	asBaselineChild()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "usersload:", err)
		os.Exit(1)
	}
}
