package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppend(t *testing.T) {
	cases := map[string]string{
		"":                 `""`,
		"ESH4":             `"ESH4"`,
		`a"b\c`:            `"a\"b\\c"`,
		"l1\nl2\r\t":       `"l1\nl2\r\t"`,
		"\x00\x01\x1f\x7f": `"\u0000\u0001\u001f` + "\x7f" + `"`,
		"café €":           `"café €"`,
		"bad\xff\xfeend":   `"bad\ufffd\ufffdend"`,
		"cut\xe2\x82":      `"cut\ufffd\ufffd"`,
	}
	for in, want := range cases {
		if got := string(Append(nil, in)); got != want {
			t.Errorf("Append(%q) = %s, want %s", in, got, want)
		}
		if got := string(AppendBytes([]byte("x"), []byte(in))); got != "x"+want {
			t.Errorf("AppendBytes(%q) = %s, want x%s", in, got, want)
		}
	}
}

// TestAppendRoundTrip: every single byte and every pair of bytes encodes to
// valid JSON that decodes back to the input, invalid UTF-8 made U+FFFD.
func TestAppendRoundTrip(t *testing.T) {
	check := func(in string) {
		out := Append(nil, in)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Append(%q) = %s: not JSON: %v", in, out, err)
		}
		if want := bytewiseValid(in); back != want {
			t.Fatalf("Append(%q) decodes to %q, want %q", in, back, want)
		}
	}
	for a := 0; a < 256; a++ {
		check(string([]byte{byte(a)}))
		for b := 0; b < 256; b++ {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
}

// bytewiseValid is s with each byte that is not part of valid UTF-8 replaced
// by U+FFFD.
func bytewiseValid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError is U+FFFD
		i += size
	}
	return b.String()
}
