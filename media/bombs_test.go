package media_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"math/bits"
)

// The images of this file are made by the tests themselves: "decompression bombs",
// small files whose decoding takes a lot of memory, and headers that claim an image
// without its pixels.

// bitWriter writes the entropy-coded bits of a jpg scan, most significant bit first,
// with a zero byte stuffed after every 0xff.
type bitWriter struct {
	out   bytes.Buffer
	acc   uint32
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.acc = w.acc<<1 | (v>>uint(i))&1
		w.nbits++
		if w.nbits == 8 {
			w.byte(byte(w.acc))
			w.acc, w.nbits = 0, 0
		}
	}
}

func (w *bitWriter) byte(b byte) {
	w.out.WriteByte(b)
	if b == 0xff {
		w.out.WriteByte(0)
	}
}

// flush pads the last byte with ones, as a jpg's scans are.
func (w *bitWriter) flush() []byte {
	if w.nbits > 0 {
		w.byte(byte(w.acc<<(8-w.nbits) | (1<<(8-w.nbits) - 1)))
		w.acc, w.nbits = 0, 0
	}
	return w.out.Bytes()
}

// jpegSegment appends a marker segment.
func jpegSegment(b *bytes.Buffer, marker byte, data []byte) {
	b.Write([]byte{0xff, marker})
	binary.Write(b, binary.BigEndian, uint16(len(data)+2))
	b.Write(data)
}

// jpegFrameHeader appends SOI and a frame header of a w x h jpg of comps components,
// each sampled h x v as given in sampling (one byte, h<<4|v, a component; 0x11 for all
// when sampling is nil), progressive or not. Component ids are 1, 2, 3, 4.
func jpegFrameHeader(b *bytes.Buffer, w, h, comps int, progressive bool, sampling []byte) {
	b.Write([]byte{0xff, 0xd8})
	sof := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	for i := 0; i < comps; i++ {
		s := byte(0x11)
		if sampling != nil {
			s = sampling[i]
		}
		sof = append(sof, byte(i+1), s, 0)
	}
	marker := byte(0xc0)
	if progressive {
		marker = 0xc2
	}
	jpegSegment(b, marker, sof)
}

// progressiveBomb returns a progressive jpg of w x h pixels and comps components
// sampled 1x1 whose only scans are runs of empty blocks (end-of-band runs): about
// 120 bytes a component for any size up to 65535x65535, which image/jpeg decodes to a grey image while holding
// every coefficient of every component. The quantisation table is all zeros.
func progressiveBomb(w, h, comps int) []byte {
	var b bytes.Buffer
	jpegFrameHeader(&b, w, h, comps, true, nil)
	if comps == 4 {
		// image/jpeg decodes four components only with an Adobe segment: transform 0,
		// CMYK.
		jpegSegment(&b, 0xee, []byte("Adobe\x00\x64\x00\x00\x00\x00\x00"))
	}
	// One AC table (class 1, id 0) of 15 codes of 4 bits, code r for symbol r<<4: a run
	// of 2^r blocks plus the r bits that follow.
	dht := []byte{0x10, 0, 0, 0, 15}
	dht = append(dht, make([]byte, 12)...)
	for r := range 15 {
		dht = append(dht, byte(r<<4))
	}
	jpegSegment(&b, 0xc4, dht)
	jpegSegment(&b, 0xdb, append([]byte{0}, make([]byte, 64)...))
	blocks := ((w + 7) / 8) * ((h + 7) / 8) // of each component, in a scan of its own
	for c := 0; c < comps; c++ {
		// A spectral-selection scan of coefficients 1..63 of component c.
		jpegSegment(&b, 0xda, []byte{1, byte(c + 1), 0x00, 1, 63, 0})
		var bw bitWriter
		for left := blocks; left > 0; {
			run := min(left, 1<<15-1)
			r := bits.Len(uint(run)) - 1
			bw.write(uint32(r), 4)
			bw.write(uint32(run-1<<r), uint(r))
			left -= run
		}
		b.Write(bw.flush())
	}
	b.Write([]byte{0xff, 0xd9})
	return b.Bytes()
}

// pngChunk appends a png chunk.
func pngChunk(b *bytes.Buffer, typ string, data []byte) {
	binary.Write(b, binary.BigEndian, uint32(len(data)))
	chunk := append([]byte(typ), data...)
	b.Write(chunk)
	binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
}

// pngHeaderOf returns the signature and header chunk of a w x h png of the bit depth
// and colour type (6: RGBA, 2: RGB, 0: grey), interlaced or not, and no pixels.
func pngHeaderOf(w, h uint32, depth, colorType byte, interlaced bool) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = depth, colorType
	if interlaced {
		ihdr[12] = 1
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	pngChunk(&b, "IHDR", ihdr)
	return b.Bytes()
}

// png16Bomb returns a w x h 16-bit RGBA png of transparent black: each row is a filter
// byte and 8w zero bytes, which zlib compresses about a thousand to one.
func png16Bomb(w, h int) []byte {
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	row := make([]byte, 1+8*w)
	for y := 0; y < h; y++ {
		zw.Write(row)
	}
	zw.Close()
	var b bytes.Buffer
	b.Write(pngHeaderOf(uint32(w), uint32(h), 16, 6, false))
	// IDAT chunks of at most 1 MiB, as encoders write them.
	for data := z.Bytes(); len(data) > 0; {
		n := min(len(data), 1<<20)
		pngChunk(&b, "IDAT", data[:n])
		data = data[n:]
	}
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

// gate is a reader of data that stops after the first n bytes until open is closed,
// and says on blocked that it got there.
type gate struct {
	data    []byte
	n       int
	off     int
	blocked chan struct{}
	open    chan struct{}
}

func newGate(data []byte, n int) *gate {
	return &gate{data: data, n: n, blocked: make(chan struct{}), open: make(chan struct{})}
}

func (g *gate) Read(p []byte) (int, error) {
	if g.off == g.n {
		select {
		case <-g.blocked:
		default:
			close(g.blocked)
		}
		<-g.open
	}
	if g.off >= len(g.data) {
		return 0, io.EOF
	}
	end := len(g.data)
	if g.off < g.n {
		end = g.n
	}
	k := copy(p, g.data[g.off:end])
	g.off += k
	return k, nil
}
