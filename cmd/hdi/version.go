package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/buildinfo"
)

func init() { addCommand(newVersionCmd) }

func newVersionCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print hdi's version, commit and Go version",
		Example: "  hdi version\n  hdi version --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Get()
			switch format {
			case "json":
				return json.NewEncoder(app.Stdout).Encode(info)
			case "text":
				dirty := ""
				if info.Modified {
					dirty = " (modified)"
				}
				_, err := fmt.Fprintf(app.Stdout, "hdi %s\ncommit %s%s\n%s\n", info.Version, info.Commit, dirty, info.GoVersion)
				return err
			}
			return usageErrorf("--format must be text or json, not %q", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
