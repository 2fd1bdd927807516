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
	"runtime/debug"
	"time"

	"usersapi/users"
)

// PreviewSize is the box a preview fits in (R-UPL-3).
const PreviewSize = 350

// DefaultMaxPixels is the largest image, in pixels, that a Previewer decodes unless
// told otherwise, whatever its memory estimate.
const DefaultMaxPixels = 50_000_000

// Default limits of a Previewer (R-LIM-1); docs/security.md lists them with what they
// were measured to hold.
const (
	// DefaultImageBudget is the most memory, in bytes, that the decoder may hold for one
	// image, as estimated from its header: enough for a 12-megapixel progressive jpg
	// (about 180 MiB) and a 4000x3000 16-bit png (96 MiB).
	DefaultImageBudget = 192 << 20
	// DefaultTotalBudget is the most that all previews being made hold together.
	DefaultTotalBudget = 384 << 20
	// DefaultWait is how long a preview waits for its share of the total budget before
	// it is given up (the upload then has no preview).
	DefaultWait = 10 * time.Second
	// DefaultDecodeTime bounds the reading of one image by its decoder: past it, the
	// decoder's next read fails and the upload has no preview.
	DefaultDecodeTime = 10 * time.Second
)

// freeAfter is the estimate past which a decode hands its memory back to the operating
// system when it ends, instead of leaving it to the runtime's own pace.
const freeAfter = 32 << 20

// jpegQuality is the quality of jpg previews: small files, no visible blocks.
const jpegQuality = 85

// Limits bound the previews a Previewer makes. A zero field takes its default.
type Limits struct {
	MaxPixels   int           // pixels of one image (DefaultMaxPixels)
	ImageBudget int64         // bytes the decoder may hold for one image (DefaultImageBudget)
	TotalBudget int64         // bytes all decodes hold together (DefaultTotalBudget)
	Slots       int           // decodes at once (one fewer than GOMAXPROCS, at least 1)
	Wait        time.Duration // longest wait for a share of TotalBudget (DefaultWait)
	DecodeTime  time.Duration // longest time the decoder reads one image (DefaultDecodeTime)
}

// Previewer makes previews of png, jpg and gif images (R-UPL-3) with the standard
// library's decoders and a box filter. It is safe for concurrent use.
//
// Before decoding, it estimates from the image's header the memory the decoder will
// hold (pixels, components, bit depth, the coefficients of a progressive jpg), and
// refuses the image if that is past the per-image budget. Decodes that run at once
// share one total budget, a semaphore counted in bytes and in decodes: a decode waits
// for its share for a bounded time, or is given up (R-LIM-1).
type Previewer struct {
	limits Limits
	budget *budget
}

var _ users.Previewer = (*Previewer)(nil)

// NewPreviewer returns a Previewer with the default limits, but refusing images of more
// than maxPixels pixels (DefaultMaxPixels when maxPixels <= 0).
func NewPreviewer(maxPixels int) *Previewer {
	return NewPreviewerLimits(Limits{MaxPixels: maxPixels})
}

// NewPreviewerLimits returns a Previewer with the limits l.
func NewPreviewerLimits(l Limits) *Previewer {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.ImageBudget <= 0 {
		l.ImageBudget = DefaultImageBudget
	}
	if l.TotalBudget <= 0 {
		l.TotalBudget = DefaultTotalBudget
	}
	l.TotalBudget = max(l.TotalBudget, l.ImageBudget) // every image that fits can run
	if l.Slots <= 0 {
		// A decode keeps a processor busy for up to a second or two: one processor is
		// left for the requests that are served meanwhile.
		l.Slots = max(1, runtime.GOMAXPROCS(0)-1)
	}
	if l.Wait <= 0 {
		l.Wait = DefaultWait
	}
	if l.DecodeTime <= 0 {
		l.DecodeTime = DefaultDecodeTime
	}
	return &Previewer{limits: l, budget: newBudget(l.TotalBudget, l.Slots)}
}

// Limits returns the Previewer's limits, defaults filled in.
func (p *Previewer) Limits() Limits { return p.limits }

// ErrNotImage means the bytes are not a decodable image of the type claimed.
var ErrNotImage = errors.New("media: not an image of its type")

// ErrImageTooLarge means the image has more pixels than the Previewer decodes, or its
// decoding would hold more memory than its budget.
var ErrImageTooLarge = errors.New("media: image too large to preview")

// ErrBusy means the previews being made hold the whole budget, and none handed back
// enough of it in time.
var ErrBusy = errors.New("media: too many previews being made at once")

// ErrDecodeTime means the image took longer to decode than the Previewer allows.
var ErrDecodeTime = errors.New("media: image took too long to decode")

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
	r, head, cfg, format, err := decodeConfig(r)
	if err != nil || format != want {
		return 0, 0, ErrNotImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, ErrNotImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(p.limits.MaxPixels) {
		return 0, 0, ErrImageTooLarge
	}
	need, ok := estimate(head, cfg, format)
	if !ok {
		return 0, 0, ErrNotImage
	}
	if need > p.limits.ImageBudget {
		return 0, 0, ErrImageTooLarge
	}
	need = max(need, 1)
	if !p.budget.acquire(need, p.limits.Wait) {
		return 0, 0, ErrBusy
	}
	defer p.budget.release(need)
	if need >= freeAfter {
		// Before the share is handed back: what the next decode allocates is then
		// memory the runtime has, not memory on top of it.
		defer debug.FreeOSMemory()
	}

	dr := &deadlineReader{r: r, deadline: time.Now().Add(p.limits.DecodeTime)}
	src, _, err := image.Decode(dr)
	if dr.expired {
		return 0, 0, ErrDecodeTime
	}
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

// deadlineReader fails every read after the deadline, so that a decoder reading a slow
// or endless stream of scans stops.
type deadlineReader struct {
	r        io.Reader
	deadline time.Time
	expired  bool
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	if time.Now().After(d.deadline) {
		d.expired = true
		return 0, ErrDecodeTime
	}
	return d.r.Read(p)
}

// decodeConfig reads the image header, from at most the first headerMax bytes of r,
// and returns the bytes it read (the header, for the estimates) and a reader that gives
// all of r again: r rewound if it can seek (a file), else those bytes followed by the
// rest. It reads no more than the header needs.
func decodeConfig(r io.Reader) (io.Reader, []byte, image.Config, string, error) {
	start, seekErr := int64(0), errors.New("not a seeker")
	rs, canSeek := r.(io.ReadSeeker)
	if canSeek {
		start, seekErr = rs.Seek(0, io.SeekCurrent)
	}
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(io.LimitReader(r, headerMax), &head))
	if err != nil {
		return nil, nil, cfg, format, err
	}
	if seekErr == nil {
		if _, err := rs.Seek(start, io.SeekStart); err != nil {
			return nil, nil, cfg, format, err
		}
		return rs, head.Bytes(), cfg, format, nil
	}
	return io.MultiReader(bytes.NewReader(head.Bytes()), r), head.Bytes(), cfg, format, nil
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
