package media_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"
	"testing"
	"time"

	"usersapi/media"
)

// TestEstimate covers R-LIM-1: the memory a decode holds is estimated from the header,
// before a byte of pixels is decoded.
func TestEstimate(t *testing.T) {
	const MiB = 1 << 20
	jpegHead := func(w, h, comps int, progressive bool, sampling []byte) []byte {
		var b bytes.Buffer
		jpegFrameHeader(&b, w, h, comps, progressive, sampling)
		jpegSegment(&b, 0xda, []byte{1, 1, 0, 0, 63, 0}) // where DecodeConfig stops
		return b.Bytes()
	}
	tests := []struct {
		name     string
		head     []byte
		min, max int64 // the estimate, in bytes
	}{
		// The bombs: far past the budget.
		{"progressive jpg, 4 components, 7071x7071", progressiveBomb(7071, 7071, 4), 1100 * MiB, 1200 * MiB},
		{"progressive jpg, 3 components, 7071x7071", progressiveBomb(7071, 7071, 3), 700 * MiB, 760 * MiB},
		{"16-bit RGBA png, 7000x7000", pngHeaderOf(7000, 7000, 16, 6, false), 370 * MiB, 380 * MiB},
		{"interlaced 16-bit RGBA png, 7000x7000", pngHeaderOf(7000, 7000, 16, 6, true), 740 * MiB, 760 * MiB},
		// Ordinary photos: within it.
		{"baseline 12 MP jpg, 4:2:0", jpegHead(4000, 3000, 3, false, []byte{0x22, 0x11, 0x11}), 17 * MiB, 18 * MiB},
		{"progressive 12 MP jpg, 4:2:0", jpegHead(4000, 3000, 3, true, []byte{0x22, 0x11, 0x11}), 85 * MiB, 87 * MiB},
		{"progressive 12 MP jpg, 4:4:4", jpegHead(4000, 3000, 3, true, nil), 171 * MiB, 172 * MiB},
		{"8-bit RGBA png, 4000x3000", pngHeaderOf(4000, 3000, 8, 6, false), 45 * MiB, 46 * MiB},
		{"16-bit RGB png, 4000x3000", pngHeaderOf(4000, 3000, 16, 2, false), 91 * MiB, 92 * MiB},
	}
	for _, tt := range tests {
		n, ok := media.Estimate(tt.head)
		if !ok || n < tt.min || n > tt.max {
			t.Errorf("%s: got %d bytes (%.1f MiB), %v; want %d..%d MiB", tt.name, n, float64(n)/MiB, ok, tt.min/MiB, tt.max/MiB)
		}
		if fits := n <= media.DefaultImageBudget; fits != (tt.max < 256*MiB) {
			t.Errorf("%s: %.1f MiB within the default budget of %d MiB: %v", tt.name, float64(n)/MiB, media.DefaultImageBudget/MiB, fits)
		}
	}
}

