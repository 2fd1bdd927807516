package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"usersapi/auth"
	"usersapi/httpapi"
	"usersapi/storage"
	"usersapi/users"
)

// BenchmarkLoginStorm measures R-SEC-5's promise that reads keep being served while
// logins hammer the server: GET /users/me latency (p50, p99) with nothing else going
// on ("idle") and while 4×NumCPU clients log in back to back with the real default
// cost of 600,000 PBKDF2 iterations ("storm"), with the default number of hashing
// slots and with one per CPU. It is a measurement, not a test: run it with a fixed
// count so every phase has enough samples, e.g.
//
//	go test -run='^$' -bench=LoginStorm -benchtime=2000x ./httpapi
//
// The server, the storm and the reader share the process (and its CPUs), as a server
// and its connections' goroutines do.
func BenchmarkLoginStorm(b *testing.B) {
	b.Run("idle", func(b *testing.B) {
		s := newStormServer(b, 0)
		s.report(b, s.read(b))
	})
	// The default leaves one CPU to everything else; with a slot per CPU, every CPU
	// can be busy hashing.
	for _, slots := range slices.Compact([]int{auth.DefaultSlots(), runtime.GOMAXPROCS(0)}) {
		b.Run(fmt.Sprintf("storm/slots=%d", slots), func(b *testing.B) {
			s := newStormServer(b, slots)
			s.storm(b, 4*runtime.NumCPU())
		})
	}
	// cmd/usersd runs with one processor more than there are CPUs, so the default
	// gives a slot per CPU and still leaves a processor to everything else.
	cpus := runtime.GOMAXPROCS(0)
	b.Run(fmt.Sprintf("storm/slots=%d/gomaxprocs=%d", cpus, cpus+1), func(b *testing.B) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(cpus + 1))
		s := newStormServer(b, auth.DefaultSlots())
		s.storm(b, 4*runtime.NumCPU())
	})
}

// stormServer is a server with the default hashing cost and one registered user.
type stormServer struct {
	url                string
	username, password string
	token              string
	reader             *http.Client
}

func newStormServer(b *testing.B, slots int) *stormServer {
	store := storage.NewMemory()
	hasher := auth.NewHasher(auth.HasherOptions{Slots: slots}) // DefaultIterations
	svc := users.NewService(users.Config{Store: store, Hasher: hasher, Tokens: auth.Tokens{}})
	srv := httptest.NewServer(httpapi.NewServer(svc, httpapi.Options{}))
	b.Cleanup(srv.Close)
	s := &stormServer{url: srv.URL, username: "stormuser", password: "correct horse"}
	dev := users.DeviceInfo{ID: users.NewUUID()}
	info, err := svc.Register(context.Background(), users.RegisterRequest{Name: &s.username, Username: &s.username, Password: &s.password, DeviceInfo: &dev}, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	s.token = info.DeviceSessions[0].AccessToken
	s.reader = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	b.Cleanup(s.reader.CloseIdleConnections)
	return s
}

// read sends GET /users/me b.N times, one after another, and returns the latencies.
func (s *stormServer) read(b *testing.B) []time.Duration {
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		req, _ := http.NewRequest("GET", s.url+"/users/me", nil)
		req.Header.Set("Authorization", "Bearer "+s.token)
		start := time.Now()
		res, err := s.reader.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		lat = append(lat, time.Since(start))
		if res.StatusCode != 200 {
			b.Fatalf("GET /users/me: %d", res.StatusCode)
		}
	}
	return lat
}

// report turns latencies into the benchmark's metrics, in milliseconds.
func (s *stormServer) report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
	b.ReportMetric(0, "ns/op")
}

// storm has clients log in back to back, each from its own device, while read runs.
func (s *stormServer) storm(b *testing.B, clients int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer client.CloseIdleConnections()
	var logins, busy, other atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		device := `{"deviceInfo":{"id":"` + users.NewUUID() + `"}}`
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", s.url+"/users/login", strings.NewReader(device))
				req.Header.Set("Content-Type", "application/json")
				req.SetBasicAuth(s.username, s.password)
				res, err := client.Do(req)
				if err != nil {
					other.Add(1)
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				switch res.StatusCode {
				case 200:
					logins.Add(1)
				case 503:
					busy.Add(1)
				default:
					other.Add(1)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond) // let the storm take every slot and queue up
	started := time.Now()
	before, busyBefore := logins.Load(), busy.Load()
	lat := s.read(b)
	elapsed := time.Since(started)
	done, refused := logins.Load()-before, busy.Load()-busyBefore
	close(stop)
	wg.Wait()
	s.report(b, lat)
	b.ReportMetric(float64(done)/elapsed.Seconds(), "logins/s")
	b.ReportMetric(float64(refused)/elapsed.Seconds(), "503s/s")
	if n := other.Load(); n > 0 {
		b.Errorf("%d logins failed otherwise than with 503", n)
	}
}
