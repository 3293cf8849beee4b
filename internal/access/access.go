// Package access says who may use hdi serve and records what they did:
// API tokens with scopes (read < run < admin), kept in the database as
// SHA-256 digests only, a short-lived cache of them for the server's hot
// path, and the append-only audit log of write requests and refused
// authentications.
package access

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Scope is what a token may do; each scope includes the ones below it.
type Scope int

const (
	// None is no scope: a request without an accepted token.
	None Scope = iota
	// Read covers queries, coverage, runs, jobs, the spec and metrics.
	Read
	// Run can also queue, cancel and retry runs.
	Run
	// Admin can also manage tokens and read the audit log.
	Admin
)

// Scopes are the scope names, lowest first.
var Scopes = []string{"read", "run", "admin"}

func (s Scope) String() string {
	if s < Read || s > Admin {
		return "none"
	}
	return Scopes[s-1]
}

// Allows reports whether a token of scope s may do what needs scope need.
func (s Scope) Allows(need Scope) bool { return s >= need }

// ParseScope reads a scope name.
func ParseScope(name string) (Scope, error) {
	for i, n := range Scopes {
		if n == name {
			return Scope(i + 1), nil
		}
	}
	return None, fmt.Errorf("%q is not a scope: want %s", name, strings.Join(Scopes, ", "))
}

// Digest is the SHA-256 of a token: all the database keeps of it.
type Digest [sha256.Size]byte

// Hash is the digest of a token.
func Hash(token string) Digest { return sha256.Sum256([]byte(token)) }

// TokenPrefix starts every token hdi makes, so a secret scanner knows one.
const TokenPrefix = "hdi_"

// NewSecret makes a token: TokenPrefix and 32 random bytes, base64url.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}
