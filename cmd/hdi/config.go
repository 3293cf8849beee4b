package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func init() { addCommand(newConfigCmd) }

func newConfigCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "config",
		Short:   "Inspect hdi's configuration",
		Example: "  hdi config show",
	}
	var format string
	show := &cobra.Command{
		Use:   "show",
		Short: "Print every effective setting and where it came from (secrets masked)",
		Long: `Print every setting with its effective value and its source: a flag, an
environment variable, the config file (with its line), or the default.
Provider settings that come from the environment variables the providers
declare (DATABENTO_API_KEY, ...) are listed too.

Masked: the passwords of database_url (also in a URL that does not parse,
and password= in keyword/value form), api_tokens, and every provider setting
except those its provider declares not secret: a key the provider does not
declare, and every key of a provider that is not installed or does not
start, is masked. A key under providers.NAME that the installed provider
does not declare is an error naming the file, the line and the key.`,
		Example: "  hdi config show\n  HDI_LOG_LEVEL=debug hdi config show --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rows := append(app.Config.Show(), app.providerEnvSettings(cmd.Context())...)
			switch format {
			case "json":
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			case "table":
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Key, r.Value, r.Source)
				}
				return tw.Flush()
			}
			return usageErrorf("--format must be table or json, not %q", format)
		},
	}
	show.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.AddCommand(show)
	return cmd
}
