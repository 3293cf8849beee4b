// Package jsonstr appends text as JSON string literals: the one encoder
// behind hdi's hand-written JSON (query output, DBN records, quarantined
// records), which build lines byte by byte instead of going through
// encoding/json.
package jsonstr

import (
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// Append appends s to dst as a JSON string: '"' and '\' escaped, \n, \r and
// \t by name, other control characters as \u00XX, and each byte that is not
// part of valid UTF-8 as U+FFFD. Everything else is copied as is.
func Append(dst []byte, s string) []byte {
	dst = append(dst, '"')
	// The plain ASCII prefix (all of a symbol, a name) is copied at once.
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < utf8.RuneSelf && s[i] != '"' && s[i] != '\\' {
		i++
	}
	dst = append(dst, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// AppendBytes is Append for a byte slice, without copying it.
func AppendBytes(dst, b []byte) []byte {
	return Append(dst, unsafe.String(unsafe.SliceData(b), len(b)))
}
