package storage_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"usersapi/storage"
	"usersapi/users"
)

// Benchmarks of docs/performance.md, section "File store". The big ones seed a data
// folder of up to a million users once per process with storage.WriteFolder.

var (
	seedMu   sync.Mutex
	seedDirs = map[int]string{}
	seedRoot string
)

// seedKeepEnv names a folder where seeded data folders are kept between runs, to save
// the seeding time when benchmarks are run again. Without it they go at the end.
const seedKeepEnv = "USERSAPI_STORAGE_BENCH_DIR"

func TestMain(m *testing.M) {
	code := m.Run()
	if seedRoot != "" && os.Getenv(seedKeepEnv) == "" {
		os.RemoveAll(seedRoot)
	}
	os.Exit(code)
}

// benchHash is one precomputed password hash shared by every seeded user, shaped like
// the real ones (R-SEC-1), so that seeding does not spend minutes hashing.
const benchHash = "pbkdf2-sha256$600000$c2VlZHNhbHRzZWVkc2FsdA$6w0VvJm1sS2b3XkqzYz0b1yY8mF0a9rT0e2p3L4t5Q8"

var firstNames = []string{"Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah",
	"Charlotte", "Mateo", "Ava", "Lucas", "Mia", "Levi", "Isabella", "Ezra", "Zoë", "Jürgen", "Łukasz", "Søren"}
var lastNames = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
	"Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
	"Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sánchez", "Müller"}

// benchUser returns the i-th seeded user and its session, as a client would make them.
func benchUser(i int) (users.User, users.Session) {
	first := firstNames[i%len(firstNames)]
	last := lastNames[(i/len(firstNames))%len(lastNames)]
	username := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r
		}
		return -1
	}, strings.ToLower(first))
	for len(username) < 3 {
		username += "x"
	}
	username += strconv.Itoa(i)
	u := users.User{Name: first + " " + last, Username: username, PasswordHash: benchHash, CreatedAt: t0}
	s := users.Session{
		ID:        fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
		TokenHash: fmt.Sprintf("%064x", uint64(i)*0x9e3779b97f4a7c15),
		IPAddress: "203.0.113.7",
		CreatedAt: t0,
		UpdatedAt: t0,
		Device: users.DeviceInfo{ID: fmt.Sprintf("%08x-1111-4000-8000-%012x", i, i), Name: "Phone", Model: "iPhone15,2",
			Token: fmt.Sprintf("%064x", uint64(i)*0x2545f4914f6cdd1d), Transport: "apns"},
	}
	return u, s
}

// seedMemory returns a memory store of n users, each with one session.
func seedMemory(tb testing.TB, n int) *storage.Memory {
	tb.Helper()
	m := storage.NewMemory()
	for i := range n {
		u, s := benchUser(i)
		if _, err := m.CreateUser(ctx, u, s); err != nil {
			tb.Fatal(err)
		}
	}
	return m
}

