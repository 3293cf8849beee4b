package serve

import (
	"context"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"github.com/hdi-dev/hdi/internal/access"
	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/ops"
)

// accessRoutes registers who-am-I, the write endpoints (with their
// operations in the spec, written by hand as the streaming ones are), the
// token list and the audit log.
func (s *Server) accessRoutes(api huma.API, g chi.Router) {
	huma.Register(api, huma.Operation{OperationID: "whoami", Method: http.MethodGet, Path: "/api/v1/whoami", Tags: []string{"access"},
		Summary: "The request's token: its name and scope, and whether the server requires one"}, s.whoami)
	huma.Register(api, huma.Operation{OperationID: "list-tokens", Method: http.MethodGet, Path: "/api/v1/tokens", Tags: []string{"access"},
		Summary: "The API tokens, revoked and expired ones too (never a token itself) (scope admin)", Errors: []int{401, 403, 503}}, s.listTokens)
	huma.Register(api, huma.Operation{OperationID: "audit-log", Method: http.MethodGet, Path: "/api/v1/audit", Tags: []string{"access"},
		Summary: "The audit log, newest first: every write request and refused authentication (scope admin)", Errors: []int{400, 401, 403, 503}}, s.auditLog)

	reg := api.OpenAPI().Components.Schemas
	for _, w := range []struct {
		id, path, summary, desc string
		in, out                 any
		status                  int
		errors                  []int
		idempotent              bool
		h                       bodyHandler
	}{
		{"queue-run", "/api/v1/runs", "Queue a run of a job, as `hdi ingest --job NAME --queue` (scope run)",
			"Plans the job here (the provider's plan, the rules and mapping against the table, the cost against max_cost) and queues its units for `hdi worker`. 202 with the run's URL in Location; 200 when every unit is loaded or queued already.",
			runRequest{}, runQueued{}, http.StatusAccepted, []int{400, 401, 403, 409, 413, 415, 422, 429, 502, 503}, true, s.postRun},
		{"cancel-run", "/api/v1/runs/{id}/cancel", "Cancel a queued run, as `hdi runs cancel ID` (scope run)",
			"Units still queued are dropped, units under way roll back, units loaded stay loaded. 409 for a run not queued or finished.",
			nil, runCancelled{}, http.StatusOK, []int{400, 401, 403, 404, 409, 413, 429, 503}, true, s.cancelRun},
		{"retry-quarantine", "/api/v1/quarantine/{run}/retry", "Retry a run's quarantined rows, as `hdi quarantine retry --run ID` (scope run)",
			"Re-validates the run's quarantined records with the rules of its job as it is now and loads those that pass; the rest stay.",
			retryRequest{}, retried{}, http.StatusOK, []int{400, 401, 403, 404, 413, 415, 429, 503}, true, s.retryQuarantine},
		{"create-token", "/api/v1/tokens", "Create an API token, as `hdi tokens create` (scope admin)",
			"The answer holds the token, this once; the database keeps only its SHA-256.",
			ops.NewToken{}, tokenCreated{}, http.StatusCreated, []int{400, 401, 403, 409, 413, 415, 429, 503}, false, s.postToken},
		{"revoke-token", "/api/v1/tokens/{name}/revoke", "Revoke an API token, as `hdi tokens revoke NAME` (scope admin)",
			"The server refuses the token within serve.token_cache (default 5s).",
			nil, ops.Token{}, http.StatusOK, []int{401, 403, 404, 413, 429, 503}, false, s.revokeToken},
	} {
		op := &huma.Operation{OperationID: w.id, Method: http.MethodPost, Path: w.path, Summary: w.summary, Description: w.desc,
			Tags: []string{"runs"}, Responses: map[string]*huma.Response{}}
		if w.id == "create-token" || w.id == "revoke-token" {
			op.Tags = []string{"access"}
		}
		for _, p := range []string{"id", "run", "name"} {
			if strings.Contains(w.path, "{"+p+"}") {
				op.Parameters = append(op.Parameters, &huma.Param{Name: p, In: "path", Required: true, Schema: &huma.Schema{Type: huma.TypeString}})
			}
		}
		if w.idempotent {
			op.Parameters = append(op.Parameters, &huma.Param{Name: "Idempotency-Key", In: "header",
				Description: "a key of the client's (a UUID): a repeat with the same key, by the same token within a day, gets the first answer (Idempotent-Replayed: true) and does nothing again",
				Schema:      &huma.Schema{Type: huma.TypeString, MaxLength: ptr(255)}})
		}
		if w.in != nil {
			op.RequestBody = &huma.RequestBody{Required: w.id == "queue-run" || w.id == "create-token", Content: map[string]*huma.MediaType{
				"application/json": {Schema: reg.Schema(reflect.TypeOf(w.in), true, "")}}}
		}
		op.Responses[strconv.Itoa(w.status)] = &huma.Response{Description: http.StatusText(w.status), Content: map[string]*huma.MediaType{
			"application/json": {Schema: reg.Schema(reflect.TypeOf(w.out), true, "")}}}
		problem := map[string]*huma.MediaType{"application/problem+json": {Schema: &huma.Schema{Ref: "#/components/schemas/ErrorModel"}}}
		for _, code := range w.errors {
			op.Responses[strconv.Itoa(code)] = &huma.Response{Description: http.StatusText(code), Content: problem}
		}
		api.OpenAPI().AddOperation(op)
		g.Post(w.path, withBody(s.idempotentIf(w.idempotent, w.h)))
	}
}

