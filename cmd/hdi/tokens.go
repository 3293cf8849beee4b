package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/ops"
)

func init() { addCommand(newTokensCmd) }

func newTokensCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke the API tokens of hdi serve",
		Long: `An API token lets a client of 'hdi serve' in, with a scope: read (queries,
coverage, runs, metrics), run (also queue, cancel and retry runs) or admin
(also tokens and the audit log). The database keeps only a token's SHA-256;
the token is printed once, when it is made. The token file and
HDI_API_TOKEN stay admin tokens for bootstrapping.`,
		Example: "  hdi tokens create --name notebook --scope read\n  hdi tokens list\n  hdi tokens revoke notebook",
	}
	var nt ops.NewToken
	create := &cobra.Command{
		Use:   "create --name NAME --scope read|run|admin [--expires 90d]",
		Short: "Make a token and print it, once, on stdout",
		Long: `Make a token and print it on stdout: it is shown this once and kept nowhere
(the database keeps its SHA-256). Send it as 'Authorization: Bearer TOKEN'.
Once a token exists, hdi serve requires one on every request.`,
		Example: `  hdi tokens create --name notebook --scope read --expires 90d
  TOKEN=$(hdi tokens create --name scheduler --scope run) && hdi tokens revoke scheduler`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := nt.Check(time.Now(), ops.Flags); err != nil {
				return usageError{err} // before the database: a usage error whatever its state
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				secret, tok, err := ops.CreateToken(ctx, pool, nt, time.Now(), ops.Flags)
				if err != nil {
					return err
				}
				app.Redactor.Add(secret)
				fmt.Fprintln(app.Stdout, secret)
				expires := "never expires"
				if tok.ExpiresAt != nil {
					expires = "expires " + tok.ExpiresAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(app.Stderr, "token %s created, scope %s, %s: it is shown once; send it as Authorization: Bearer TOKEN\n", tok.Name, tok.Scope, expires)
				return nil
			})
		},
	}
	create.Flags().StringVar(&nt.Name, "name", "", "the token's name, as logs and the audit log show it")
	create.Flags().StringVar(&nt.Scope, "scope", "read", "read, run or admin")
	create.Flags().StringVar(&nt.Expires, "expires", "", "lifetime: 12h, 90d, 2w, 6mo, 1y (default: never)")

	var format string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the tokens: name, scope, status, created, expires (never a token itself)",
		Example: "  hdi tokens list\n  hdi tokens list --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				toks, err := ops.ListTokens(ctx, pool, time.Now())
				if err != nil {
					return err
				}
				if format == "json" {
					return writeJSON(app, toks)
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSCOPE\tSTATUS\tCREATED\tEXPIRES\tREVOKED")
				for _, t := range toks {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Scope, t.Status, t.CreatedAt.UTC().Format(time.RFC3339), timeOrDash(t.ExpiresAt), timeOrDash(t.RevokedAt))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&format, "format", "table", "output format: table or json")

	revoke := &cobra.Command{
		Use:     "revoke NAME",
		Short:   "Revoke a token: hdi serve refuses it within serve.token_cache (default 5s)",
		Example: "  hdi tokens revoke notebook",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				tok, err := ops.RevokeToken(ctx, pool, args[0], time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stderr, "token %s revoked at %s: hdi serve refuses it within %s (serve.token_cache)\n", tok.Name, timeOrDash(tok.RevokedAt), app.Config.ServeTokenCache)
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
