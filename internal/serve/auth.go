package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Tokens are the API tokens a client may present (Authorization: Bearer
// TOKEN), kept as SHA-256 digests; none means no authentication (loopback
// only).
type Tokens [][sha256.Size]byte

// NewTokens keeps the digests of the non-empty tokens.
func NewTokens(tokens ...string) Tokens {
	var out Tokens
	for _, t := range tokens {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, sha256.Sum256([]byte(t)))
		}
	}
	return out
}

// accepts compares the presented token with every accepted one in constant
// time (the digests have one length, so no length leaks either).
func (ts Tokens) accepts(token string) bool {
	d := sha256.Sum256([]byte(token))
	ok := 0
	for _, t := range ts {
		ok |= subtle.ConstantTimeCompare(d[:], t[:])
	}
	return ok == 1
}

// requireToken answers 401 to requests without an accepted bearer token.
func (ts Tokens) requireToken(next http.Handler) http.Handler {
	if len(ts) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") || !ts.accepts(strings.TrimSpace(token)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="hdi"`)
			detail := "send the API token: Authorization: Bearer TOKEN"
			if h != "" {
				detail = "the API token is not accepted"
			}
			writeProblem(w, r, &problem{status: http.StatusUnauthorized, detail: detail})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CheckAddr refuses to listen beyond loopback without a token: anyone who
// can reach the port could read the database.
func CheckAddr(addr string, tokens Tokens) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT, e.g. 127.0.0.1:8080", addr)
	}
	if len(tokens) > 0 || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("refusing to listen on %s without an API token: anyone who reaches it could read the database; set HDI_API_TOKEN, api_tokens in the config file, or --token-file (clients then send Authorization: Bearer TOKEN), or listen on 127.0.0.1", addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
