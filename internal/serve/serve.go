// Package serve is `hdi serve`: the query catalog and the symbol queries
// as an HTTP API (OpenAPI 3.1 from the catalog and the handlers), the web
// page with its chart, coverage heat map and runs, Prometheus metrics and
// a health check, from one binary and the same SQL files as `hdi query`.
//
// The queries read only: their connections are read-only sessions with a
// statement timeout, and the catalog refuses write statements. The write
// endpoints (queue, cancel and retry runs; tokens) go through package ops
// on a pool of their own, behind tokens with scopes, each recorded in the
// audit log (auth.go).
package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/access"
	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/status"
	"github.com/hdi-dev/hdi/internal/web"
)

// Options configure a server.
type Options struct {
	// Pool is the database; OpenPool makes one with read-only sessions.
	Pool    *pgxpool.Pool
	Catalog *query.Catalog
	// Jobs lists the jobs (GET /api/v1/jobs).
	Jobs func() ([]jobspec.Entry, error)
	// Ops does the write requests; its Pool (read-write) also keeps the
	// audit log and the idempotency keys.
	Ops *ops.Env
	// BootstrapTokens are admin tokens from the configuration (the token
	// file, HDI_API_TOKEN); the database's tokens are checked too.
	BootstrapTokens []string
	// TokenCache is how long the server trusts its copy of the database's
	// tokens: a revoked token is refused within this long (default 5s).
	TokenCache time.Duration
	// Public: the server listens beyond loopback, so every request needs a
	// token, whatever the database holds.
	Public bool
	// TokenRate limits each token to this many requests a second, with
	// bursts of twice as many; AddressRate limits the refused
	// authentications of each address the same way (0: no limit).
	TokenRate, AddressRate int
	// TokenQueries caps the requests each token has under way at once (0:
	// no cap).
	TokenQueries int
	// MaxRows caps the rows of one response (default 1,000,000).
	MaxRows int64
	// CORSOrigins may call the API from a browser (none: CORS off).
	CORSOrigins []string
	// WorkerStaleAfter: a worker whose heartbeat is older is not counted
	// alive on /metrics (worker.rescue_after; default 30s).
	WorkerStaleAfter time.Duration
	Version          string
	Logger           *slog.Logger
}

// Server is the HTTP API and web page.
type Server struct {
	opts        Options
	metrics     *metrics
	handler     http.Handler
	tokens      *access.Store
	tokenRate   *limiter
	addressRate *limiter
	inFlight    *inFlight
	// datasets are the datasets picked for symbol requests without one
	// (their query is sent with the reads that pick it).
	datasets query.DatasetGuesses
}

// DefaultMaxRows is the default cap on the rows of one response.
const DefaultMaxRows = 1_000_000

// New builds the server's routes. Every catalog query becomes an operation
// (GET /api/v1/queries/NAME) with its typed parameters.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Pool == nil || opts.Catalog == nil || opts.Ops == nil {
		return nil, errors.New("serve: a pool, a query catalog and the write operations are required")
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.WorkerStaleAfter <= 0 {
		opts.WorkerStaleAfter = status.DefaultWorkerStaleAfter
	}
	s := &Server{opts: opts, metrics: newMetrics(opts.Pool, opts.WorkerStaleAfter), tokens: access.NewStore(opts.Pool, opts.TokenCache, opts.BootstrapTokens...),
		tokenRate: newLimiter(opts.TokenRate), addressRate: newLimiter(opts.AddressRate), inFlight: newInFlight(opts.TokenQueries)}
	r := chi.NewRouter()
	r.Use(requestIDs, s.metrics.middleware, s.cors, checkQuery)
	notFound := func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/api/v1/queries/"); ok {
			_, err := opts.Catalog.Lookup(name, "")
			if err == nil {
				err = fmt.Errorf("no query named %q", name)
			}
			writeProblem(w, r, &problem{status: http.StatusNotFound, detail: strings.Replace(err.Error(), "(hdi query list shows them all)", "(GET /api/v1/queries lists them)", 1)})
			return
		}
		detail := "no such endpoint: " + r.URL.Path + " (GET /openapi.json lists them)"
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			detail = "no such page or file: " + r.URL.Path + " (the page is at /)"
		}
		writeProblem(w, r, &problem{status: http.StatusNotFound, detail: detail})
	}
	r.NotFound(notFound)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, &problem{status: http.StatusMethodNotAllowed, detail: r.Method + " " + r.URL.Path + ": not a method of this endpoint (GET /openapi.json lists them)"})
	})
	r.Get("/healthz", s.health)
	page := web.Handler(http.HandlerFunc(notFound))
	for _, p := range web.Paths() {
		r.Get(p, page.ServeHTTP)
	}

	humaErrors()
	cfg := huma.DefaultConfig("hdi", opts.Version)
	cfg.Info.Description = "hdi's query catalog and symbol queries over HTTP. Every response streams; errors are RFC 9457 problem details."
	cfg.DocsPath, cfg.SchemasPath, cfg.CreateHooks = "", "", nil
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{"bearer": {Type: "http", Scheme: "bearer",
		Description: "An API token (hdi tokens create): scope read for GET, run to queue, cancel and retry runs, admin for tokens and the audit log"}}
	cfg.Security = []map[string][]string{{"bearer": {}}}
	var (
		api huma.API
		err error
	)
	r.Group(func(g chi.Router) {
		g.Use(s.authorize)
		g.Handle("/metrics", s.metrics.handler())
		api = humachi.New(g, cfg)
		err = s.routes(ctx, api, g)
	})
	if err != nil {
		return nil, err
	}
	for _, pi := range api.OpenAPI().Paths { // parameter errors are 400 here, not huma's 422
		if pi.Get != nil {
			delete(pi.Get.Responses, "422")
		}
	}
	s.handler = r
	return s, nil
}

