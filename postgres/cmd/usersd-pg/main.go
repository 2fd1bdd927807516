// Command usersd-pg serves the Users API with its state in PostgreSQL, so that several
// instances on one database act as one server (R-STO-6).
//
//	cd postgres && go build ./cmd/usersd-pg
//	./usersd-pg -db postgres://usersd@localhost/usersd -addr :8080
//
// It is usersd (internal/daemon) with every flag of it and their environment
// fallbacks, plus -db (USERSD_DB), and -store defaulting to postgres. The first line on
// stdout is the URL it listens on.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"usersapi/auth"
	"usersapi/internal/daemon"
	"usersapi/postgres"
	"usersapi/users"
)

func main() {
	auth.ServeOnAllCPUs()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "usersd-pg:", err)
		os.Exit(1)
	}
}

// run serves the API on the database that -db names until ctx is done.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return daemon.Run(ctx, args, getenv, stdout, stderr, backend())
}

// backend keeps everything servers must share in the database: users and sessions,
// the throttles, the upload lock and the uploaded files.
func backend() daemon.Backend {
	var url string
	return daemon.Backend{
		Name: "postgres",
		Flags: func(fs *flag.FlagSet, getenv func(string) string) error {
			fs.StringVar(&url, "db", getenv("USERSD_DB"), "PostgreSQL URL, such as postgres://usersd@localhost/usersd (env USERSD_DB)")
			return nil
		},
		Open: func(ctx context.Context, log *slog.Logger) (daemon.State, error) {
			if url == "" {
				return daemon.State{}, errors.New("-db (or USERSD_DB) must name the PostgreSQL database, such as postgres://usersd@localhost/usersd")
			}
			s, err := postgres.Open(ctx, url, &postgres.Options{Logger: log})
			if err != nil {
				return daemon.State{}, err
			}
			pool := s.Pool()
			return daemon.State{
				Store:            s,
				Files:            postgres.NewFiles(pool),
				PasswordThrottle: postgres.NewThrottle(pool, "password", users.MaxFailures, users.FailureWindow),
				KeyThrottle:      postgres.NewThrottle(pool, "key", users.MaxFailures, users.FailureWindow),
				UploadLock:       postgres.NewLock(pool),
			}, nil
		},
	}
}
