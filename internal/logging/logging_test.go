package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretsNeverReachTheLog(t *testing.T) {
	const pw, key = "hunter2-pw", "db-SECRETKEY123"
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		r := &Redactor{}
		r.Add(pw, key, "", "ab") // empty and short strings are ignored
		log := New(&buf, format, slog.LevelDebug, r)
		log = log.With("url", "postgres://u:"+pw+"@h/d")
		log.Info("connecting with key "+key, "err", errors.New("auth failed for "+key),
			slog.Group("provider", "api_key", key), "n", 3, "ab", "ab")
		out := buf.String()
		if strings.Contains(out, pw) || strings.Contains(out, key) {
			t.Fatalf("%s log leaks a secret: %s", format, out)
		}
		if !strings.Contains(out, "****") || !strings.Contains(out, "ab") {
			t.Fatalf("%s log lost its non-secret content: %s", format, out)
		}
		if format == "json" {
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatalf("json log is not JSON: %v: %s", err, out)
			}
			if m["n"] != float64(3) {
				t.Fatalf("numbers must stay numbers: %v", m["n"])
			}
		}
	}
}

// TestScrubOverlappingSecrets: secrets that overlap each other or
// themselves are hidden whole, whatever order they were added in.
func TestScrubOverlappingSecrets(t *testing.T) {
	r := &Redactor{}
	r.Add("abcd", "cdefgh", "xyzxy")
	cases := map[string]string{
		"[abcdefgh]":  "[****]",
		"[xyzxyzxy]":  "[****]",
		"abcd abcd":   "**** ****",
		"no secret":   "no secret",
		"[cdefghabc]": "[****abc]",
	}
	for in, want := range cases {
		if got := r.Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseLevel(t *testing.T) {
	if l, err := ParseLevel("warn"); err != nil || l != slog.LevelWarn {
		t.Fatalf("warn: %v %v", l, err)
	}
	if _, err := ParseLevel("loud"); err == nil {
		t.Fatal("want an error")
	}
}
