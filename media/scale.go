package media

import (
	"image"
	"image/draw"
)

// stripWidth is how many source columns are converted to RGBA at once: enough for
// image/draw's fast paths to pay, small enough that the buffer stays a few hundred KB
// whatever the image's shape.
const stripWidth = 4096

// BoxScale returns src scaled down to dw x dh by area averaging (a box filter): each
// preview pixel is the mean of the source pixels that map onto it. dw and dh must be
// at least 1 and at most src's width and height.
//
// Source pixel x of a width of sw goes to preview column x*dw/sw, so every column gets
// a block of sw/dw or sw/dw+1 source columns; rows likewise. Colours are averaged with
// their alpha premultiplied, so transparent pixels add no colour.
func BoxScale(src image.Image, dw, dh int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if dw < 1 || dh < 1 || dw > sw || dh > sh {
		panic("media: BoxScale can only scale down")
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	// xStart[i] is the first source column of preview column i: ceil(i*sw/dw).
	xStart := starts(sw, dw)
	yStart := starts(sh, dh)

	sums := make([]uint64, 4*dw)
	buf := &image.RGBA{}
	var pix []uint8
	for j := 0; j < dh; j++ {
		y0, y1 := yStart[j], yStart[j+1]
		clear(sums)
		for cx := 0; cx < sw; cx += stripWidth {
			cw := min(stripWidth, sw-cx)
			// Convert this block of source pixels to premultiplied RGBA with
			// image/draw, which has fast paths for the types the decoders give.
			n := 4 * cw * (y1 - y0)
			if cap(pix) < n {
				pix = make([]uint8, n)
			}
			*buf = image.RGBA{Pix: pix[:n], Stride: 4 * cw, Rect: image.Rect(0, 0, cw, y1-y0)}
			draw.Draw(buf, buf.Rect, src, image.Pt(b.Min.X+cx, b.Min.Y+y0), draw.Src)
			for row := 0; row < y1-y0; row++ {
				line := buf.Pix[row*buf.Stride : row*buf.Stride+4*cw]
				i := column(xStart, cx) // preview column of source column cx
				for x := 0; x < cw; x++ {
					for cx+x >= xStart[i+1] {
						i++
					}
					s := sums[4*i : 4*i+4 : 4*i+4]
					p := line[4*x : 4*x+4 : 4*x+4]
					s[0] += uint64(p[0])
					s[1] += uint64(p[1])
					s[2] += uint64(p[2])
					s[3] += uint64(p[3])
				}
			}
		}
		out := dst.Pix[j*dst.Stride : j*dst.Stride+4*dw]
		for i := 0; i < dw; i++ {
			n := uint64(xStart[i+1]-xStart[i]) * uint64(y1-y0)
			for k := 0; k < 4; k++ {
				out[4*i+k] = uint8((sums[4*i+k] + n/2) / n)
			}
		}
	}
	return dst
}

// starts returns, for each of the d blocks that n source pixels are averaged into, the
// first source pixel, and n at the end: s[i] = ceil(i*n/d), so pixel x belongs to
// block x*d/n.
func starts(n, d int) []int {
	s := make([]int, d+1)
	for i := range s {
		s[i] = int((int64(i)*int64(n) + int64(d) - 1) / int64(d))
	}
	return s
}

// column returns the block that source pixel x belongs to.
func column(start []int, x int) int {
	// start is sorted; the block is the last one starting at or before x.
	lo, hi := 0, len(start)-2
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if start[mid] <= x {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