// OpenPool connects for the API: read-only sessions (a write fails
// whatever the SQL says) with a statement timeout, on a database whose
// schema is current. A retry after a database fault checks the connection
// it is given first (see retry).
func OpenPool(ctx context.Context, url string, statementTimeout time.Duration) (*pgxpool.Pool, error) {
	cfg, err := dbconn.PoolConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(statementTimeout.Milliseconds(), 10)
	cfg.MaxConns = max(cfg.MaxConns, 16)
	// Results arrive in PostgreSQL's 8 KiB sends; pgx reads them 8 KiB a
	// system call. A larger buffer takes what has queued up on the socket
	// in one read while the server is busy streaming.
	cfg.ConnConfig.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, receiveBuffer), w)
	}
	cfg.ShouldPing = func(ctx context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration > time.Second || ctx.Value(liveConnKey{}) != nil // pgxpool's default, or a retry
	}
	return migrate.OpenPool(ctx, cfg)
}

// receiveBuffer is the read buffer of each API connection.
const receiveBuffer = 256 << 10

// liveConnKey marks the context of a retry: the pool pings each connection
// it would hand out and drops the dead ones (OpenPool's ShouldPing).
type liveConnKey struct{}

// retry runs f, and once more when it failed because the database could
// not serve, on a connection checked alive: a restart or pg_terminate_backend
// leaves the pool's idle connections dead. Everything the API runs is a
// read in a read-only session, so a second try is safe as long as nothing
// was sent to the client: f must send nothing. A connection that could not
// be made is not tried again at once.
func (s *Server) retry(ctx context.Context, f func(context.Context) error) error {
	err := f(ctx)
	var ce *pgconn.ConnectError
	if err == nil || ctx.Err() != nil || dbconn.Classify(err) != dbconn.FaultUnavailable || errors.As(err, &ce) {
		return err
	}
	s.opts.Logger.Warn("the database failed; trying once more on a live connection", "request_id", requestID(ctx), "err", err)
	return f(context.WithValue(ctx, liveConnKey{}, true))
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// ListenAndServe serves on addr until ctx ends, then shuts down gracefully.
// ready, if set, is called with the address once listening.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      writeDeadline, // streams push it forward as they go
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// health answers 200 when the database answers and its schema is current,
// else 503 (CheckSchema's query fails when the database does not answer);
// it needs no token. Its error is hdi's words (a schema behind or ahead),
// or, for a database that does not answer, the request id to find the
// cause in the log.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	body := map[string]any{"status": "ok", "version": s.opts.Version}
	status := http.StatusOK
	if err := s.retry(ctx, func(ctx context.Context) error { return migrate.CheckSchema(ctx, s.opts.Pool) }); err != nil {
		status = http.StatusServiceUnavailable
		body["status"], body["error"] = "unavailable", err.Error()
		if !errors.Is(err, migrate.ErrBehind) && errors.Unwrap(err) != nil { // not hdi's own sentence on the schema
			id := requestID(r.Context())
			s.opts.Logger.Warn("health check failed", "request_id", id, "err", err)
			body["error"] = "the database does not answer; retry later (request id " + id + ")"
		}
		w.Header().Set("Retry-After", retryAfter)
	}
	body["database"] = map[string]any{"reachable": status == http.StatusOK, "max_conns": s.opts.Pool.Config().MaxConns}
	writeJSON(w, status, body)
}

// cors allows the configured origins to call the API from a browser; with
// none configured it adds nothing (browsers then refuse cross-origin calls).
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.opts.CORSOrigins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && (slices.Contains(s.opts.CORSOrigins, o) || slices.Contains(s.opts.CORSOrigins, "*")) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Add("Vary", "Origin")
			h.Set("Access-Control-Allow-Headers", "Authorization, Accept, Content-Type, Idempotency-Key")
			h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			h.Set("Access-Control-Expose-Headers", "Hdi-Row-Cap, Hdi-Truncated, X-Request-Id, Retry-After, Location, Idempotent-Replayed")
			if r.Method == http.MethodOptions {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
