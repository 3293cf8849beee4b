package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/hdi-dev/hdi/internal/config"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

func init() { addCommand(newJobsCmd) }

func newJobsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List, show and validate job files",
		Long: `Jobs are YAML files that say what to fetch from which provider, how to check
it, how to map it and where to load it (see jobs/README.md). hdi looks for
them in the jobs directory (jobs_dir, --jobs-dir) and has built-in jobs; a file
in the jobs directory overrides a built-in job of the same name.`,
		Example: "  hdi jobs list\n  hdi jobs show es-nq-ohlcv-1d\n  hdi jobs validate jobs/*.yaml",
	}
	cmd.AddCommand(newJobsListCmd(app), newJobsShowCmd(app), newJobsValidateCmd(app))
	return cmd
}

// jobOpts reads jobs without failing on unset secrets (list and show).
func (a *App) jobOpts(keepUnset bool) jobspec.Options {
	return jobspec.Options{LookupEnv: a.lookupEnv, KeepUnsetEnv: keepUnset}
}

func (a *App) lookupEnv(k string) (string, bool) {
	if a.env != nil {
		return a.env(k)
	}
	return os.LookupEnv(k)
}

func (a *App) jobsDir() string {
	if a.Config != nil {
		return a.Config.JobsDir
	}
	return "jobs"
}

func newJobsListCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the jobs of the jobs directory and the built-in jobs",
		Long: `List every job: its name, provider, dataset, schema, symbols, time range as
written, and file. Built-in jobs are marked; a file in the jobs directory with
the same name overrides one. Jobs that do not parse are listed with their error.
A scheduled job shows its schedule and its next run (UTC): 'hdi worker'
queues it then.`,
		Example: "  hdi jobs list\n  hdi jobs list --format json\n  hdi --jobs-dir ./jobs jobs list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format must be table or json, not %q", format)
			}
			ents, err := jobspec.List(app.jobsDir(), app.jobOpts(true))
			if err != nil {
				return err
			}
			rows := make([]jobspec.Summary, 0, len(ents))
			now := time.Now()
			for _, e := range ents {
				rows = append(rows, e.Summary(now))
			}
			if format == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPROVIDER\tDATASET\tSCHEMA\tSYMBOLS\tRANGE\tNEXT RUN\tFILE")
			for _, r := range rows {
				file := r.File
				if r.Builtin {
					file += " (built-in)"
				}
				if r.Error != "" {
					fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t%s  INVALID: %s\n", r.Name, file, r.Error)
					continue
				}
				rng := r.Start + ".." + r.End
				if r.Start == "" && r.End == "" {
					rng = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Provider, dash(r.Dataset), r.Schema, dash(strings.Join(r.Symbols, ",")), rng, dash(r.NextRun), file)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newJobsShowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME|FILE",
		Short: "Print the effective job (defaults filled, secrets masked) and its time range",
		Long: `Print the job as YAML after defaults, with provider secrets masked, followed
by comments giving its file and its resolved time range [start, end) in UTC.
Unset environment variables are left as ${NAME} and reported.`,
		Example: "  hdi jobs show es-nq-trades\n  hdi jobs show ./jobs/es-nq-ohlcv-1d.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			job, err := jobspec.FindWith(app.jobsDir(), args[0], app.jobOpts(true))
			if err != nil {
				return err
			}
			shown := *job
			if len(job.Provider.Config) > 0 {
				shown.Provider.Config = map[string]string{}
				for k, v := range job.Provider.Config {
					if config.IsSecretKey(k) && !strings.HasPrefix(v, "${") {
						v = config.Mask(v)
					}
					shown.Provider.Config[k] = v
				}
			}
			out, err := yaml.Marshal(&shown)
			if err != nil {
				return err
			}
			fmt.Fprintf(app.Stdout, "# file: %s\n", fileForShow(job.File))
			for _, e := range job.UnsetEnv {
				fmt.Fprintf(app.Stdout, "# warning: %s\n", e.Msg)
			}
			r, warns, err := job.TimeRange(time.Now())
			switch {
			case err != nil:
				fmt.Fprintf(app.Stdout, "# time range: %v\n", err)
			case r.IsZero():
				fmt.Fprintf(app.Stdout, "# time range: none (the provider decides)\n")
			default:
				fmt.Fprintf(app.Stdout, "# time range: %s (%s)\n", r, r.Duration())
			}
			for _, w := range warns {
				fmt.Fprintf(app.Stdout, "# warning: %s\n", w)
			}
			if c := job.Chunking.Time; !c.IsZero() && !r.IsZero() {
				fmt.Fprintf(app.Stdout, "# chunks: %d of %s\n", len(timerange.Split(r, c)), c)
			}
			_, err = app.Stdout.Write(out)
			return err
		},
	}
}

