package access

import (
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestStore: a token made after the copy was read is accepted at once; a
// revoked one is accepted until the copy is older than cacheFor, and
// refused after (the bound the docs state); an expired one is refused at
// its expiry; a bootstrap token is admin without the database.
func TestStore(t *testing.T) {
	pool := pgtest.Connect(t, pgtest.NewMigratedDB(t))
	ctx := t.Context()
	clock := time.Now()
	s := NewStore(pool, time.Minute, "boot")
	s.now = func() time.Time { return clock }
	if req, err := s.Required(ctx); err != nil || !req {
		t.Fatalf("with a bootstrap token: required %v %v", req, err)
	}
	if id, ref, err := s.Check(ctx, "boot"); err != nil || ref != nil || id != (Identity{Name: BootstrapName, Scope: Admin}) {
		t.Fatalf("bootstrap: %+v %+v %v", id, ref, err)
	}
	if _, ref, err := s.Check(ctx, "unknown"); err != nil || ref == nil || ref.Name != "" {
		t.Fatalf("unknown: %+v %v", ref, err)
	}
	secret := NewSecret()
	d := Hash(secret)
	expires := clock.Add(time.Hour)
	q := dbq.New(pool)
	if _, err := q.CreateAPIToken(ctx, dbq.CreateAPITokenParams{Name: "ci", TokenHash: d[:], Scope: "run", ExpiresAt: &expires}); err != nil {
		t.Fatal(err)
	}
	if id, ref, err := s.Check(ctx, secret); err != nil || ref != nil || id != (Identity{Name: "ci", Scope: Run}) {
		t.Fatalf("a token made since: %+v %+v %v", id, ref, err)
	}
	if _, ref, _ := s.Check(ctx, secret); ref != nil { // now from the copy, read again
		t.Fatalf("from the copy: %+v", ref)
	}
	if _, err := q.RevokeAPIToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, ref, _ := s.Check(ctx, secret); ref != nil {
		t.Fatalf("refused before the copy is stale: %+v", ref)
	}
	clock = clock.Add(time.Minute)
	if _, ref, err := s.Check(ctx, secret); err != nil || ref == nil || ref.Name != "ci" {
		t.Fatalf("revoked, a minute on: %+v %v", ref, err)
	}

	open := NewStore(pool, time.Minute)
	open.now = func() time.Time { return clock }
	if req, err := open.Required(ctx); err != nil || req {
		t.Fatalf("no live token: required %v %v", req, err)
	}
	secret = NewSecret()
	d = Hash(secret)
	if _, err := q.CreateAPIToken(ctx, dbq.CreateAPITokenParams{Name: "nb", TokenHash: d[:], Scope: "read", ExpiresAt: &expires}); err != nil {
		t.Fatal(err)
	}
	if _, ref, _ := open.Check(ctx, secret); ref != nil {
		t.Fatalf("before expiry: %+v", ref)
	}
	if req, _ := open.Required(ctx); !req {
		t.Fatal("a live token does not make one required")
	}
	clock = expires
	if _, ref, _ := open.Check(ctx, secret); ref == nil || ref.Name != "nb" {
		t.Fatalf("at expiry: %+v", ref)
	}
}
