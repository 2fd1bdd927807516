package media

import (
	"bytes"
	"image"
)

// Estimate is estimate for the tests: what decoding the image whose first bytes are
// head holds in memory.
func Estimate(head []byte) (int64, bool) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(head))
	if err != nil {
		return 0, false
	}
	return estimate(head, cfg, format)
}
