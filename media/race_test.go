//go:build race

package media_test

// raceEnabled: the race detector multiplies memory use, so peak RSS is not measured.
const raceEnabled = true
