package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/buildinfo"
	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/internal/serve"
)

func init() { addCommand(newServeCmd) }

func newServeCmd(app *App) *cobra.Command {
	var (
		addr, tokenFile string
		cors            []string
		maxRows         int64
		stmtTimeout     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the queries as an HTTP API, a web page with charts, and metrics",
		Long: `Serve, from the same SQL files as 'hdi query' (user files of --queries-dir
override built-ins):

  GET /                         the web page: chart (bars, back-adjusted, rolls
                                marked), coverage heat map, runs (live; start,
                                cancel and retry with a run token)
  GET /api/v1/queries           the read queries with their typed parameters
  GET /api/v1/queries/{Name}    a query, bound and checked as 'hdi query Name'
  GET /api/v1/bars|trades|tbbo|statistics|definitions
                                as 'hdi query bars' ... (adjust= for bars)
  GET /api/v1/symbols/resolve   the per-day resolution of symbols
  GET /api/v1/coverage          rows per table, instrument and day
  GET /api/v1/runs, /api/v1/runs/{id}, /api/v1/jobs, /api/v1/whoami
  POST /api/v1/runs             queue a run of a job (hdi ingest --job --queue)
  POST /api/v1/runs/{id}/cancel, /api/v1/quarantine/{run}/retry
  GET /api/v1/tokens, /api/v1/audit; POST /api/v1/tokens, .../{name}/revoke
  GET /openapi.json             OpenAPI 3.1
  GET /healthz                  200, or 503 when the database is down
  GET /metrics                  Prometheus

Data responses stream as json (default), ndjson, csv or parquet (format= or
Accept) with constant memory, at most serve.max_rows rows (limit= asks fewer).
Errors are RFC 9457 problem+json: 400 names the parameter or field, 401 no
accepted token, 403 a scope too small, 404 an unknown query, symbol, run or
path, 429 past a rate limit (Retry-After), 503 a database that is
unavailable, 504 a query past the statement timeout. Every response has an
X-Request-Id; a 5xx gives it, and the log has the cause under it.

Tokens have scopes: read (GET), run (also queue, cancel, retry), admin (also
tokens and the audit log); 'hdi tokens create' makes them. The token file,
HDI_API_TOKEN and api_tokens are admin tokens for bootstrapping. Once any
token exists, /api/*, /openapi.json and /metrics need 'Authorization: Bearer
TOKEN'; until then, on loopback, a request without one may read. Beyond
loopback it listens only when a token exists. Every write and every refused
authentication is a row of the audit log ('hdi audit list'). The queries
read only: their sessions are read-only, with a statement timeout.`,
		Example: `  hdi serve                                   # (until SIGTERM)
  hdi serve --addr 127.0.0.1:8081 --max-rows 100000   # (until SIGTERM)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tokens := append([]string{}, app.Config.APITokens...)
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return fmt.Errorf("--token-file: %w", err)
				}
				tokens = append(tokens, strings.Split(string(b), "\n")...)
			}
			var bootstrap []string
			for _, t := range tokens {
				if t = strings.TrimSpace(t); t != "" {
					app.Redactor.Add(t)
					bootstrap = append(bootstrap, t)
				}
			}
			if !cmd.Flags().Changed("cors-origin") {
				cors = app.Config.ServeCORSOrigins
			}
			if !cmd.Flags().Changed("max-rows") {
				maxRows = app.Config.ServeMaxRows
			}
			if !cmd.Flags().Changed("statement-timeout") {
				stmtTimeout = app.Config.ServeStatementTimeout
			}
			if maxRows < 1 {
				return usageErrorf("--max-rows must be 1 or more, got %d", maxRows)
			}
			if stmtTimeout < time.Second {
				return usageErrorf("--statement-timeout must be at least 1s, got %s", stmtTimeout)
			}
			if err := serve.CheckAddr(addr, true); err != nil {
				return usageError{err} // a malformed address
			}
			return app.runServe(cmd.Context(), serve.Options{Public: !serve.IsLoopback(addr), BootstrapTokens: bootstrap,
				MaxRows: maxRows, CORSOrigins: cors}, addr, stmtTimeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "HOST:PORT to listen on (beyond loopback only with an API token)")
	f.StringVar(&tokenFile, "token-file", "", "a file of bootstrap (admin) API tokens, one a line (also HDI_API_TOKEN, config api_tokens)")
	f.StringSliceVar(&cors, "cors-origin", nil, "an origin that may call the API from a browser (repeatable; config serve.cors_origins)")
	f.Int64Var(&maxRows, "max-rows", 0, "the most rows one response streams (config serve.max_rows, default 1000000)")
	f.DurationVar(&stmtTimeout, "statement-timeout", 0, "cancel a query running longer, 504 (config serve.statement_timeout, default 30s)")
	return cmd
}

func (a *App) runServe(ctx context.Context, o serve.Options, addr string, stmtTimeout time.Duration) error {
	url, err := a.databaseURL(ctx)
	if err != nil {
		return err
	}
	pool, err := serve.OpenPool(ctx, url, stmtTimeout)
	if err != nil {
		return err
	}
	defer pool.Close()
	// The write requests and the audit log: a read-write pool of their own.
	wpool, err := a.openSchemaPool(ctx, false, 4)
	if err != nil {
		return err
	}
	defer wpool.Close()
	if o.Public {
		live, err := dbq.New(pool).LiveAPITokens(ctx)
		if err != nil {
			return fmt.Errorf("read the API tokens: %w", err)
		}
		if err := serve.CheckAddr(addr, len(o.BootstrapTokens)+len(live) > 0); err != nil {
			return usageError{err}
		}
	}
	cat, err := a.queryCatalog()
	if err != nil {
		return err
	}
	host := pluginhost.New(a.pluginHostOptions())
	defer host.Close()
	o.Pool, o.Catalog = pool, cat
	o.Ops = a.opsEnv(wpool, host)
	o.Jobs = func() ([]jobspec.Entry, error) { return jobspec.List(a.jobsDir(), a.jobOpts(true)) }
	o.TokenCache, o.TokenRate, o.AddressRate, o.TokenQueries = a.Config.ServeTokenCache, a.Config.ServeTokenRateLimit,
		a.Config.ServeAddressRateLimit, a.Config.ServeTokenQueries
	o.Version, o.Logger, o.WorkerStaleAfter = buildinfo.Get().Version, a.Logger, a.Config.WorkerRescueAfter
	s, err := serve.New(ctx, o)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return s.ListenAndServe(ctx, addr, func(l net.Addr) {
		auth := "tokens of the database; without one, reads only (loopback)"
		switch {
		case o.Public:
			auth = "a token on every request"
		case len(o.BootstrapTokens) > 0:
			auth = fmt.Sprintf("%d bootstrap token(s) and the database's", len(o.BootstrapTokens))
		}
		a.Logger.Info("serving", "url", "http://"+l.String()+"/", "api", "http://"+l.String()+"/openapi.json", "auth", auth, "max_rows", o.MaxRows)
	})
}
