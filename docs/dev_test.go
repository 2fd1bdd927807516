package docs_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"usersapi/httpapi"
)

// TestDevForcibleStatuses checks that the statuses the test mode lets Prefer: code=
// force on each route (httpapi.ForcibleStatuses) are exactly the error statuses
// openapi.json lists for its operation, HEAD's too, and that the document still says
// that every known path gives 405 to another method, which the test mode adds to
// every route.
func TestDevForcibleStatuses(t *testing.T) {
	doc := loadOpenAPI(t)
	table := httpapi.ForcibleStatuses()
	ops := map[string]operation{}
	for _, o := range doc.operations(t) {
		ops[o.String()] = o
	}
	for _, route := range httpapi.Routes() {
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(path, "{$}", "")
		keys := []string{method + " " + path}
		if _, ok := ops["HEAD "+path]; ok && method == "GET" {
			keys = append(keys, "HEAD "+path)
		}
		codes, ok := table[route]
		if !ok {
			t.Errorf("%s: not in httpapi's table of forcible statuses", route)
			continue
		}
		for _, key := range keys {
			o, ok := ops[key]
			if !ok {
				continue // TestOpenAPIRoutes names it
			}
			var want []int
			for code := range o.op["responses"].(map[string]any) {
				if n, err := strconv.Atoi(code); err == nil && n >= 400 {
					want = append(want, n)
				}
			}
			slices.Sort(want)
			if got := slices.Sorted(slices.Values(codes)); !slices.Equal(got, want) {
				t.Errorf("%s: httpapi can force %v, openapi.json lists the errors %v", key, got, want)
			}
		}
		delete(table, route)
	}
	for route := range table {
		t.Errorf("httpapi's table of forcible statuses has %s, which is no route", route)
	}
	info, _ := doc["info"].(map[string]any)
	if d, _ := info["description"].(string); !strings.Contains(d, "a known path with another method 405 with Allow") {
		t.Error("openapi.json's description no longer says that every known path gives 405 with Allow, which httpapi/dev.go lets every route force")
	}
}
