package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistQuantiles compares the histogram's quantiles with exact ones.
func TestHistQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h hist
	var all []time.Duration
	for range 100_000 {
		d := time.Duration(r.ExpFloat64() * float64(time.Millisecond))
		h.record(d)
		all = append(all, d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := all[int(q*float64(len(all)-1))]
		got := h.quantile(q)
		if diff := float64(got-exact) / float64(exact); diff < -0.01 || diff > 0.01 {
			t.Errorf("quantile(%v) = %v, exact %v: off by %.2f%%", q, got, exact, diff*100)
		}
	}
	if h.max != all[len(all)-1] {
		t.Errorf("max = %v, want %v", h.max, all[len(all)-1])
	}
}

// TestBuckets checks that buckets are contiguous and that every value lies in its own.
func TestBuckets(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<20; v++ {
		b := bucketOf(v)
		if b != prev && b != prev+1 {
			t.Fatalf("bucketOf(%d) = %d after %d", v, b, prev)
		}
		prev = b
	}
	for _, v := range []uint64{0, 127, 128, 255, 256, 1000, 123456789, 1 << 62, 1<<64 - 1} {
		b := bucketOf(v)
		if b >= len(hist{}.counts) {
			t.Fatalf("bucketOf(%d) = %d, beyond the histogram", v, b)
		}
		if mid := bucketMid(b); float64(mid) < float64(v)*(1-1.0/64) || float64(mid) > float64(v)*(1+1.0/64) {
			t.Errorf("bucketMid(bucketOf(%d)) = %d, too far", v, mid)
		}
	}
}
