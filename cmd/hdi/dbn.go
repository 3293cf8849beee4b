package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/dbn"
)

func init() { addCommand(newDBNCmd) }

func newDBNCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dbn",
		Short: "Look inside Databento DBN files (.dbn, .dbn.zst; versions 1-3)",
		Example: "  hdi dbn inspect ../shared/testdata/dbn/test_data.trades.v3.dbn.zst\n" +
			"  hdi dbn cat ../shared/testdata/dbn/test_data.trades.v3.dbn.zst --format csv --limit 10 --map-symbols",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDBNInspectCmd(app), newDBNCatCmd(app))
	return cmd
}

// openDBN opens a file, or stdin for "-".
func openDBN(app *App, name string) (*dbn.Reader, error) {
	opt := dbn.WithLogger(app.Logger)
	if name == "-" {
		return dbn.NewReader(app.Stdin, opt)
	}
	r, err := dbn.Open(name, opt)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

func newDBNInspectCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect FILE...",
		Short: "Print a DBN file's metadata, symbol mappings and record counts per record type",
		Example: "  hdi dbn inspect ../shared/testdata/dbn/test_data.ohlcv-1s.v3.dbn.zst ../shared/testdata/dbn/test_data.definition.v1.dbn.zst\n" +
			"  zstd -dc ../shared/testdata/dbn/test_data.mbo.v3.dbn.zst | hdi dbn inspect -",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			for i, name := range args {
				if i > 0 {
					fmt.Fprintln(app.Stdout)
				}
				r, err := openDBN(app, name)
				if err != nil {
					return err
				}
				err = dbn.Inspect(app.Stdout, name, r)
				r.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			return nil
		},
	}
}

func newDBNCatCmd(app *App) *cobra.Command {
	var opts dbn.CatOptions
	cmd := &cobra.Command{
		Use:   "cat FILE",
		Short: "Print a DBN file's records as JSON lines or CSV",
		Long: "Print a DBN file's records as JSON lines or CSV, with Databento's field names.\n" +
			"Prices are exact decimals, timestamps RFC 3339 UTC with nanoseconds; undefined\n" +
			"values are null (JSON) or empty (CSV). FILE may be - for stdin.",
		Example: "  hdi dbn cat ../shared/testdata/dbn/test_data.trades.v3.dbn.zst --limit 5\n" +
			"  hdi dbn cat ../shared/testdata/dbn/test_data.ohlcv-1m.v3.dbn.zst --format csv --map-symbols > bars.csv",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Format != "json" && opts.Format != "csv" {
				return usageErrorf("--format must be json or csv, not %q", opts.Format)
			}
			if opts.Limit < 0 {
				return usageErrorf("--limit must be 0 (no limit) or more, not %d", opts.Limit)
			}
			r, err := openDBN(app, args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			if err := dbn.Cat(app.Stdout, r, opts); err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "json", "output format: json or csv")
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "print at most N records (0: all)")
	cmd.Flags().BoolVar(&opts.MapSymbols, "map-symbols", false, "add each record's symbol, resolved through the file's symbol mappings")
	return cmd
}
