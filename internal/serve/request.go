package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// requestIDKey keys a request's id in its context.
type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestIDs gives every request an id, sent back in X-Request-Id and in
// every problem, and logged with every failure.
func requestIDs(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// checkQuery refuses, for every route, a query string that does not parse
// and any parameter whose name or value holds a control character (NUL
// included) or is not UTF-8: text no parameter means, that PostgreSQL would
// refuse (a NUL) or a log would carry. The 400 names the parameter.
func checkQuery(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		values, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			writeProblem(w, r, &problem{status: http.StatusBadRequest, detail: "the query string does not parse: " + err.Error()})
			return
		}
		for name, vs := range values {
			if what := badText(name); what != "" {
				q := strconv.Quote(name)
				writeProblem(w, r, badParam(q[1:len(q)-1], "%s: the parameter's name %s", q, what))
				return
			}
			for _, v := range vs {
				if what := badText(v); what != "" {
					writeProblem(w, r, badParam(name, "%s: the value %s: a parameter takes printable UTF-8 text", name, what))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// badText says what is wrong with s as the text of a parameter: a control
// character or bytes that are not UTF-8; "" when nothing is.
func badText(s string) string {
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && n <= 1:
			return fmt.Sprintf("is not UTF-8 (byte %#02x at offset %d)", s[i], i)
		case unicode.IsControl(c):
			return fmt.Sprintf("holds a control character (%U at offset %d)", c, i)
		}
		i += n
	}
	return ""
}
