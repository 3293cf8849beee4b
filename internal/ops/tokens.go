package ops

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/access"
	"github.com/hdi-dev/hdi/internal/dbq"
)

// Token is an API token as `hdi tokens list` and GET /api/v1/tokens show
// it: never the token itself, nor its digest.
type Token struct {
	Name      string     `json:"name"`
	Scope     string     `json:"scope"`
	Status    string     `json:"status"` // active, expired or revoked
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func tokenOf(r dbq.ListAPITokensRow, now time.Time) Token {
	t := Token{Name: r.Name, Scope: r.Scope, Status: "active", CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt}
	switch {
	case r.RevokedAt != nil:
		t.Status = "revoked"
	case r.ExpiresAt != nil && !now.Before(*r.ExpiresAt):
		t.Status = "expired"
	}
	return t
}

var tokenNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NewToken is a token to create.
type NewToken struct {
	Name  string `json:"name" doc:"the token's name, as logs and the audit log show it: letters, digits, '.', '_', '-' (at most 64)"`
	Scope string `json:"scope" enum:"read,run,admin" doc:"read: queries, coverage, runs, metrics; run: also queue, cancel and retry runs; admin: also tokens and the audit log"`
	// Expires is a lifetime: 90d, 12h, 2w, 6mo, 1y ("": never).
	Expires string `json:"expires,omitempty" doc:"lifetime: 12h, 90d, 2w, 6mo or 1y (default: never expires)"`
}

// Check checks the token's fields (a *FieldError names the one at fault)
// and returns its scope and expiry (nil: never).
func (nt NewToken) Check(now time.Time, label Labels) (access.Scope, *time.Time, error) {
	if !tokenNameRe.MatchString(nt.Name) {
		return 0, nil, &FieldError{Field: "name", Err: fmt.Errorf("%s %q: use letters, digits, '.', '_' and '-' (at most 64), starting with a letter or digit", label("name"), nt.Name)}
	}
	scope, err := access.ParseScope(nt.Scope)
	if err != nil {
		return 0, nil, &FieldError{Field: "scope", Err: fmt.Errorf("%s: %w", label("scope"), err)}
	}
	if nt.Expires == "" {
		return scope, nil, nil
	}
	at, err := ExpiryOf(nt.Expires, now)
	if err != nil {
		return 0, nil, &FieldError{Field: "expires", Err: fmt.Errorf("%s: %w", label("expires"), err)}
	}
	return scope, &at, nil
}

// CreateToken makes a token and keeps its SHA-256 digest; the token itself
// is returned once, here, and kept nowhere.
func CreateToken(ctx context.Context, db dbq.DBTX, nt NewToken, now time.Time, label Labels) (string, Token, error) {
	scope, expires, err := nt.Check(now, label)
	if err != nil {
		return "", Token{}, err
	}
	secret := access.NewSecret()
	d := access.Hash(secret)
	row, err := dbq.New(db).CreateAPIToken(ctx, dbq.CreateAPITokenParams{Name: nt.Name, TokenHash: d[:], Scope: scope.String(), ExpiresAt: expires})
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return "", Token{}, &kindError{ErrConflict, fmt.Sprintf("a token named %q exists: revoke it first (hdi tokens revoke %s) or choose another name", nt.Name, nt.Name)}
	}
	if err != nil {
		return "", Token{}, fmt.Errorf("create token %s: %w", nt.Name, err)
	}
	return secret, tokenOf(dbq.ListAPITokensRow(row), now), nil
}

// ListTokens lists every token, revoked and expired ones too.
func ListTokens(ctx context.Context, db dbq.DBTX, now time.Time) ([]Token, error) {
	rows, err := dbq.New(db).ListAPITokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]Token, len(rows))
	for i, r := range rows {
		out[i] = tokenOf(r, now)
	}
	return out, nil
}

// RevokeToken revokes the token of that name; hdi serve refuses it within
// its token cache's time (serve.token_cache).
func RevokeToken(ctx context.Context, db dbq.DBTX, name string, now time.Time) (Token, error) {
	row, err := dbq.New(db).RevokeAPIToken(ctx, name)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, &kindError{ErrNotFound, fmt.Sprintf("no token %q to revoke: see `hdi tokens list`", name)}
	}
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %s: %w", name, err)
	}
	return tokenOf(dbq.ListAPITokensRow(row), now), nil
}

// ExpiryOf is the end of a lifetime from now: a whole number and a unit,
// h, d, w, mo (or m) or y, as hdi's relative dates (-30d) write them.
func ExpiryOf(lifetime string, now time.Time) (time.Time, error) {
	i := 0
	for i < len(lifetime) && lifetime[i] >= '0' && lifetime[i] <= '9' {
		i++
	}
	n, err := strconv.Atoi(lifetime[:i])
	bad := fmt.Errorf("%q is not a lifetime: want a whole number and h, d, w, mo or y (12h, 90d, 1y)", lifetime)
	if err != nil || n < 1 || n > 100000 {
		return time.Time{}, bad
	}
	switch strings.ToLower(lifetime[i:]) {
	case "h":
		return now.Add(time.Duration(n) * time.Hour), nil
	case "d":
		return now.AddDate(0, 0, n), nil
	case "w":
		return now.AddDate(0, 0, 7*n), nil
	case "mo", "m":
		return now.AddDate(0, n, 0), nil
	case "y":
		return now.AddDate(n, 0, 0), nil
	}
	return time.Time{}, bad
}
