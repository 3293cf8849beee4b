package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/hdi-dev/hdi/internal/config"
	"github.com/hdi-dev/hdi/internal/logging"
)

// providerCommands start providers or show their settings. Before they
// run, they check the provider sections of the config file against what
// the providers declare (checkProviderConfig), starting the providers the
// file names. The other commands read no provider setting and start no
// plugin, so they check the file as far as it goes without plugins (keys,
// types, shape): `hdi version` or `hdi migrate up` must not wait for, or
// fail with, a plugin.
var providerCommands = []string{
	"hdi config show", "hdi status", "hdi serve", "hdi worker", "hdi ingest", "hdi stream",
	"hdi jobs validate", "hdi plugins list", "hdi plugins describe", "hdi quarantine retry",
}

type globalFlags struct {
	configFile string
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "hdi",
		Short: "SQL-first, plugin-driven ETL for historical market data",
		Long: `hdi pulls historical market data from provider plugins (Databento first),
checks it against declarative rules, maps it, and loads it into PostgreSQL or
TimescaleDB, where you query it with SQL files.`,
		Example: `  hdi status
  hdi migrate up
  hdi config show`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := app.loadConfig(cmd); err != nil {
				return err
			}
			if slices.Contains(providerCommands, cmd.CommandPath()) {
				return app.checkProviderConfig(cmd.Context())
			}
			return nil
		},
	}
	root.SetIn(app.Stdin)
	root.SetOut(app.Stdout)
	root.SetErr(app.Stderr)
	// groups are the commands that only hold subcommands (and the root):
	// a word after one of them names a subcommand.
	groups := map[*cobra.Command]bool{root: true}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// "hdi ingset --file x": the flags are another command's; the
		// word before them is the mistake.
		if groups[c] && c.Flags().NArg() > 0 {
			return unknownCommand(c, c.Flags().Arg(0))
		}
		return usageError{err}
	})

	pf := root.PersistentFlags()
	pf.StringVar(&app.flags.configFile, "config", "", "config file (default ./hdi.yaml, else $XDG_CONFIG_HOME/hdi/config.yaml)")
	for _, d := range config.Defs {
		if d.Flag != "" {
			pf.String(d.Flag, d.Default, d.Help)
		}
	}
	for _, ctor := range commandCtors {
		root.AddCommand(ctor(app))
	}
	// Unknown subcommands of a command group are usage errors too, with
	// the subcommands their name is close to.
	noCommand := func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return unknownCommand(cmd, args[0])
		}
		return nil
	}
	for _, c := range root.Commands() {
		if c.HasSubCommands() && c.RunE == nil && c.Run == nil {
			groups[c] = true
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return usageErrorf("%s needs a subcommand (%s)", cmd.CommandPath(), subcommandNames(cmd))
			}
		}
	}
	for c := range groups {
		c.Args = noCommand
		c.SuggestionsMinimumDistance = 2
	}
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	return root
}

// unknownCommand says that cmd has no subcommand name, and which of its
// subcommands have a name close to it (a typo: ingset, ingest).
func unknownCommand(cmd *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if cmd.HasParent() {
		msg += fmt.Sprintf(" for %q", cmd.CommandPath())
	}
	if s := cmd.SuggestionsFor(name); len(s) > 0 {
		for i := range s {
			s[i] = strconv.Quote(s[i])
		}
		msg += " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return usageError{errors.New(msg)}
}

func subcommandNames(cmd *cobra.Command) string {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() {
			names = append(names, c.Name())
		}
	}
	return fmt.Sprint(names)
}

// loadConfig resolves the configuration and builds the logger once per run.
func (a *App) loadConfig(cmd *cobra.Command) error {
	flags := config.Flags{Values: map[string]string{}, Set: map[string]bool{}}
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		flags.Values[f.Name] = f.Value.String()
		flags.Set[f.Name] = f.Changed
	})
	cfg, err := config.Load(flags, a.env, a.flags.configFile)
	if err != nil {
		return configError(err)
	}
	a.Config = cfg
	a.Redactor.Add(secretsOf(cfg)...)
	level, err := logging.ParseLevel(cfg.LogLevel)
	if err != nil {
		return usageError{err}
	}
	a.Logger = logging.New(a.Stderr, cfg.LogFormat, level, a.Redactor)
	return nil
}

// configError is a mistake in the configuration: one line, exit 2.
func configError(err error) error {
	return exitCodeError{code: exitUsage, msg: err.Error()}
}

// secretsOf lists the configured secrets so they can be scrubbed from
// output. Provider values are taken by their key's name here; once the
// providers have declared their keys, checkProviderConfig adds every value
// config show masks.
func secretsOf(cfg *config.Config) []string {
	out := config.Passwords(cfg.DatabaseURL)
	for _, m := range cfg.Providers {
		for k, v := range m {
			if config.IsSecretKey(k) {
				out = append(out, v)
			}
		}
	}
	for _, name := range []string{"PGPASSWORD"} {
		if v, ok := os.LookupEnv(name); ok {
			out = append(out, v)
		}
	}
	return out
}

// isTerminal reports whether w is a terminal (for progress bars and colours).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
