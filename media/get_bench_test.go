package media_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"usersapi/media"
)

// BenchmarkGetDuringPreviews measures the latency of small GETs served by the same
// process while four goroutines make previews (R-LIM-1): of the bombs, which the budget
// refuses from their header, up to a thousand a second each (far more than uploads,
// each synced to disk, arrive at); and of the largest images that pass it, without
// pause, which are decoded. "quiet" is the baseline of the same run. One op is one GET;
// the p50 and p99 of its latency are reported.
//
//	go test -run '^$' -bench GetDuringPreviews -benchtime 2000x ./media
func BenchmarkGetDuringPreviews(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": 1, "name": "Alice", "username": "alice", "photos": []}`)
	}))
	defer srv.Close()
	bombs := []rssFile{bombJPEG4(), bombJPEG3(), {"png", pngHeaderOf(7000, 7000, 16, 6, false)}, bombJPEG4()}
	largest := times(4, atBudget)()
	for _, bc := range []struct {
		name  string
		files []rssFile
		pause time.Duration // between two previews of one goroutine
	}{
		{"quiet", nil, 0},
		{"bombs", bombs, time.Millisecond},
		{"largest", largest, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := media.NewPreviewer(0)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for _, f := range bc.files {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						p.Preview(bytes.NewReader(f.data), f.fileType, io.Discard)
						if bc.pause > 0 {
							time.Sleep(bc.pause)
						}
					}
				})
			}
			client := srv.Client()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				res, err := client.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
