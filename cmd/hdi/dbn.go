package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/synth"
)

func init() { addCommand(newDBNCmd) }

func newDBNCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dbn",
		Short: "Look inside Databento DBN files (.dbn, .dbn.zst; versions 1-3)",
		Example: "  hdi dbn synth --out downloads\n" +
			"  hdi dbn inspect downloads/demo.trades.dbn.zst\n" +
			"  hdi dbn cat downloads/demo.trades.dbn.zst --format csv --limit 10 --map-symbols",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newDBNInspectCmd(app), newDBNCatCmd(app), newDBNSynthCmd(app))
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
		Example: "  hdi dbn inspect downloads/demo.ohlcv-1d.dbn.zst downloads/demo.definition.dbn.zst\n" +
			"  zstd -dc downloads/demo.trades.dbn.zst | hdi dbn inspect -",
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
		Example: "  hdi dbn cat downloads/demo.trades.dbn.zst --limit 5\n" +
			"  hdi dbn cat downloads/demo.ohlcv-1m.dbn.zst --format csv --map-symbols > bars.csv",
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

func newDBNSynthCmd(app *App) *cobra.Command {
	var (
		out    string
		trades int
		plain  bool
	)
	cmd := &cobra.Command{
		Use:   "synth",
		Short: "Write a deterministic synthetic DBN data set (for the demo and benchmarks)",
		Long: `Write Databento-like DBN v3 files made by hdi's own encoder. By default it
writes the demo data set: ES and NQ futures trades, 1m and 1d bars and
definitions over 2024-03-11..2024-03-22, with ES.c.0 and NQ.c.0 mappings that
roll from the March to the June contract on 2024-03-15, and ES.FUT and NQ.FUT
parent mappings to every contract (the definitions, as Databento delivers a
request by parent symbol). ESH4 is instrument id 5482. With --trades N it
writes N trades into one file instead (benchmarks). The same flags always
give the same bytes. Paths are printed on stdout.`,
		Example: `  hdi dbn synth --out .hdi/demo
  hdi dbn synth --out bench --trades 100000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if trades < 0 {
				return usageErrorf("--trades must be >= 0, not %d", trades)
			}
			var paths []string
			if trades > 0 {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return err
				}
				ext := ".dbn.zst"
				if plain {
					ext = ".dbn"
				}
				p := filepath.Join(out, fmt.Sprintf("trades-%d%s", trades, ext))
				if err := synth.WriteTrades(p, trades, !plain); err != nil {
					return fmt.Errorf("synth: %w", err)
				}
				paths = []string{p}
			} else {
				var err error
				if paths, err = synth.WriteDemo(out, synth.DefaultDemo()); err != nil {
					return fmt.Errorf("synth: %w", err)
				}
			}
			for _, p := range paths {
				fmt.Fprintln(app.Stdout, p)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", ".hdi/demo", "directory to write into")
	cmd.Flags().IntVar(&trades, "trades", 0, "write this many trades into one file instead of the demo set")
	cmd.Flags().BoolVar(&plain, "plain", false, "with --trades: write uncompressed .dbn")
	return cmd
}