// seededDir returns a data folder of n users made once per process.
func seededDir(tb testing.TB, n int) string {
	tb.Helper()
	seedMu.Lock()
	defer seedMu.Unlock()
	if dir, ok := seedDirs[n]; ok {
		return dir
	}
	if keep := os.Getenv(seedKeepEnv); keep != "" {
		dir := filepath.Join(keep, strconv.Itoa(n))
		if _, err := os.Stat(filepath.Join(dir, "snapshot.jsonl")); err == nil {
			seedDirs[n] = dir
			return dir
		}
		seedRoot = keep
	}
	if seedRoot == "" {
		root, err := os.MkdirTemp("", "usersapi-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		seedRoot = root
	}
	start := time.Now()
	m := seedMemory(tb, n)
	dir := filepath.Join(seedRoot, strconv.Itoa(n))
	if err := storage.WriteFolder(dir, m); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d users in %v", n, time.Since(start).Round(time.Millisecond))
	seedDirs[n] = dir
	runtime.GC()
	return dir
}

var sizes = []int{1_000, 1_000_000}

// BenchmarkUpdateUser is one profile change (a new About, R-UPD-1) on a store of 1,000
// and of 1,000,000 users: its cost must not grow with the number of users (R-STO-3).
func BenchmarkUpdateUser(b *testing.B) {
	for _, kind := range []string{"file", "memory"} {
		for _, n := range sizes {
			b.Run(fmt.Sprintf("store=%s/users=%d", kind, n), func(b *testing.B) {
				var s users.Store
				if kind == "file" {
					s = openFile(b, seededDir(b, n), nil)
				} else {
					s = seedMemory(b, n)
				}
				defer s.Close()
				runtime.GC() // the collection that follows a load is not the writes'
				rng := rand.New(rand.NewPCG(1, 2))
				i := 0
				for b.Loop() {
					i++
					about := "about " + strconv.Itoa(i)
					if err := s.UpdateUser(ctx, 1+rng.Int64N(int64(n)), users.UserUpdate{About: &about}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDurableWrites is the throughput of 64 concurrent writers changing profiles,
// file store against memory store: group commit makes them share fsyncs (R-STO-3).
func BenchmarkDurableWrites(b *testing.B) {
	const n = 10_000
	for _, kind := range []string{"memory", "file"} {
		b.Run("store="+kind+"/writers=64", func(b *testing.B) {
			var s users.Store
			if kind == "file" {
				dir := b.TempDir()
				if err := storage.WriteFolder(dir, seedMemory(b, n)); err != nil {
					b.Fatal(err)
				}
				s = openFile(b, dir, nil)
			} else {
				s = seedMemory(b, n)
			}
			defer s.Close()
			b.SetParallelism((64 + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			var seed atomic.Uint64
			syncs := int64(0)
			if f, ok := s.(*storage.File); ok {
				syncs = storage.Syncs(f)
				defer func() { b.ReportMetric(float64(b.N)/float64(storage.Syncs(f)-syncs), "writes/sync") }()
			}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(seed.Add(1), 7))
				i := 0
				for pb.Next() {
					i++
					about := "about " + strconv.Itoa(i)
					if err := s.UpdateUser(ctx, 1+rng.Int64N(n), users.UserUpdate{About: &about}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkSearch runs R-SRCH-1 searches on 100,000 and 1,000,000 users, reporting the
// median and 99th percentile besides the mean.
func BenchmarkSearch(b *testing.B) {
	queries := []struct{ name, q string }{
		{"exact", "olivia500000"},
		{"prefix", "emma"},
		{"name", "smith"},
		{"unicode", "müller"},
		{"rare", "zq"},
		{"none", "qqq"},
	}
	for _, n := range []int{100_000, 1_000_000} {
		m := seedMemory(b, n)
		for _, q := range queries {
			b.Run(fmt.Sprintf("users=%d/q=%s", n, q.name), func(b *testing.B) {
				var times []time.Duration
				for b.Loop() {
					start := time.Now()
					if _, err := m.SearchUsers(ctx, q.q, 50); err != nil {
						b.Fatal(err)
					}
					times = append(times, time.Since(start))
				}
				reportPercentiles(b, times)
			})
		}
		m = nil
		runtime.GC()
	}
}

func reportPercentiles(b *testing.B, times []time.Duration) {
	slices.Sort(times)
	p := func(q float64) float64 {
		return float64(times[min(len(times)-1, int(q*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkCompact compacts a store of a million users while one writer keeps changing
// profiles, and reports the longest that writer waited for one write (max-write-ms) and
// how long the compaction held the write lock (paused-ms, from its log line) (R-STO-3).
func BenchmarkCompact(b *testing.B) {
	n := 1_000_000
	var logs syncBuffer
	s := openFile(b, seededDir(b, n), &storage.FileOptions{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	defer s.Close()
	runtime.GC() // the collection that follows a load is not the compaction's
	var worst time.Duration
	for b.Loop() {
		done := make(chan struct{})
		var longest atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				about := "about " + strconv.Itoa(i)
				start := time.Now()
				if err := s.UpdateUser(ctx, int64(1+i%n), users.UserUpdate{About: &about}); err != nil {
					b.Error(err)
					return
				}
				if d := int64(time.Since(start)); d > longest.Load() {
					longest.Store(d)
				}
			}
		})
		if err := s.Compact(); err != nil {
			b.Fatal(err)
		}
		close(done)
		wg.Wait()
		worst = max(worst, time.Duration(longest.Load()))
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-write-ms")
	var paused time.Duration
	for _, m := range regexp.MustCompile(`writersPaused=(\S+)`).FindAllStringSubmatch(logs.String(), -1) {
		d, _ := time.ParseDuration(m[1])
		paused = max(paused, d)
	}
	b.ReportMetric(float64(paused.Microseconds())/1000, "paused-ms")
}

const openDirEnv = "USERSAPI_STORAGE_OPEN_DIR"

// TestOpenChild is BenchmarkOpen's child: it opens the store and prints how long that
// took and how much memory the process then holds. It does nothing in a normal run.
func TestOpenChild(t *testing.T) {
	dir := os.Getenv(openDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of BenchmarkOpen")
	}
	cpu0 := cpuTime()
	start := time.Now()
	s, err := storage.OpenFile(dir, &storage.FileOptions{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	cpu := cpuTime() - cpu0
	rss := vmRSS()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("OPEN %d %d %d %d\n", took.Nanoseconds(), rss, ms.HeapAlloc>>10, cpu.Nanoseconds())
	t.Logf("open %v (CPU %v), VmRSS %d MiB, heap %d MiB of which %d MiB live, %d GCs, GC CPU fraction %.2f",
		took.Round(time.Millisecond), cpu.Round(time.Millisecond), rss>>10, before.HeapAlloc>>20, ms.HeapAlloc>>20, ms.NumGC, ms.GCCPUFraction)
	s.Close()
}

// BenchmarkOpen opens the store of a million users in a fresh process, which holds
// nothing else, and reports how long OpenFile took (open-s) and how much CPU time it
// used (open-cpu-s, less sensitive to other load on the machine), the resident memory right
// after it (RSS-MiB, from /proc/self/status VmRSS) and the live heap after a collection
// (heap-MiB).
func BenchmarkOpen(b *testing.B) {
	dir := seededDir(b, 1_000_000)
	var took, rss, heap, cpu []float64
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOpenChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), openDirEnv+"="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		i := strings.Index(string(out), "OPEN ")
		if i < 0 {
			b.Fatalf("child said:\n%s", out)
		}
		var ns, rssKiB, heapKiB, cpuNs int64
		fmt.Sscanf(string(out[i:]), "OPEN %d %d %d %d", &ns, &rssKiB, &heapKiB, &cpuNs)
		took = append(took, float64(ns)/1e9)
		cpu = append(cpu, float64(cpuNs)/1e9)
		rss = append(rss, float64(rssKiB)/1024)
		heap = append(heap, float64(heapKiB)/1024)
	}
	b.ReportMetric(slices.Max(took), "open-s")
	b.ReportMetric(slices.Max(cpu), "open-cpu-s")
	b.ReportMetric(slices.Max(rss), "RSS-MiB")
	b.ReportMetric(slices.Max(heap), "heap-MiB")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func vmRSS() (kib int64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ = strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return kib
}
