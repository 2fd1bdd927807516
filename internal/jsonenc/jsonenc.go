// Package jsonenc appends JSON strings and times exactly as encoding/json writes them,
// without reflection. The store's journal lines (storage) and the API's user objects
// (httpapi) are written on hot paths with it, and each proves its output equal to
// encoding/json's in its own tests; the two share these pieces so that the subtle
// escaping rules live in one place.
//
// It imports the standard library only, nothing of this module.
package jsonenc

import (
	"time"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// AppendString appends s to b as a JSON string, escaped exactly as encoding/json
// escapes it (with its default HTML escaping):
//   - '"' and '\' get a backslash; \b, \f, \n, \r and \t their short escapes;
//   - the other control characters (below U+0020), and '<', '>' and '&' (so that the
//     JSON can sit inside HTML safely), are written as \u00XX with lower-case hex;
//   - U+2028 and U+2029, which end a line in JavaScript, as \u2028 and \u2029;
//   - each byte that is not part of valid UTF-8 as \ufffd, the replacement character;
//   - everything else as it is.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is still to be copied as it is
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendTime appends t as time.Time's MarshalJSON writes it: a JSON string in RFC 3339
// with nanoseconds, trailing zeros of the fraction dropped ("2026-11-25T16:11:45Z",
// "2026-11-25T17:11:45.5+01:00"). It reports false where MarshalJSON fails: a year
// that is not four digits (outside 0..9999), or a zone offset of 24 hours or more.
// The check reads the formatted bytes, the way MarshalJSON itself checks them.
func AppendTime(b []byte, t time.Time) ([]byte, bool) {
	b = append(b, '"')
	start := len(b)
	b = t.AppendFormat(b, time.RFC3339Nano)
	if b[start+len("2006")] != '-' {
		return b, false // the year took more or fewer than 4 characters
	}
	if b[len(b)-1] != 'Z' {
		// The offset ends the text as "+hh:mm": a digit where the sign should be
		// means more than two digits of hours; and hours must be below 24.
		sign := b[len(b)-len("+07:00")]
		hours := b[len(b)-len("07:00"):]
		if '0' <= sign && sign <= '9' || (hours[0]-'0')*10+(hours[1]-'0') >= 24 {
			return b, false
		}
	}
	return append(b, '"'), true
}
