package media_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"slices"
	"testing"

	"usersapi/media"
)

// TestFitSize covers the preview size of R-UPL-3.
func TestFitSize(t *testing.T) {
	tests := []struct{ w, h, wantW, wantH int }{
		{1200, 800, 350, 233},
		{800, 1200, 233, 350},
		{1000, 1000, 350, 350},
		{351, 350, 350, 349},
		{700, 1, 350, 1},
		{2, 10000, 1, 350}, // round(0.07) is 0, but a side is at least 1
		{1400, 3, 350, 1},  // 0.75 rounds to 1
		{1400, 2, 350, 1},  // 0.5 rounds up
		{350, 350, 350, 350},
		{100, 50, 100, 50},
		{1, 1, 1, 1},
	}
	for _, tt := range tests {
		if w, h := media.FitSize(tt.w, tt.h, 350); w != tt.wantW || h != tt.wantH {
			t.Errorf("FitSize(%d, %d, 350): got %dx%d, want %dx%d", tt.w, tt.h, w, h, tt.wantW, tt.wantH)
		}
	}
}

func TestBoxScale(t *testing.T) {
	t.Run("each pixel is the mean of its block", func(t *testing.T) {
		// 3x2 to 2x1: columns {0,1} and {2}, both rows.
		src := image.NewRGBA(image.Rect(0, 0, 3, 2))
		src.Set(0, 0, color.RGBA{0, 0, 0, 255})
		src.Set(1, 0, color.RGBA{100, 0, 0, 255})
		src.Set(0, 1, color.RGBA{200, 0, 0, 255})
		src.Set(1, 1, color.RGBA{100, 0, 0, 255})
		src.Set(2, 0, color.RGBA{0, 10, 0, 255})
		src.Set(2, 1, color.RGBA{0, 20, 0, 255})
		got := media.BoxScale(src, 2, 1)
		if c := got.RGBAAt(0, 0); c != (color.RGBA{100, 0, 0, 255}) {
			t.Errorf("pixel 0: got %v, want {100 0 0 255}", c)
		}
		if c := got.RGBAAt(1, 0); c != (color.RGBA{0, 15, 0, 255}) {
			t.Errorf("pixel 1: got %v, want {0 15 0 255}", c)
		}
	})
	t.Run("transparent pixels add no colour", func(t *testing.T) {
		src := image.NewNRGBA(image.Rect(0, 0, 2, 1))
		src.Set(0, 0, color.NRGBA{255, 0, 0, 255})
		src.Set(1, 0, color.NRGBA{0, 255, 0, 0})
		c := color.NRGBAModel.Convert(media.BoxScale(src, 1, 1).At(0, 0)).(color.NRGBA)
		if c.R < 250 || c.G != 0 || c.A != 128 {
			t.Errorf("got %v, want about {255 0 0 128}", c)
		}
	})
	t.Run("an image not at the origin, wider than one strip", func(t *testing.T) {
		src := image.NewGray(image.Rect(-5000, 10, 5000, 30))
		for i := range src.Pix {
			src.Pix[i] = 200
		}
		got := media.BoxScale(src, 350, 1)
		for x := 0; x < 350; x++ {
			if c := got.RGBAAt(x, 0); c != (color.RGBA{200, 200, 200, 255}) {
				t.Fatalf("pixel %d: got %v, want {200 200 200 255}", x, c)
			}
		}
	})
}

// testImage returns a w x h picture with some structure, so encoders have work to do.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	return img
}

