package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

func printJSON(w io.Writer, r Result) {
	b, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", b)
}

// printTable prints the results, each scenario with its ratio to what it is compared
// with: the baseline, or for logins the raw PBKDF2 rate.
func printTable(w io.Writer, c config, results []Result) {
	where := fmt.Sprintf("in-process server, %s store", c.store)
	if c.target != "" {
		where = "server " + c.target
	}
	how := fmt.Sprintf("%v each", c.duration)
	if c.count > 0 {
		how = fmt.Sprintf("%d requests each", c.count)
	}
	fmt.Fprintf(w, "%s\n%s; %d users with %d sessions and %d photos; %s; PBKDF2 %d iterations\n",
		machine(), where, c.users, c.sessions, c.photos, how, c.iterations)
	switch {
	case c.target != "" && c.baseline && c.baselineHere:
		fmt.Fprintln(w, "note: the baseline runs in this process and the server in another: their ratio compares unlike setups")
	case c.target != "" && c.baseline:
		fmt.Fprintln(w, "note: the baseline, like the server, runs in a process of its own")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tclients\trequests\terrors\tper second\tratio\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
	for _, r := range results {
		ratio := ""
		if r.RatioTo != "" {
			ratio = fmt.Sprintf("%.2fx %s", r.Ratio, r.RatioTo)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t\n",
			r.Scenario, r.Clients, r.Requests, r.Errors, r.PerSecond, ratio, r.P50, r.P90, r.P99, r.Max)
	}
	tw.Flush()
	for _, r := range results {
		if r.Note != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Scenario, r.Note)
		}
		if r.FirstError != "" {
			fmt.Fprintf(w, "%s: first error: %s\n", r.Scenario, r.FirstError)
		}
	}
}
