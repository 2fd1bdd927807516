package main

import (
	"math/bits"
	"time"
)

// hist is a latency histogram with log-linear buckets: exact below 128 ns, then 128
// buckets per power of two, so every value is kept to within 1/128 (0.8%). Recording
// is an add to an array: each client has its own and they are merged at the end.
type hist struct {
	counts [58 << subBits]uint64
	n      uint64
	max    time.Duration
}

const subBits = 7

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1 // v>>e is in [128, 256)
	return (e+1)<<subBits + int(v>>e) - 1<<subBits
}

// bucketMid returns a value in the middle of bucket b.
func bucketMid(b int) uint64 {
	if b < 2<<subBits {
		return uint64(b)
	}
	e := b>>subBits - 1
	m := uint64(b&(1<<subBits-1) + 1<<subBits)
	return m<<e + (1<<e)/2
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the latency under which a fraction q of the values fall.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for b, c := range h.counts {
		if seen += c; seen >= rank {
			return min(time.Duration(bucketMid(b)), h.max)
		}
	}
	return h.max
}
