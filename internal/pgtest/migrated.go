package pgtest

import (
	"context"
	"testing"

	"github.com/hdi-dev/hdi/internal/migrate"
)

// Migrate applies every embedded migration to the database at url.
func Migrate(t testing.TB, url string) {
	t.Helper()
	ctx := context.Background()
	m, err := migrate.Open(ctx, url, migrate.Options{})
	if err != nil {
		t.Fatalf("pgtest: migrate: %v", err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("pgtest: migrate up: %v", err)
	}
}

// NewMigratedDB is NewDB with every migration applied.
func NewMigratedDB(t testing.TB) string {
	t.Helper()
	url := NewDB(t)
	Migrate(t, url)
	return url
}
