package auth_test

import (
	"runtime"
	"testing"

	"usersapi/auth"
)

// TestDefaultSlots covers R-SEC-5's "at most one hash per CPU": by default one CPU is
// left to everything else, and there is always at least one slot.
func TestDefaultSlots(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for procs, want := range map[int]int{1: 1, 2: 1, 4: 3, 16: 15} {
		runtime.GOMAXPROCS(procs)
		if got := auth.DefaultSlots(); got != want {
			t.Errorf("GOMAXPROCS %d: DefaultSlots() = %d, want %d", procs, got, want)
		}
		if got := auth.NewHasher(auth.HasherOptions{}).Slots(); got != want {
			t.Errorf("GOMAXPROCS %d: NewHasher's default slots %d, want %d", procs, got, want)
		}
	}
	if got := auth.NewHasher(auth.HasherOptions{Slots: 7}).Slots(); got != 7 {
		t.Errorf("Slots: 7 gives %d slots", got)
	}
}
