package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/status"
)

func init() { addCommand(newStatusCmd) }

func newStatusCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the configuration source, the database, TimescaleDB, migrations and plugins",
		Long: `Show where the configuration came from, whether the database answers (host,
port and database; never the password), the server version, whether the
TimescaleDB extension is available or installed, the applied migration
version against the latest one this hdi embeds, the work queue (units waiting
per queue and state) and the live workers, and the provider plugins found.
It exits 1 when the database cannot be reached.`,
		Example: "  hdi status\n  hdi status --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageErrorf("--format must be text or json, not %q", format)
			}
			ctx := cmd.Context()
			r := status.NewReport(app.Config.File)
			url, source, err := app.statusDatabaseURL(ctx)
			if err != nil {
				r.Database.Source = source
				r.Database.Error = err.Error()
			} else {
				r.WorkerStaleAfter = app.Config.WorkerRescueAfter
				r.CheckDatabase(ctx, url, source)
			}
			r.Plugins, r.PluginError = app.statusPlugins(ctx)
			if format == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(r); err != nil {
					return err
				}
			} else if err := r.WriteText(app.Stdout); err != nil {
				return err
			}
			if !r.Database.Reachable {
				return errSilentFailure
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