func (s *Server) idempotentIf(on bool, h bodyHandler) bodyHandler {
	if on {
		return s.idempotent(h)
	}
	return h
}

type whoamiOut struct {
	Body struct {
		Token    *string `json:"token" doc:"the token's name; null without a token"`
		Scope    string  `json:"scope" enum:"read,run,admin" doc:"what the request may do"`
		Required bool    `json:"tokens_required" doc:"whether the server requires a token (else, on loopback, a request without one may read)"`
	}
}

func (s *Server) whoami(ctx context.Context, _ *struct{}) (*whoamiOut, error) {
	id := identityOf(ctx)
	out := &whoamiOut{}
	if id.Name != "" {
		out.Body.Token = &id.Name
	}
	out.Body.Scope = id.Scope.String()
	out.Body.Required = s.opts.Public || id.Name != ""
	if !out.Body.Required {
		required, err := s.tokens.Required(ctx)
		if err != nil {
			return nil, s.humaError(ctx, err)
		}
		out.Body.Required = required
	}
	return out, nil
}

type tokensOut struct{ Body []ops.Token }

func (s *Server) listTokens(ctx context.Context, _ *struct{}) (*tokensOut, error) {
	toks, err := ops.ListTokens(ctx, s.opts.Pool, time.Now())
	if err != nil {
		return nil, s.humaError(ctx, err)
	}
	return &tokensOut{Body: toks}, nil
}

type auditIn struct {
	Since string `query:"since" doc:"rows from this time on: YYYY-MM-DD, RFC 3339, or relative (-7d, -12h, today)"`
	Token string `query:"token" doc:"only the rows of this token's name"`
	Limit int64  `query:"limit" default:"100" minimum:"1" maximum:"10000" doc:"how many rows"`
}

type auditOut struct{ Body []dbq.AuditLog }

func (s *Server) auditLog(ctx context.Context, in *auditIn) (*auditOut, error) {
	p, err := access.AuditFilter(in.Since, in.Token, in.Limit, time.Now(), "since")
	if err != nil {
		return nil, s.humaError(ctx, &problem{status: http.StatusBadRequest, detail: err.Error(), param: "since"})
	}
	out := &auditOut{}
	err = s.retry(ctx, func(ctx context.Context) (err error) {
		out.Body, err = dbq.New(s.opts.Pool).AuditLog(ctx, p)
		return err
	})
	if err != nil {
		return nil, s.humaError(ctx, err)
	}
	return out, nil
}
