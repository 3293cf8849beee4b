package access

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
)

// BootstrapName is the name of the tokens of the token file and
// HDI_API_TOKEN (admin scope) in logs and the audit log.
const BootstrapName = "bootstrap"

// DefaultCacheFor is how long the server trusts its copy of the token
// table: a revoked token is refused within this long.
const DefaultCacheFor = 5 * time.Second

// Identity is who a request is: the name and scope of its token.
type Identity struct {
	Name  string
	Scope Scope
}

// Refusal says why a presented token is not accepted. Name is the token's
// when the database knows it (revoked or expired), else "".
type Refusal struct {
	Name   string
	Reason string
}

// Store checks presented tokens: the bootstrap tokens (configured, admin)
// and the database's. It keeps the live tokens of the database in memory
// and reads them again once they are older than CacheFor, so a request
// costs no database round trip; a token the copy lacks (one made since) is
// looked up by its digest. Safe for concurrent use.
type Store struct {
	db        dbq.DBTX
	cacheFor  time.Duration
	bootstrap []Digest
	now       func() time.Time

	refresh sync.Mutex // one reader of the table at a time
	snap    atomic.Pointer[snapshot]
}

type snapshot struct {
	at     time.Time
	tokens map[Digest]liveToken
}

type liveToken struct {
	name    string
	scope   Scope
	expires *time.Time
}

// NewStore checks tokens against bootstrap (admin tokens from the
// configuration; empty ones are ignored) and the api_tokens table of db.
// cacheFor <= 0 means DefaultCacheFor.
func NewStore(db dbq.DBTX, cacheFor time.Duration, bootstrap ...string) *Store {
	if cacheFor <= 0 {
		cacheFor = DefaultCacheFor
	}
	s := &Store{db: db, cacheFor: cacheFor, now: time.Now}
	for _, t := range bootstrap {
		if t != "" {
			s.bootstrap = append(s.bootstrap, Hash(t))
		}
	}
	return s
}

// Bootstrap reports whether bootstrap tokens are configured.
func (s *Store) Bootstrap() bool { return len(s.bootstrap) > 0 }

// Check returns the identity of token, or why it is refused; err is a
// database fault (the token could not be checked). The bootstrap tokens are
// compared in constant time, digest against digest. A database token is
// found by its digest, whose timing tells nothing of any token.
func (s *Store) Check(ctx context.Context, token string) (Identity, *Refusal, error) {
	d := Hash(token)
	ok := 0
	for _, b := range s.bootstrap {
		ok |= subtle.ConstantTimeCompare(d[:], b[:])
	}
	if ok == 1 {
		return Identity{Name: BootstrapName, Scope: Admin}, nil, nil
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return Identity{}, nil, err
	}
	now := s.now()
	if t, found := sn.tokens[d]; found {
		if t.expires != nil && !now.Before(*t.expires) {
			return Identity{}, &Refusal{Name: t.name, Reason: "the token expired at " + t.expires.UTC().Format(time.RFC3339)}, nil
		}
		return Identity{Name: t.name, Scope: t.scope}, nil, nil
	}
	row, err := dbq.New(s.db).APITokenByHash(ctx, d[:])
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Identity{}, &Refusal{Reason: "the API token is not accepted"}, nil
	case err != nil:
		return Identity{}, nil, fmt.Errorf("check the API token: %w", err)
	case row.RevokedAt != nil:
		return Identity{}, &Refusal{Name: row.Name, Reason: "the token was revoked at " + row.RevokedAt.UTC().Format(time.RFC3339)}, nil
	case row.ExpiresAt != nil && !now.Before(*row.ExpiresAt):
		return Identity{}, &Refusal{Name: row.Name, Reason: "the token expired at " + row.ExpiresAt.UTC().Format(time.RFC3339)}, nil
	}
	scope, err := ParseScope(row.Scope)
	if err != nil {
		return Identity{}, nil, err
	}
	s.snap.Store(nil) // made since the copy: read the table again next time
	return Identity{Name: row.Name, Scope: scope}, nil, nil
}

// Required reports whether a request must carry a token: bootstrap tokens
// are configured, or the database holds a live token.
func (s *Store) Required(ctx context.Context) (bool, error) {
	if len(s.bootstrap) > 0 {
		return true, nil
	}
	sn, err := s.snapshot(ctx)
	if err != nil {
		return false, err
	}
	return len(sn.tokens) > 0, nil
}

// snapshot is the copy of the live tokens, read again when it is older
// than cacheFor. One request reads; the others wait for it.
func (s *Store) snapshot(ctx context.Context) (*snapshot, error) {
	if sn := s.snap.Load(); sn != nil && s.now().Sub(sn.at) < s.cacheFor {
		return sn, nil
	}
	s.refresh.Lock()
	defer s.refresh.Unlock()
	if sn := s.snap.Load(); sn != nil && s.now().Sub(sn.at) < s.cacheFor {
		return sn, nil
	}
	at := s.now()
	rows, err := dbq.New(s.db).LiveAPITokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the API tokens: %w", err)
	}
	sn := &snapshot{at: at, tokens: make(map[Digest]liveToken, len(rows))}
	for _, r := range rows {
		scope, err := ParseScope(r.Scope)
		if err != nil || len(r.TokenHash) != len(Digest{}) {
			continue // the table's checks make this impossible
		}
		sn.tokens[Digest(r.TokenHash)] = liveToken{name: r.Name, scope: scope, expires: r.ExpiresAt}
	}
	s.snap.Store(sn)
	return sn, nil
}
