package media

import (
	"sync"
	"time"
)

// budget is a semaphore counted in bytes: the memory that the decodes running at once
// may hold together, and in decodes: how many run at once.
type budget struct {
	mu      sync.Mutex
	free    int64
	slots   int           // decodes that may still start
	changed chan struct{} // closed, and replaced, whenever free or slots grow
}

func newBudget(total int64, slots int) *budget {
	return &budget{free: total, slots: slots, changed: make(chan struct{})}
}

// acquire takes n bytes of the budget and a slot, waiting at most wait for them to be free. It
// reports whether it took them.
func (b *budget) acquire(n int64, wait time.Duration) bool {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.free >= n && b.slots > 0 {
			b.free -= n
			b.slots--
			b.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return true
		}
		changed := b.changed
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
		}
		select {
		case <-changed:
		case <-timer.C:
			return false
		}
	}
}

// release hands back n bytes and the slot taken by acquire.
func (b *budget) release(n int64) {
	b.mu.Lock()
	b.free += n
	b.slots++
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}
