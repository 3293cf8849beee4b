package config

import (
	"cmp"
	"slices"
	"strings"
)

// Mask hides a secret value, keeping only whether it is set.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	return "****"
}

// IsSecretKey reports whether a provider config key holds a secret by its
// name alone, for places that do not know what the provider declares.
func IsSecretKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"key", "secret", "password", "token", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// redacted replaces each password RedactURL hides.
const redacted = "xxxxx"

// RedactURL hides the passwords of a PostgreSQL connection string, URL or
// keyword/value, whether it parses or not (see secretSpans).
func RedactURL(s string) string {
	var b strings.Builder
	last := 0
	for _, sp := range mergeSpans(secretSpans(s)) {
		b.WriteString(s[last:sp.start])
		b.WriteString(redacted)
		last = sp.end
	}
	b.WriteString(s[last:])
	return b.String()
}

// Passwords are the passwords a connection string holds, or may hold when
// it does not parse, as written and as decoded, longest first: what a
// logging.Redactor must scrub. It reads the same spans as RedactURL.
func Passwords(s string) []string {
	spans := secretSpans(s)
	var out []string
	add := func(v string) {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, sp := range append(mergeSpans(spans), spans...) {
		raw := s[sp.start:sp.end]
		add(raw)
		add(uriDecode(raw))
		add(unquoteKV(raw))
		// libpq ends a URL's userinfo at its first '@'.
		if before, _, ok := strings.Cut(raw, "@"); ok {
			add(before)
			add(uriDecode(before))
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return out
}

type span struct{ start, end int }

// secretSpans finds the parts of s that hold a password. It reads s as
// libpq would where s is well formed, and errs on the side of hiding more
// where it is not, so that a password never shows, whatever the input:
//
//   - userinfo: from the first ':' (not counting the one of a leading
//     "scheme://") to the last '@', as in postgres://user:PASSWORD@host;
//     a password holding an unencoded '@', '/', '?' or ':' stays hidden,
//     and so does one of a URL without a scheme (user:PASSWORD@host);
//   - URL query parameters whose (percent-decoded) name ends in "password"
//     (password, sslpassword): the value up to the next "&name=";
//   - keyword/value pairs "password = VALUE" (any case, sslpassword too):
//     a quoted value with its backslash escapes, else the run up to the
//     next space, and any following words that are not "keyword =" (a
//     password with an unquoted space).
func secretSpans(s string) []span {
	var out []span
	add := func(start, end int) {
		if start < end {
			out = append(out, span{start, end})
		}
	}

	if c := strings.IndexByte(s, ':'); c >= 0 {
		if strings.HasPrefix(s[c:], "://") {
			if n := strings.IndexByte(s[c+3:], ':'); n >= 0 {
				c += 3 + n
			} else {
				c = -1
			}
		}
		if at := strings.LastIndexByte(s, '@'); c >= 0 && at > c {
			add(c+1, at)
		}
	}

	for i := 0; i < len(s); i++ {
		if s[i] != '?' && s[i] != '&' {
			continue
		}
		rest := s[i+1:]
		eq := strings.IndexAny(rest, "=&?")
		if eq < 0 || rest[eq] != '=' {
			continue
		}
		if name := strings.ToLower(strings.TrimSpace(uriDecode(rest[:eq]))); strings.HasSuffix(name, "password") {
			v := i + 1 + eq + 1
			end := queryValueEnd(s, v)
			if strings.HasPrefix(s[v:], "'") {
				end = max(end, kvValueEnd(s, v))
			}
			add(v, end)
		}
	}

	lower := asciiLower(s) // same length as s, whatever its bytes
	for i := 0; ; {
		n := strings.Index(lower[i:], "password")
		if n < 0 {
			break
		}
		p := i + n
		i = p + len("password")
		if isQueryKey(s, p) {
			continue // a URL query parameter: read above
		}
		v := skipSpace(s, i)
		if v == len(s) || s[v] != '=' {
			continue
		}
		v = skipSpace(s, v+1)
		add(v, kvValueEnd(s, v))
	}
	return out
}

// queryValueEnd is where the URL query value starting at s[v] ends: at the
// next '&', or past it when what follows is no "name=value" (an unencoded
// '&' in a password).
func queryValueEnd(s string, v int) int {
	for {
		amp := strings.IndexByte(s[v:], '&')
		if amp < 0 {
			return len(s)
		}
		v += amp
		next, _, _ := strings.Cut(s[v+1:], "&")
		if strings.Contains(next, "=") {
			return v
		}
		v++
	}
}

// isQueryKey reports whether the word around s[p] follows '?' or '&'.
func isQueryKey(s string, p int) bool {
	for p > 0 && !isSpace(s[p-1]) && s[p-1] != '?' && s[p-1] != '&' {
		p--
	}
	return p > 0 && (s[p-1] == '?' || s[p-1] == '&')
}

// kvValueEnd is where the keyword/value value starting at s[v] ends: after
// its closing quote, or at the first space not escaped by a backslash (an
// unterminated quote runs to the end, as libpq reads it); then over every
// following word that is not a "keyword =", since a space in an unquoted
// password splits it into such words.
func kvValueEnd(s string, v int) int {
	i := v
	if i < len(s) && s[i] == '\'' {
		for i++; i < len(s) && s[i] != '\''; i++ {
			if s[i] == '\\' {
				i++
			}
		}
		i = min(i+1, len(s))
	}
	end := func(i int) int {
		for ; i < len(s) && !isSpace(s[i]); i++ {
			if s[i] == '\\' {
				i++
			}
		}
		return min(i, len(s))
	}
	i = end(i)
	for {
		w := skipSpace(s, i)
		if w == len(s) {
			return i
		}
		j := w
		for j < len(s) && !isSpace(s[j]) && s[j] != '=' {
			j++
		}
		if j > w && skipSpace(s, j) < len(s) && s[skipSpace(s, j)] == '=' {
			return i // the next "keyword ="
		}
		i = end(max(j, w+1))
	}
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(spans []span) []span {
	spans = slices.Clone(spans)
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	var out []span
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	return out
}

// uriDecode decodes the valid %XX escapes of s and keeps the rest.
func uriDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// unquoteKV is a keyword/value value as libpq reads it: without its
// quotes, each backslash taking the next byte literally.
func unquoteKV(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		s = s[1 : len(s)-1]
	}
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
