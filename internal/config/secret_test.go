package config

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/logging"
)

// connString places password pw in a connection string, in one of the
// ways libpq reads one or a person writes one, between arbitrary text:
// the form, the text around it (prefix, user, host, tail) and pw are the
// fuzzer's. It returns the string and where pw is, as written (encoded or
// escaped); ok is false for the few inputs where the string reads another
// way (see each form).
func connString(form uint8, prefix, user, pw, host, tail string) (s string, start, end int, ok bool) {
	var before, written, after string
	switch form % 7 {
	case 0, 1: // URL userinfo, as typed or percent-encoded
		scheme := []string{"postgres", "postgresql", "pg", ""}[form/7%4]
		before, written, after = prefix+scheme+"://"+user+":", pw, "@"+host+tail
		if form%7 == 1 {
			written = percentEncode(pw)
		}
	case 2: // URL query parameter; an '&' in a value is written %26
		key := []string{"password", "sslpassword", "PASSWORD", "pass%77ord", " password"}[form/7%5]
		before, written, after = prefix+"postgres://"+user+"@"+host+"/d?"+key+"=", strings.ReplaceAll(pw, "&", "%26"), tail
	case 3, 4, 5: // keyword/value: quoted, escaped, or as typed
		key := []string{"password", "sslpassword", "PASSWORD"}[form/7%3]
		eq := []string{"=", " = ", "=\t"}[form/7/3%3]
		before, after = prefix+" "+key+eq, " "+tail
		switch form % 7 {
		case 3:
			before, written, after = before+"'", escapeKV(pw, `\'`), "'"+after
		case 4:
			written = escapeKV(pw, "\\' \t\n\r\v\f")
		case 5:
			// As typed: a value holding "=", or space at either end, or
			// followed by "= ...", reads as another keyword or is trimmed.
			if strings.Contains(pw, "=") || strings.TrimSpace(pw) != pw || strings.HasPrefix(strings.TrimSpace(tail), "=") {
				return "", 0, 0, false
			}
			written = pw
		}
	case 6: // a URL without its scheme: user:pw@host
		if strings.HasPrefix(pw, "//") && !strings.Contains(user, ":") {
			return "", 0, 0, false // user://... is a URL of scheme "user"
		}
		before, written, after = user+":", pw, "@"+host+tail
	}
	return before + written + after, len(before), len(before) + len(written), true
}

func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// escapeKV puts a backslash before each byte of special.
func escapeKV(s, special string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// leaked is the first part of in[start:end] (4 bytes) that out shows and
// that in does not hold elsewhere, or "". out is in with parts replaced by
// a mask of none of pw's bytes, so any such part is password left in
// clear.
func leaked(in string, start, end int, out, pw string) string {
	elsewhere := func(w string) bool {
		return strings.Contains(in[:start], w) || strings.Contains(in[end:], w)
	}
	if strings.Contains(out, pw) && !elsewhere(pw) {
		return pw
	}
	region := in[start:end]
	for i := 0; i+4 <= len(region); i++ {
		if w := region[i : i+4]; strings.Contains(out, w) && !elsewhere(w) {
			return w
		}
	}
	return ""
}

// FuzzRedactURL: a password of 4 bytes or more, placed in a connection
// string where libpq reads one or a person writes one, whatever the rest
// holds and whether it parses or not, never shows: not in RedactURL's
// output, not in what config show prints of database_url, not in the
// string after a Redactor given Passwords scrubs it.
func FuzzRedactURL(f *testing.F) {
	f.Add(uint8(0), "", "postgres", "SuperSecretPW42", "127.0.0.1:abc", "/x")
	f.Add(uint8(0), "", "postgres", "Super%zzSecretPW42", "127.0.0.1", "/x")
	f.Add(uint8(0), "", "postgres", "SuperSecretPW42", "[::1", "/x")
	f.Add(uint8(1), "", "u", "p@ss/w?rd:#", "h", "/d?sslmode=disable")
	f.Add(uint8(2), "", "u", "Super&Secret PW", "h", "&sslmode=disable")
	f.Add(uint8(3), "host=127.0.0.1", "", "Super' Secret\\PW", "", "port=abc")
	f.Add(uint8(4), "host=h", "", "Super Secret'PW", "", "dbname=d")
	f.Add(uint8(5), "host=h", "", "Super Secret PW42", "", "dbname=d")
	f.Add(uint8(6), "", "user", "SuperSecretPW42", "localhost:5432", "/db")
	f.Add(uint8(13), "\"", "u", "pass", "h", "/d\"")
	f.Fuzz(func(t *testing.T, form uint8, prefix, user, pw, host, tail string) {
		// The masks are "xxxxx" and "****": a password made of none of
		// their bytes cannot be mistaken for them.
		if len(pw) < 4 || strings.ContainsAny(pw, "x*") {
			return
		}
		in, start, end, ok := connString(form, prefix, user, pw, host, tail)
		if !ok {
			return
		}
		if w := leaked(in, start, end, RedactURL(in), pw); w != "" {
			t.Fatalf("RedactURL(%q) = %q shows %q of the password %q", in, RedactURL(in), w, pw)
		}
		flags := noFlags()
		flags.Values["database-url"], flags.Set["database-url"] = in, true
		c, err := Load(flags, envOf(map[string]string{"HOME": "/nonexistent"}), "")
		if err != nil {
			t.Fatal(err)
		}
		if got := shown(c, "database_url").Value; leaked(in, start, end, got, pw) != "" {
			t.Fatalf("config show prints database_url %q as %q, showing the password %q", in, got, pw)
		}
		r := &logging.Redactor{}
		r.Add(Passwords(in)...)
		if w := leaked(in, start, end, r.Scrub(in), pw); w != "" {
			t.Fatalf("a Redactor given Passwords(%q) = %q leaves %q of the password %q: %q", in, Passwords(in), w, pw, r.Scrub(in))
		}
	})
}
