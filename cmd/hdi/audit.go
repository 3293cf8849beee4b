package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/access"
	"github.com/hdi-dev/hdi/internal/dbq"
)

func init() { addCommand(newAuditCmd) }

func newAuditCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log of hdi serve: who wrote what, and refused authentications",
		Long: `hdi serve records every write request (a run queued, cancelled or retried,
a token made or revoked) and every refused authentication (401, 403) as one
row of the append-only audit_log table: time, token name, remote address,
method, route, run, status and outcome.`,
		Example: "  hdi audit list\n  hdi audit list --since -7d --token scheduler",
	}
	var (
		since, token, format string
		limit                int64
	)
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the audit log, newest first",
		Example: "  hdi audit list --since today\n  hdi audit list --token scheduler --limit 20 --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			if limit < 1 {
				return usageErrorf("--limit must be 1 or more, got %d", limit)
			}
			p, err := access.AuditFilter(since, token, limit, time.Now(), "--since")
			if err != nil {
				return usageError{err}
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				rows, err := dbq.New(pool).AuditLog(ctx, p)
				if err != nil {
					return fmt.Errorf("read the audit log: %w", err)
				}
				if format == "json" {
					return writeJSON(app, rows)
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TIME\tTOKEN\tADDRESS\tMETHOD\tROUTE\tRUN\tSTATUS\tOUTCOME")
				for _, r := range rows {
					run := "-"
					if r.RunID != nil {
						run = strconv.FormatInt(*r.RunID, 10)
					}
					name := "-"
					if r.TokenName != nil {
						name = *r.TokenName
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.At.UTC().Format(time.RFC3339), name, r.RemoteAddr, r.Method, r.Route, run, r.Status, oneLine(r.Outcome))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&since, "since", "", "rows from this time on: a date, an RFC 3339 time, or relative (-7d, -12h, today)")
	list.Flags().StringVar(&token, "token", "", "only the rows of this token (its name)")
	list.Flags().Int64Var(&limit, "limit", 100, "how many rows")
	list.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.AddCommand(list)
	return cmd
}
