package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"

	"usersapi/users"
)

// PreviewSize is the box a preview fits in (R-UPL-3).
const PreviewSize = 350

// DefaultMaxPixels is the largest image, in pixels, that a Previewer decodes unless
// told otherwise. A small file can claim a huge image (a "decompression bomb"); this
// bounds the memory one decode takes to a few hundred MB at most.
const DefaultMaxPixels = 50_000_000

// jpegQuality is the quality of jpg previews: small files, no visible blocks.
const jpegQuality = 85

// Previewer makes previews of png, jpg and gif images (R-UPL-3) with the standard
// library's decoders and a box filter. It is safe for concurrent use, and decodes at
// most a few images at once so that a burst of large uploads cannot exhaust memory.
type Previewer struct {
	maxPixels int
	slots     chan struct{}
}

var _ users.Previewer = (*Previewer)(nil)

// NewPreviewer returns a Previewer that refuses images of more than maxPixels pixels
// (DefaultMaxPixels when maxPixels <= 0).
func NewPreviewer(maxPixels int) *Previewer {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	return &Previewer{maxPixels: maxPixels, slots: make(chan struct{}, min(2, runtime.GOMAXPROCS(0)))}
}

// ErrNotImage means the bytes are not a decodable image of the type claimed.
var ErrNotImage = errors.New("media: not an image of its type")

// ErrImageTooLarge means the image has more pixels than the Previewer decodes.
var ErrImageTooLarge = errors.New("media: image too large to preview")

// formats maps the file types that get previews to the names image.DecodeConfig
// gives their formats.
var formats = map[string]string{"png": "png", "jpg": "jpeg", "gif": "gif"}

// Preview decodes the image in r, which must really be of fileType ("png", "jpg" or
// "gif"), and writes to w the image scaled down to fit PreviewSize x PreviewSize,
// encoded as fileType. An image that fits already keeps its size. Of an animated gif,
// the preview is the first frame.
func (p *Previewer) Preview(r io.Reader, fileType string, w io.Writer) (width, height int, err error) {
	want, ok := formats[fileType]
	if !ok {
		return 0, 0, fmt.Errorf("media: no previews for %q files", fileType)
	}
	// Look at the header first: the size is known before a byte of pixels is decoded.
	r, cfg, format, err := decodeConfig(r)
	if err != nil || format != want {
		return 0, 0, ErrNotImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, ErrNotImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(p.maxPixels) {
		return 0, 0, ErrImageTooLarge
	}

	p.slots <- struct{}{}
	defer func() { <-p.slots }()
	src, _, err := image.Decode(r)
	if err != nil {
		return 0, 0, ErrNotImage
	}
	b := src.Bounds()
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return 0, 0, ErrNotImage
	}
	dw, dh := FitSize(b.Dx(), b.Dy(), PreviewSize)
	img := src
	if dw != b.Dx() || dh != b.Dy() {
		img = BoxScale(src, dw, dh)
	}
	if err := encode(w, img, src, fileType); err != nil {
		return 0, 0, err
	}
	return dw, dh, nil
}

// decodeConfig reads the image header from r and returns a reader that gives all of
// r again: r rewound if it can seek (a file), else what was read followed by the rest.
func decodeConfig(r io.Reader) (io.Reader, image.Config, string, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			cfg, format, err := image.DecodeConfig(rs)
			if err != nil {
				return nil, cfg, format, err
			}
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return nil, cfg, format, err
			}
			return rs, cfg, format, nil
		}
	}
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(r, &head))
	return io.MultiReader(&head, r), cfg, format, err
}

// encode writes img as fileType. src is the decoded original, whose palette a gif
// preview keeps.
func encode(w io.Writer, img, src image.Image, fileType string) error {
	switch fileType {
	case "png":
		return png.Encode(w, img)
	case "jpg":
		return jpeg.Encode(w, img, &jpeg.Options{Quality: jpegQuality})
	case "gif":
		if _, ok := img.(*image.Paletted); !ok {
			pal := palette.Plan9
			if sp, ok := src.(*image.Paletted); ok {
				pal = sp.Palette
			}
			dst := image.NewPaletted(img.Bounds(), pal)
			draw.FloydSteinberg.Draw(dst, dst.Rect, img, img.Bounds().Min)
			img = dst
		}
		return gif.Encode(w, img, nil)
	}
	return fmt.Errorf("media: cannot encode %q", fileType)
}

// FitSize returns the size of the preview of a w x h image in a box x box square
// (R-UPL-3): an image larger than box on its long side is scaled so that the long side
// is box and the short side is round(short * box / long), at least 1; a smaller one
// keeps its size.
func FitSize(w, h, box int) (int, int) {
	if w <= box && h <= box {
		return w, h
	}
	scale := func(short, long int) int {
		// round(short*box/long), halves up, in integers: no float can be off by one.
		n := int((2*int64(short)*int64(box) + int64(long)) / (2 * int64(long)))
		return max(n, 1)
	}
	if w >= h {
		return box, scale(h, w)
	}
	return scale(w, h), box
}
