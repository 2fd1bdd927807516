package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
)

// Estimates of the memory the standard library's decoders hold for one image, read from
// the header before a byte of pixels is decoded (R-LIM-1). They are upper bounds of
// what image/jpeg, image/png and image/gif allocate, in bytes; a preview also needs a
// few hundred KB of its own (BoxScale's strips and the encoder), which they leave out.

// headerMax is how many bytes of an image the estimates look at: a jpg's markers before
// its frame header (EXIF and ICC profiles included) fit in it in practice, and a jpg
// whose frame header comes later is refused rather than decoded blind.
const headerMax = 256 << 10

// estimate returns what decoding the image of the header head (the file's first
// bytes), whose config and format image.DecodeConfig gave, holds in memory. ok is false
// when the header cannot be read well enough to tell.
func estimate(head []byte, cfg image.Config, format string) (n int64, ok bool) {
	w, h := int64(cfg.Width), int64(cfg.Height)
	switch format {
	case "jpeg":
		return estimateJPEG(head)
	case "png":
		bpp := pngBytesPerPixel(cfg.ColorModel)
		n := w * h * bpp
		// An interlaced png is decoded pass by pass into images of its own, merged at the
		// end: about twice the pixels at the peak.
		if len(head) > 28 && head[28] == 1 {
			n *= 2
		}
		return n, true
	case "gif":
		// The first frame is paletted, one byte a pixel, in a canvas of the screen's
		// size at most; the decoder holds one frame at a time.
		return w * h, true
	}
	return 0, false
}

// pngBytesPerPixel is the size of a pixel of the image image/png decodes to, by the
// colour model its DecodeConfig reports.
func pngBytesPerPixel(m color.Model) int64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // unknown: the largest
}

// jpegFrame is what a jpg's frame header (SOF) says.
type jpegFrame struct {
	progressive   bool
	width, height int64
	comps         []jpegComp
	jfif          bool // an APP0 "JFIF" segment came before the frame
	adobe         bool // an APP14 "Adobe" segment came before the frame
	transform     byte // its colour transform
}

type jpegComp struct {
	id   byte
	h, v int64 // sampling factors
}

// estimateJPEG reads the markers up to the first scan and returns what image/jpeg
// allocates for the frame, following its decoder:
//
//   - each component's samples, padded to whole MCUs: 8*h*mcusAcross x 8*v*mcusDown bytes;
//   - a progressive frame keeps every coefficient of every component until the end: one
//     [64]int32 block, 256 bytes, per 8x8 block of samples, whatever the scans hold;
//   - four components are converted to an image.CMYK at the end (4 bytes a pixel), and
//     three that are RGB (Adobe transform 0, or component ids 'R', 'G', 'B' without JFIF)
//     to an image.RGBA (4 bytes a pixel), while the samples are still held.
func estimateJPEG(head []byte) (int64, bool) {
	f, ok := parseJPEGFrame(head)
	if !ok || len(f.comps) == 0 || f.width <= 0 || f.height <= 0 {
		return 0, false
	}
	var hmax, vmax int64 = 1, 1
	for _, c := range f.comps {
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return 0, false
		}
		hmax, vmax = max(hmax, c.h), max(vmax, c.v)
	}
	mxx := (f.width + 8*hmax - 1) / (8 * hmax)
	myy := (f.height + 8*vmax - 1) / (8 * vmax)
	var n int64
	for _, c := range f.comps {
		samples := (8 * c.h * mxx) * (8 * c.v * myy)
		n += samples
		if f.progressive {
			n += samples / 64 * 256
		}
	}
	switch {
	case len(f.comps) == 4:
		n += 4 * f.width * f.height
	case len(f.comps) == 3 && !f.jfif && (f.adobe && f.transform == 0 || f.comps[0].id == 'R' && f.comps[1].id == 'G' && f.comps[2].id == 'B'):
		n += 4 * f.width * f.height
	}
	return n, true
}

// parseJPEGFrame walks the segments of a jpg from its start to its first scan, or to
// the end of b: what image/jpeg reads before it decides how to convert the colours,
// the Adobe segment that may follow the frame header included.
func parseJPEGFrame(b []byte) (jpegFrame, bool) {
	var f jpegFrame
	if len(b) < 2 || b[0] != 0xff || b[1] != 0xd8 {
		return f, false
	}
	sof := false
	for i := 2; ; {
		// Markers may be padded with any number of 0xff bytes.
		for i < len(b) && b[i] == 0xff {
			i++
		}
		if i >= len(b) || b[i-1] != 0xff {
			return f, sof
		}
		marker := b[i]
		i++
		switch {
		case marker == 0x01 || marker >= 0xd0 && marker <= 0xd7:
			continue // no length
		case marker == 0xd9 || marker == 0xda:
			return f, sof // the end of the image, or its first scan
		}
		if i+2 > len(b) {
			return f, sof
		}
		length := int(binary.BigEndian.Uint16(b[i:]))
		if length < 2 || i+length > len(b) {
			return f, sof
		}
		seg := b[i+2 : i+length]
		i += length
		switch {
		case marker == 0xe0 && bytes.HasPrefix(seg, []byte("JFIF\x00")):
			f.jfif = true
		case marker == 0xee && len(seg) >= 12 && bytes.HasPrefix(seg, []byte("Adobe")):
			f.adobe, f.transform = true, seg[11]
		case marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc:
			if sof || len(seg) < 6 {
				return f, false
			}
			f.progressive = marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce
			f.height = int64(binary.BigEndian.Uint16(seg[1:]))
			f.width = int64(binary.BigEndian.Uint16(seg[3:]))
			nc := int(seg[5])
			if len(seg) < 6+3*nc {
				return f, false
			}
			for k := 0; k < nc; k++ {
				c := seg[6+3*k:]
				f.comps = append(f.comps, jpegComp{id: c[0], h: int64(c[1] >> 4), v: int64(c[1] & 0x0f)})
			}
			sof = true
		}
	}
}