// TestEstimateBoundsDecode checks, image by image, that the estimate is at least what
// the decoder really allocates, and not far more.
func TestEstimateBoundsDecode(t *testing.T) {
	rgba := image.NewNRGBA64(image.Rect(0, 0, 600, 400))
	var png16, png8, jpg, jpgGray, gifData bytes.Buffer
	png.Encode(&png16, rgba)
	png.Encode(&png8, image.NewNRGBA(image.Rect(0, 0, 600, 400)))
	jpeg.Encode(&jpg, image.NewRGBA(image.Rect(0, 0, 600, 400)), nil)
	jpeg.Encode(&jpgGray, image.NewGray(image.Rect(0, 0, 600, 400)), nil)
	pal := image.NewPaletted(image.Rect(0, 0, 600, 400), color.Palette{color.Black, color.White})
	gif.Encode(&gifData, pal, nil)
	tests := []struct {
		name string
		data []byte
	}{
		{"16-bit png", png16.Bytes()},
		{"8-bit png", png8.Bytes()},
		{"baseline jpg", jpg.Bytes()},
		{"grey jpg", jpgGray.Bytes()},
		{"progressive jpg, 3 components", progressiveBomb(600, 400, 3)},
		{"progressive jpg, 4 components", progressiveBomb(600, 400, 4)},
		{"gif", gifData.Bytes()},
	}
	for _, tt := range tests {
		est, ok := media.Estimate(tt.data)
		if !ok {
			t.Errorf("%s: no estimate", tt.name)
			continue
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, _, err := image.Decode(bytes.NewReader(tt.data)); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		runtime.ReadMemStats(&after)
		got := int64(after.TotalAlloc - before.TotalAlloc)
		// The decoders' own buffers (bufio, Huffman tables, zlib's window) come on top of
		// the pixels: some tens of KB.
		if got > est+128<<10 || got < est/2 {
			t.Errorf("%s: the decoder allocated %d bytes, the estimate is %d", tt.name, got, est)
		}
	}
}

// TestPreviewBudget covers R-LIM-1: a preview past its budget is refused, previews
// share one budget, and decoding time is bounded.
func TestPreviewBudget(t *testing.T) {
	t.Run("the bombs are refused before decoding", func(t *testing.T) {
		p := media.NewPreviewer(0)
		bombs := []struct {
			name, fileType string
			data           []byte
		}{
			{"progressive jpg, 4 components", "jpg", progressiveBomb(7071, 7071, 4)},
			{"progressive jpg, 3 components", "jpg", progressiveBomb(7071, 7071, 3)},
			{"16-bit png", "png", pngHeaderOf(7000, 7000, 16, 6, false)},
		}
		for _, b := range bombs {
			if len(b.data) > 1000 {
				t.Errorf("%s: %d bytes, want a few hundred", b.name, len(b.data))
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := p.Preview(bytes.NewReader(b.data), b.fileType, io.Discard)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, media.ErrImageTooLarge) {
				t.Errorf("%s: got %v, want ErrImageTooLarge", b.name, err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("%s: refusing it allocated %d bytes", b.name, n)
			}
		}
	})
	t.Run("a preview waits for its share of the budget, for a bounded time", func(t *testing.T) {
		data := encodeImage(t, "png", testImage(400, 300))
		need, _ := media.Estimate(data)
		p := media.NewPreviewerLimits(media.Limits{ImageBudget: need, TotalBudget: need, Wait: 20 * time.Millisecond})
		first := newGate(data, 100) // the header, then nothing until opened
		done := make(chan error, 1)
		go func() {
			_, _, err := p.Preview(first, "png", io.Discard)
			done <- err
		}()
		<-first.blocked // decoding, holding the whole budget
		if _, _, err := p.Preview(bytes.NewReader(data), "png", io.Discard); !errors.Is(err, media.ErrBusy) {
			t.Errorf("while the budget is held: got %v, want ErrBusy", err)
		}

		waiting := media.NewPreviewerLimits(media.Limits{ImageBudget: need, TotalBudget: need, Wait: time.Hour})
		held := newGate(data, 100)
		go func() {
			_, _, err := waiting.Preview(held, "png", io.Discard)
			done <- err
		}()
		<-held.blocked
		second := make(chan error, 1)
		go func() {
			_, _, err := waiting.Preview(bytes.NewReader(data), "png", io.Discard)
			second <- err
		}()
		close(first.open)
		close(held.open)
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("the preview holding the budget: %v", err)
			}
		}
		if err := <-second; err != nil {
			t.Errorf("the preview that waited for the budget: got %v, want a preview", err)
		}
		if _, _, err := p.Preview(bytes.NewReader(data), "png", io.Discard); err != nil {
			t.Errorf("once the budget is handed back: got %v, want a preview", err)
		}
	})
	t.Run("at most Slots decodes run at once", func(t *testing.T) {
		data := encodeImage(t, "png", testImage(400, 300))
		p := media.NewPreviewerLimits(media.Limits{Slots: 1, Wait: 20 * time.Millisecond})
		first := newGate(data, 100)
		done := make(chan error, 1)
		go func() {
			_, _, err := p.Preview(first, "png", io.Discard)
			done <- err
		}()
		<-first.blocked
		if _, _, err := p.Preview(bytes.NewReader(data), "png", io.Discard); !errors.Is(err, media.ErrBusy) {
			t.Errorf("while the one slot is taken: got %v, want ErrBusy", err)
		}
		close(first.open)
		if err := <-done; err != nil {
			t.Errorf("the preview holding the slot: %v", err)
		}
		if _, _, err := p.Preview(bytes.NewReader(data), "png", io.Discard); err != nil {
			t.Errorf("once the slot is free: got %v, want a preview", err)
		}
	})
	t.Run("decoding time is bounded", func(t *testing.T) {
		data := encodeImage(t, "png", testImage(400, 300))
		p := media.NewPreviewerLimits(media.Limits{DecodeTime: time.Nanosecond})
		if _, _, err := p.Preview(bytes.NewReader(data), "png", io.Discard); !errors.Is(err, media.ErrDecodeTime) {
			t.Errorf("got %v, want ErrDecodeTime", err)
		}
	})
	t.Run("a jpg whose frame header is past the bytes looked at gets no preview", func(t *testing.T) {
		var b bytes.Buffer
		b.Write([]byte{0xff, 0xd8})
		for range 5 {
			jpegSegment(&b, 0xe1, make([]byte, 60000)) // 300 KB of EXIF
		}
		b.Write(encodeImage(t, "jpg", testImage(40, 30))[2:])
		if _, _, err := media.NewPreviewer(0).Preview(bytes.NewReader(b.Bytes()), "jpg", io.Discard); !errors.Is(err, media.ErrNotImage) {
			t.Errorf("got %v, want ErrNotImage", err)
		}
	})
}