func fileForShow(f string) string {
	if strings.HasPrefix(f, jobspec.BuiltinPrefix) {
		return f
	}
	if abs, err := filepath.Abs(f); err == nil {
		return abs
	}
	return f
}

func newJobsValidateCmd(app *App) *cobra.Command {
	var skipEnv bool
	cmd := &cobra.Command{
		Use:   "validate NAME|FILE...",
		Short: "Check jobs as a run would, without running them; one file:line: message per problem",
		Long: `Check each job the way a run plans it, without fetching data or using the
network: the file strictly (unknown keys, wrong types, bad dates, rule and
mapping parameters), then the provider's view (its params and config against
what it declares, its datasets, streams, symbols), the rules compiled against
the stream's schema, and, when a database is reachable (configured, or hdi's
local cluster running), the mapping against the target table.

It checks the job, not the machine: an environment variable provider.config
uses that is not set (DATABENTO_API_KEY) and a target table that does not
exist yet are warnings ("file:line: warning: message" on stderr), so a fresh
clone's jobs validate with no key and no database; --skip-env leaves out the
warnings about variables.

Prints "ok FILE" for each valid job on stdout and one "file:line: message"
line per problem on stderr; exits 1 if any job is invalid, 2 if an argument
names no job.`,
		Example: "  hdi jobs validate jobs/*.yaml\n  hdi jobs validate es-nq-trades\n  hdi jobs validate --skip-env jobs/es-nq-trades.yaml",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			pool, err := app.reachablePool(ctx)
			if err != nil {
				app.Logger.Info("the mappings are not checked against their tables: no database reachable", "why", err)
			} else {
				defer pool.Close()
			}
			host := pluginhost.New(app.pluginHostOptions())
			defer host.Close()
			r := app.newRunner(pool, host, runner.Options{Offline: true, DryRun: true})
			failed, unknown := false, false
			for _, a := range args {
				job, err := jobspec.FindWith(app.jobsDir(), a, app.jobOpts(true))
				var plans []*runner.Planned
				switch {
				case err == nil && job.IsLive():
					plans, _, err = r.PlanLive(ctx, job)
				case err == nil:
					plans, err = r.PlanAll(ctx, job)
				}
				if err != nil {
					failed = true
					var nj *jobspec.NoJobError
					unknown = unknown || errors.As(err, &nj)
					var es jobspec.Errors
					if errors.As(err, &es) {
						for _, e := range es {
							fmt.Fprintln(app.Stderr, app.Redactor.Scrub(e.Error()))
						}
					} else {
						msg := err.Error()
						if !strings.Contains(msg, a) && (job == nil || !strings.Contains(msg, job.File)) {
							msg = a + ": " + msg
						}
						fmt.Fprintln(app.Stderr, app.Redactor.Scrub(msg))
					}
					continue
				}
				var warnings []string
				if !skipEnv {
					for _, e := range job.UnsetEnv {
						warnings = append(warnings, fmt.Sprintf("%s:%d: warning: %s", e.File, e.Line, e.Msg))
					}
				}
				for _, w := range plans[0].Warnings {
					warnings = append(warnings, job.File+": warning: "+w)
				}
				for _, w := range warnings {
					fmt.Fprintln(app.Stderr, app.Redactor.Scrub(w))
				}
				fmt.Fprintf(app.Stdout, "ok %s\n", job.File)
			}
			switch {
			case unknown:
				return usageError{errSilentFailure}
			case failed:
				return errSilentFailure
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&skipEnv, "skip-env", false, "no warnings about environment variables provider.config uses that are not set")
	return cmd
}
