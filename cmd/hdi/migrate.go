package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/migrate"
)

func init() { addCommand(newMigrateCmd) }

func newMigrateCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply, roll back or list hdi's database migrations",
		Long: `hdi's tables come from goose migrations embedded in the binary. Concurrent
runs are safe: an advisory lock makes a second 'hdi migrate up' wait for the first.`,
		Example: "  hdi migrate up\n  hdi migrate status",
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:     "up",
			Short:   "Apply every pending migration",
			Example: "  hdi migrate up\n  hdi --database-url \"$(hdi db url)\" migrate up",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return app.withMigrator(cmd.Context(), func(ctx context.Context, m *migrate.Migrator) error {
					rs, err := m.Up(ctx)
					app.reportMigrations(rs, "applied")
					return err
				})
			},
		},
		newMigrateDownCmd(app),
		&cobra.Command{
			Use:     "redo",
			Short:   "Roll back the latest migration and apply it again",
			Example: "  hdi migrate redo",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return app.withMigrator(cmd.Context(), func(ctx context.Context, m *migrate.Migrator) error {
					rs, err := m.Redo(ctx)
					app.reportMigrations(rs, "redone")
					return err
				})
			},
		},
		newMigrateStatusCmd(app),
		&cobra.Command{
			Use:   "timescale",
			Short: "Convert a database migrated without TimescaleDB, once the extension is installed",
			Long: `On a server without TimescaleDB, hdi's market tables are plain PostgreSQL
tables and the roll-ups plain views. Once TimescaleDB is installed on the
server (the package, and timescaledb in shared_preload_libraries), this
converts the database in place: the extension, every market table a
hypertable with its rows and compression, the roll-ups continuous
aggregates. It applies migration 00005 again in the migration lock; the
other migrations are untouched. A database already converted is left as it
is; a server without TimescaleDB is an error that says what to install.`,
			Example: "  hdi migrate timescale    # without TimescaleDB on the server it says what to install (exit 1)",
			Args:    cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return app.withMigrator(cmd.Context(), func(ctx context.Context, m *migrate.Migrator) error {
					rs, hts, err := m.Timescale(ctx)
					app.reportMigrations(rs, "re-applied")
					if err != nil {
						return err
					}
					if len(rs) == 0 {
						fmt.Fprintf(app.Stderr, "already on TimescaleDB: %d hypertables\n", len(hts))
					} else {
						fmt.Fprintf(app.Stderr, "converted to TimescaleDB: %d hypertables (%s)\n", len(hts), strings.Join(hts, ", "))
					}
					return nil
				})
			},
		},
	)
	return cmd
}

func newMigrateDownCmd(app *App) *cobra.Command {
	var to int64
	var all bool
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Roll back the latest migration (or down to a version)",
		Example: `  hdi migrate down
  hdi migrate down --to 1
  hdi migrate down --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all && cmd.Flags().Changed("to") {
				return usageErrorf("--all and --to exclude each other")
			}
			if to < 0 {
				return usageErrorf("--to must be a migration version >= 0, not %d", to)
			}
			return app.withMigrator(cmd.Context(), func(ctx context.Context, m *migrate.Migrator) error {
				var rs []migrate.Result
				var err error
				switch {
				case all:
					rs, err = m.DownTo(ctx, 0)
				case cmd.Flags().Changed("to"):
					rs, err = m.DownTo(ctx, to)
				default:
					rs, err = m.Down(ctx)
				}
				app.reportMigrations(rs, "rolled back")
				return err
			})
		},
	}
	cmd.Flags().Int64Var(&to, "to", 0, "roll back every migration above this version")
	cmd.Flags().BoolVar(&all, "all", false, "roll back every migration (drops all of hdi's tables and data)")
	return cmd
}

func newMigrateStatusCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "status",
		Short:   "List every migration and whether it is applied",
		Example: "  hdi migrate status\n  hdi migrate status --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format must be table or json, not %q", format)
			}
			return app.withMigrator(cmd.Context(), func(ctx context.Context, m *migrate.Migrator) error {
				ss, err := m.Status(ctx)
				if err != nil {
					return err
				}
				if format == "json" {
					return json.NewEncoder(app.Stdout).Encode(ss)
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
				for _, s := range ss {
					applied := "pending"
					if s.AppliedAt != nil {
						applied = s.AppliedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, applied)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

// withMigrator opens the migrator on the effective database and closes it after fn.
func (a *App) withMigrator(ctx context.Context, fn func(context.Context, *migrate.Migrator) error) error {
	url, err := a.databaseURL(ctx)
	if err != nil {
		return err
	}
	m, err := migrate.Open(ctx, url, migrate.Options{})
	if err != nil {
		return err
	}
	defer m.Close()
	return fn(ctx, m)
}

func (a *App) reportMigrations(rs []migrate.Result, verb string) {
	if len(rs) == 0 {
		a.Logger.Info("no migration to apply or roll back: the schema is as asked")
		return
	}
	for _, r := range rs {
		a.Logger.Info("migration "+verb, "version", r.Version, "name", r.Name, "duration", r.Duration.Round(time.Millisecond))
	}
}
