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
	"github.com/hdi-dev/hdi/internal/jobspec"
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
                                marked), coverage heat map, runs (live)
  GET /api/v1/queries           the read queries with their typed parameters
  GET /api/v1/queries/{Name}    a query, bound and checked as 'hdi query Name'
  GET /api/v1/bars|trades|tbbo|statistics|definitions
                                as 'hdi query bars' ... (adjust= for bars)
  GET /api/v1/symbols/resolve   the per-day resolution of symbols
  GET /api/v1/coverage          rows per table, instrument and day
  GET /api/v1/runs, /api/v1/runs/{id}, /api/v1/jobs
  GET /openapi.json             OpenAPI 3.1
  GET /healthz                  200, or 503 when the database is down
  GET /metrics                  Prometheus

Data responses stream as json (default), ndjson, csv or parquet (format= or
Accept) with constant memory, at most serve.max_rows rows (limit= asks fewer).
Errors are RFC 9457 problem+json: 400 names the parameter, 404 an unknown
query, symbol or path, 503 a database that is unavailable (Retry-After), 504 a
query past the statement timeout. Every response has an X-Request-Id; a 5xx
gives it, and the log has the cause under it.

It listens on loopback unless API tokens are configured (HDI_API_TOKEN,
api_tokens, --token-file: one token a line); with them, /api/*, /openapi.json
and /metrics need 'Authorization: Bearer TOKEN'. The API only reads: its
sessions are read-only, with a statement timeout.`,
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
			for _, t := range tokens {
				app.Redactor.Add(strings.TrimSpace(t))
			}
			ts := serve.NewTokens(tokens...)
			if err := serve.CheckAddr(addr, ts); err != nil {
				return usageError{err}
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
			return app.runServe(cmd.Context(), addr, ts, cors, maxRows, stmtTimeout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "HOST:PORT to listen on (beyond loopback only with an API token)")
	f.StringVar(&tokenFile, "token-file", "", "a file of API tokens, one a line (also HDI_API_TOKEN, config api_tokens)")
	f.StringSliceVar(&cors, "cors-origin", nil, "an origin that may call the API from a browser (repeatable; config serve.cors_origins)")
	f.Int64Var(&maxRows, "max-rows", 0, "the most rows one response streams (config serve.max_rows, default 1000000)")
	f.DurationVar(&stmtTimeout, "statement-timeout", 0, "cancel a query running longer, 504 (config serve.statement_timeout, default 30s)")
	return cmd
}

func (a *App) runServe(ctx context.Context, addr string, tokens serve.Tokens, cors []string, maxRows int64, stmtTimeout time.Duration) error {
	url, err := a.databaseURL(ctx)
	if err != nil {
		return err
	}
	pool, err := serve.OpenPool(ctx, url, stmtTimeout)
	if err != nil {
		return err
	}
	defer pool.Close()
	cat, err := a.queryCatalog()
	if err != nil {
		return err
	}
	s, err := serve.New(ctx, serve.Options{
		Pool: pool, Catalog: cat, Tokens: tokens, MaxRows: maxRows, CORSOrigins: cors,
		Jobs:    func() ([]jobspec.Entry, error) { return jobspec.List(a.jobsDir(), a.jobOpts(true)) },
		Version: buildinfo.Get().Version, Logger: a.Logger, WorkerStaleAfter: a.Config.WorkerRescueAfter,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return s.ListenAndServe(ctx, addr, func(l net.Addr) {
		auth := "no token (loopback only)"
		if len(tokens) > 0 {
			auth = fmt.Sprintf("%d API token(s)", len(tokens))
		}
		a.Logger.Info("serving", "url", "http://"+l.String()+"/", "api", "http://"+l.String()+"/openapi.json", "auth", auth, "max_rows", maxRows)
	})
}