func encodeImage(t *testing.T, fileType string, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch fileType {
	case "png":
		err = png.Encode(&buf, img)
	case "jpg":
		err = jpeg.Encode(&buf, img, nil)
	case "gif":
		if _, ok := img.(*image.Paletted); !ok {
			// Index the colours directly: quantizing would only slow the tests.
			b := img.Bounds()
			pal := image.NewPaletted(b, palette.Plan9)
			for i := range pal.Pix {
				pal.Pix[i] = uint8(i * 7 % 256)
			}
			img = pal
		}
		err = gif.Encode(&buf, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPreview covers R-UPL-3.
func TestPreview(t *testing.T) {
	p := media.NewPreviewer(0)
	tests := []struct {
		fileType     string
		w, h         int
		wantW, wantH int
	}{
		{"png", 1200, 800, 350, 233},
		{"png", 800, 1200, 233, 350},
		{"jpg", 1200, 800, 350, 233},
		{"jpg", 800, 1200, 233, 350},
		{"gif", 1200, 800, 350, 233}, // gifs are made paletted, see encodeImage
		{"png", 120, 80, 120, 80},    // smaller: kept at its size
		{"jpg", 350, 20, 350, 20},
		{"gif", 1, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %dx%d", tt.fileType, tt.w, tt.h), func(t *testing.T) {
			data := encodeImage(t, tt.fileType, testImage(tt.w, tt.h))
			var out bytes.Buffer
			w, h, err := p.Preview(bytes.NewReader(data), tt.fileType, &out)
			if err != nil {
				t.Fatalf("Preview: %v", err)
			}
			if w != tt.wantW || h != tt.wantH {
				t.Errorf("size: got %dx%d, want %dx%d", w, h, tt.wantW, tt.wantH)
			}
			cfg, format, err := image.DecodeConfig(&out)
			if err != nil {
				t.Fatalf("the preview does not decode: %v", err)
			}
			want := map[string]string{"png": "png", "jpg": "jpeg", "gif": "gif"}[tt.fileType]
			if format != want || cfg.Width != tt.wantW || cfg.Height != tt.wantH {
				t.Errorf("preview: got %s %dx%d, want %s %dx%d", format, cfg.Width, cfg.Height, want, tt.wantW, tt.wantH)
			}
		})
	}
	t.Run("a reader that cannot seek", func(t *testing.T) {
		data := encodeImage(t, "png", testImage(1200, 800))
		w, h, err := p.Preview(struct{ io.Reader }{bytes.NewReader(data)}, "png", io.Discard)
		if err != nil || w != 350 || h != 233 {
			t.Errorf("got %dx%d, %v; want 350x233, nil", w, h, err)
		}
	})
	t.Run("a gif keeps its palette", func(t *testing.T) {
		src := image.NewPaletted(image.Rect(0, 0, 700, 700), palette.WebSafe)
		for i := range src.Pix {
			src.Pix[i] = uint8(i % len(palette.WebSafe))
		}
		data := encodeImage(t, "gif", src)
		orig, err := gif.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if _, _, err := p.Preview(bytes.NewReader(data), "gif", &out); err != nil {
			t.Fatal(err)
		}
		g, err := gif.Decode(&out)
		if err != nil {
			t.Fatal(err)
		}
		want := orig.(*image.Paletted).Palette
		if got := g.(*image.Paletted).Palette; !slices.Equal(got, want) {
			t.Errorf("palette: got %d colours, want the original %d", len(got), len(want))
		}
	})
	t.Run("not an image fails", func(t *testing.T) {
		for _, data := range [][]byte{nil, []byte("hello, world"), []byte("\x89PNG\r\n\x1a\n garbage")} {
			if _, _, err := p.Preview(bytes.NewReader(data), "png", io.Discard); !errors.Is(err, media.ErrNotImage) {
				t.Errorf("Preview(%q): got %v, want ErrNotImage", data, err)
			}
		}
	})
	t.Run("an image of another type than claimed fails", func(t *testing.T) {
		data := encodeImage(t, "png", testImage(10, 10))
		if _, _, err := p.Preview(bytes.NewReader(data), "jpg", io.Discard); !errors.Is(err, media.ErrNotImage) {
			t.Errorf("png as jpg: got %v, want ErrNotImage", err)
		}
		if _, _, err := p.Preview(bytes.NewReader(data), "webp", io.Discard); err == nil {
			t.Error("webp: got nil, want an error")
		}
	})
	t.Run("a truncated image fails", func(t *testing.T) {
		data := encodeImage(t, "png", testImage(500, 500))
		if _, _, err := p.Preview(bytes.NewReader(data[:len(data)/2]), "png", io.Discard); !errors.Is(err, media.ErrNotImage) {
			t.Errorf("got %v, want ErrNotImage", err)
		}
	})
	t.Run("a decompression bomb is refused before decoding", func(t *testing.T) {
		// A few dozen bytes that claim 100000x100000 pixels: 40 GB once decoded.
		var out bytes.Buffer
		_, _, err := p.Preview(bytes.NewReader(pngHeader(100_000, 100_000)), "png", &out)
		if !errors.Is(err, media.ErrImageTooLarge) {
			t.Errorf("got %v, want ErrImageTooLarge", err)
		}
		small := media.NewPreviewer(100 * 100)
		data := encodeImage(t, "png", testImage(101, 100))
		if _, _, err := small.Preview(bytes.NewReader(data), "png", io.Discard); !errors.Is(err, media.ErrImageTooLarge) {
			t.Errorf("101x100 with a limit of 100x100 pixels: got %v, want ErrImageTooLarge", err)
		}
	})
}

// pngHeader returns the signature and header chunk of a w x h RGBA png, and no pixels.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8 bits, RGBA
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}
