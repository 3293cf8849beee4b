package migrate

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverVersion is the River schema version migration 00009 installs. A
// later River schema comes as a new migration that moves this pin, never as
// an edit of 00009.
const RiverVersion = 8

// riverMigration is migration 00009: River's tables (the work queue of
// `hdi worker`), created and removed by River's own migrator. River applies
// each of its versions in a transaction of its own (some cannot share one),
// so goose runs this migration outside a transaction; River records what it
// applied in river_migration, so an interrupted run resumes. River works on
// a pool of its own, made from cfg: goose holds a connection of the
// migrator's pool while it runs a migration.
func riverMigration(cfg *pgxpool.Config) *goose.Migration {
	run := func(dir rivermigrate.Direction, target int) func(context.Context, *sql.DB) error {
		return func(ctx context.Context, _ *sql.DB) error {
			pcfg := cfg.Copy()
			pcfg.MaxConns = 2
			pool, err := pgxpool.NewWithConfig(ctx, pcfg)
			if err != nil {
				return err
			}
			defer pool.Close()
			m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
			if err == nil {
				_, err = m.Migrate(ctx, dir, &rivermigrate.MigrateOpts{TargetVersion: target})
			}
			if err != nil {
				return fmt.Errorf("river schema: %w", err)
			}
			return nil
		}
	}
	// Down to -1: every River version, river_migration included.
	return goose.NewGoMigration(riverVersion, &goose.GoFunc{RunDB: run(rivermigrate.DirectionUp, RiverVersion)},
		&goose.GoFunc{RunDB: run(rivermigrate.DirectionDown, -1)})
}

// riverVersion is the goose version of the River migration.
const riverVersion = 9

// goNames names the Go migrations in listings (goose knows no file).
var goNames = map[int64]string{riverVersion: "00009_river_queue.go"}
