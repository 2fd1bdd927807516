package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strconv"
)

// Every line of a data file is one JSON object {"c":<crc>,"r":<payload>} followed by
// '\n', where crc is the CRC-32C (Castagnoli) of the payload's exact bytes, in decimal.
// The checksum tells a torn or hand-edited line from a good one (R-STO-2, R-STO-5).

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

const (
	linePrefix = `{"c":`
	lineMiddle = `,"r":`
)

// appendLine appends the line carrying payload, which must be one JSON value without a
// newline (json.Marshal never writes one).
func appendLine(dst, payload []byte) []byte {
	dst = append(dst, linePrefix...)
	dst = strconv.AppendUint(dst, uint64(crc32.Checksum(payload, castagnoli)), 10)
	dst = append(dst, lineMiddle...)
	dst = append(dst, payload...)
	return append(dst, '}', '\n')
}

// encodeLine returns the line of v, as encoding/json writes it.
func encodeLine(v any) ([]byte, error) { return appendJSONLine(nil, v) }

// appendJSONLine appends the line of v to dst.
func appendJSONLine(dst []byte, v any) ([]byte, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return appendLine(dst, payload), nil
}

// lineError is a line whose envelope is broken. Only a last line that is unfinished
// (no newline: the write was cut short by a crash) is a torn tail; a complete line
// with a bad checksum was changed after it was written, and is corrupt even at the end.
type lineError struct {
	reason     string
	unfinished bool // no newline at the end
}

func (e *lineError) Error() string { return e.reason }

// checkLine returns the payload of line (without its '\n'), or a *lineError.
func checkLine(line []byte) ([]byte, error) {
	// The layout written by appendLine, read without a JSON decoder.
	if rest, ok := bytes.CutPrefix(line, []byte(linePrefix)); ok {
		i := 0
		for i < len(rest) && i < 10 && '0' <= rest[i] && rest[i] <= '9' {
			i++
		}
		sum, err := strconv.ParseUint(string(rest[:i]), 10, 32)
		if payload, ok := bytes.CutPrefix(rest[i:], []byte(lineMiddle)); err == nil && ok && len(payload) > 0 && payload[len(payload)-1] == '}' {
			payload = payload[:len(payload)-1]
			if crc32.Checksum(payload, castagnoli) == uint32(sum) {
				return payload, nil
			}
			if !json.Valid(line) {
				return nil, &lineError{reason: "not valid JSON"}
			}
			return nil, &lineError{reason: "checksum mismatch (the line was changed after it was written)"}
		}
	}
	// Any other layout of the same object, e.g. after an editor reformatted it.
	var env struct {
		C *uint32         `json:"c"`
		R json.RawMessage `json:"r"`
	}
	if err := json.Unmarshal(line, &env); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, &lineError{reason: fmt.Sprintf("not valid JSON: %v", err)}
		}
		return nil, &lineError{reason: fmt.Sprintf("not a checksummed line: %v", err)}
	}
	if env.C == nil || env.R == nil {
		return nil, &lineError{reason: `not a checksummed line: "c" or "r" is missing`}
	}
	if crc32.Checksum(env.R, castagnoli) != *env.C {
		return nil, &lineError{reason: "checksum mismatch (the line was changed after it was written)"}
	}
	return env.R, nil
}

// CorruptError reports data that the store refuses to load: a line that is neither good
// nor a torn last write (R-STO-5). The file is left exactly as it is.
type CorruptError struct {
	File   string // path of the data file
	Line   int    // 1-based line number, 0 when the problem is not one line's
	Reason string
}

