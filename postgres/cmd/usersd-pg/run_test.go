package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestBadDatabase: a missing, unreachable or unknown database stops the start with a
// message naming it and the cause.
func TestBadDatabase(t *testing.T) {
	none := func(string) string { return "" }
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"-db (or USERSD_DB) must name"}},
		{[]string{"-db", "postgres://someone@127.0.0.1:1/usersd"}, []string{"127.0.0.1:1", `database "usersd"`, "connection refused"}},
		{[]string{"-db", "postgres://someone@127.0.0.1:1/usersd?connect_timeout=x"}, []string{"not valid"}},
	} {
		err := run(context.Background(), append([]string{"usersd-pg", "-addr", "127.0.0.1:0"}, tt.args...), none, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("run %q: started, want an error", tt.args)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("run %q: %v\nwant it to say %q", tt.args, err, w)
			}
		}
	}
}