// Error names the file, the line and the reason, e.g.
// "storage: data/journal-3.jsonl, line 17: checksum mismatch (…)".
func (e *CorruptError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("storage: %s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("storage: %s, line %d: %s", e.File, e.Line, e.Reason)
}

// tornTail describes a last line that was dropped as an unfinished write.
type tornTail struct {
	offset int64 // where the line starts: the file is cut there
	line   int
	size   int64
	reason string
}

// scanBatch is a run of whole lines of one file, decoded by a worker.
type scanBatch[T any] struct {
	buf       []byte // the whole buffer data lives in, reused once the batch is used
	data      []byte
	firstLine int
	offset    int64
	final     bool // nothing follows in the file
	vals      []T
	errAt     int // index of the first line that failed, or -1
	err       error
	done      chan struct{}
}

// scanLines reads the lines of r, checks and decodes them on every CPU with decode, and
// hands the values to use one by one in file order. A line that fails gives a
// *CorruptError naming it, except that when tornOK is set and the last line has no
// final newline (a write cut short), it is reported as a torn tail instead and
// scanning ends. A complete last line that fails is corrupt like any other: it was
// written whole, so it was changed afterwards (R-STO-5). use runs on the calling goroutine.
// newDecode is called once per batch of lines, so that the decoder it returns may keep
// scratch space.
func scanLines[T any](path string, r io.Reader, tornOK bool, newDecode func() func(payload []byte, v *T) error, use func(line int, v *T) error) (*tornTail, error) {
	workers := max(runtime.GOMAXPROCS(0), 1)
	const chunk = 1 << 20
	todo := make(chan *scanBatch[T], workers)
	ordered := make(chan *scanBatch[T], 2*workers)
	stop := make(chan struct{})
	defer close(stop)
	// Buffers go around: reader, worker, consumer, and back to the reader. Reusing them
	// spares the garbage collector hundreds of megabytes at start.
	free := make(chan []byte, 3*workers+2)
	freeVals := make(chan []T, 3*workers+2)

	for range workers {
		go func() {
			for b := range todo {
				select {
				case b.vals = <-freeVals:
				default:
				}
				decodeBatch(b, newDecode())
				close(b.done)
			}
		}()
	}

	// The reader cuts the file into batches of whole lines. It holds each batch back until
	// it knows whether anything follows, so that the last one is marked final.
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(todo)
		var pending *scanBatch[T]
		send := func(b *scanBatch[T]) bool {
			select {
			case todo <- b:
			case <-stop:
				return false
			}
			select {
			case ordered <- b:
				return true
			case <-stop:
				return false
			}
		}
		var carry []byte
		line, offset := 1, int64(0)
		for {
			var buf []byte
			select {
			case buf = <-free:
			default:
			}
			if cap(buf) < max(chunk, 2*len(carry)) {
				buf = make([]byte, 0, max(chunk, 2*len(carry)))
			}
			buf = append(buf[:0], carry...)
			n, err := io.ReadFull(r, buf[len(carry):cap(buf)])
			buf = buf[:len(carry)+n]
			eof := err == io.EOF || err == io.ErrUnexpectedEOF
			if err != nil && !eof {
				readErr <- err
				return
			}
			var data []byte
			if eof {
				data, carry = buf, nil
			} else if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
				data, carry = buf[:i+1], buf[i+1:]
			} else {
				carry = buf // a line longer than the buffer: read more
				continue
			}
			if len(data) > 0 {
				if pending != nil && !send(pending) {
					return
				}
				pending = &scanBatch[T]{buf: buf, data: data, firstLine: line, offset: offset, errAt: -1, done: make(chan struct{})}
				line += bytes.Count(data, []byte{'\n'})
				offset += int64(len(data))
			}
			if eof {
				if pending != nil {
					pending.final = true
					send(pending)
				}
				readErr <- nil
				return
			}
		}
	}()

	for b := range ordered {
		<-b.done
		for i := range b.vals {
			if err := use(b.firstLine+i, &b.vals[i]); err != nil {
				return nil, &CorruptError{File: path, Line: b.firstLine + i, Reason: err.Error()}
			}
		}
		if b.err == nil {
			select {
			case free <- b.buf[:0]:
			default:
			}
			clear(b.vals)
			select {
			case freeVals <- b.vals[:0]:
			default:
			}
			continue
		}
		{
			lineNo := b.firstLine + b.errAt
			var le *lineError
			if tornOK && errors.As(b.err, &le) && le.unfinished && b.final && isLastLine(b.data, b.errAt) {
				start := lineStart(b.data, b.errAt)
				return &tornTail{offset: b.offset + int64(start), line: lineNo, size: int64(len(b.data) - start), reason: le.reason}, nil
			}
			return nil, &CorruptError{File: path, Line: lineNo, Reason: b.err.Error()}
		}
	}
	if err := <-readErr; err != nil {
		return nil, fmt.Errorf("storage: reading %s: %w", path, err)
	}
	return nil, nil
}

func decodeBatch[T any](b *scanBatch[T], decode func([]byte, *T) error) {
	data := b.data
	if n := bytes.Count(data, []byte{'\n'}) + 1; cap(b.vals) < n {
		b.vals = make([]T, 0, n)
	}
	for i := 0; len(data) > 0; i++ {
		line, rest, found := bytes.Cut(data, []byte{'\n'})
		data = rest
		if !found {
			b.errAt, b.err = i, &lineError{reason: "no newline at the end (an unfinished write)", unfinished: true}
			return
		}
		payload, err := checkLine(line)
		if err != nil {
			b.errAt, b.err = i, err
			return
		}
		b.vals = append(b.vals, *new(T)) // within capacity: &b.vals[i] does not move
		if err := decode(payload, &b.vals[i]); err != nil {
			b.vals = b.vals[:i]
			b.errAt, b.err = i, err
			return
		}
	}
}

// lineStart returns the offset in data where line i (0-based) starts.
func lineStart(data []byte, i int) int {
	off := 0
	for ; i > 0; i-- {
		off += bytes.IndexByte(data[off:], '\n') + 1
	}
	return off
}

// isLastLine reports whether line i is the last line in data.
func isLastLine(data []byte, i int) bool {
	start := lineStart(data, i)
	j := bytes.IndexByte(data[start:], '\n')
	return j < 0 || start+j+1 == len(data)
}

// unmarshalStrict decodes the one JSON value in b into v, refusing fields v does not
// have: a record written by a newer version must stop the server, not lose its data.
func unmarshalStrict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(b[d.InputOffset():])) != 0 {
		return errors.New("data after the JSON value")
	}
	return nil
}
