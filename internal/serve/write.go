package serve

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/queue"
)

// The write endpoints: queue a run, cancel one, retry a run's quarantined
// rows (scope run), create and revoke tokens (scope admin). Each goes
// through package ops, as the command line does, so it refuses what the
// command line refuses, naming the field. A body is JSON, at most MaxBody
// bytes, with no field the endpoint does not take.

// MaxBody is the largest request body the server reads.
const MaxBody = 64 << 10

// bodyHandler serves a write request whose body has been read.
type bodyHandler func(w http.ResponseWriter, r *http.Request, body []byte)

// withBody reads the request's body (at most MaxBody bytes; 413 beyond,
// 415 when it is not JSON) and hands it to h.
func withBody(h bodyHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeProblem(w, r, &problem{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the body is larger than %d bytes", MaxBody)})
			return
		case err != nil:
			writeProblem(w, r, &problem{status: http.StatusBadRequest, detail: "the body could not be read: " + err.Error()})
			return
		}
		if len(bytes.TrimSpace(b)) > 0 {
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				writeProblem(w, r, &problem{status: http.StatusUnsupportedMediaType, detail: "the body must be JSON, sent as Content-Type: application/json"})
				return
			}
		}
		h(w, r, b)
	}
}

// decodeBody reads body (empty: v stays as it is) into v, strictly: one
// JSON object, no unknown field, each value of its field's type. A fault
// names the field (errors[].location body.NAME).
func decodeBody(body []byte, v any) *problem {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te) && te.Field != "":
		return &problem{status: http.StatusBadRequest, detail: fmt.Sprintf("%s: want %s, not a JSON %s", te.Field, jsonType(te.Type.String()), te.Value), param: te.Field, in: "body"}
	case err != nil && strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return &problem{status: http.StatusBadRequest, detail: fmt.Sprintf("%s: unknown field (this endpoint takes %s)", name, jsonFields(v)), param: name, in: "body"}
	case err != nil:
		return &problem{status: http.StatusBadRequest, detail: "the body is not a JSON object of this endpoint's fields: " + err.Error()}
	case dec.More():
		return &problem{status: http.StatusBadRequest, detail: "the body must hold one JSON object, and nothing after it"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &problem{status: http.StatusBadRequest, detail: "the body must hold one JSON object, and nothing after it"}
	}
	return nil
}

// jsonType names a Go type as JSON does.
func jsonType(goType string) string {
	switch {
	case goType == "string", goType == "*string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "a list of strings"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return "an object"
}

// jsonFields lists the JSON fields of the struct v points to.
func jsonFields(v any) string {
	t := reflect.TypeOf(v).Elem()
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return "no fields: send no body"
	}
	return strings.Join(names, ", ")
}

// idempotent replays, to a request that repeats an earlier one's
// Idempotency-Key (per token, for a day), the earlier one's answer instead
// of doing it again. The first successful answer is kept; a failed one is
// not, so its repeat runs again. A key reused for another request is 422; a
// repeat while the first still runs is 409.
func (s *Server) idempotent(h bodyHandler) bodyHandler {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			h(w, r, body)
			return
		}
		if what := badText(key); what != "" || len(key) > 255 {
			writeProblem(w, r, &problem{status: http.StatusBadRequest, param: "Idempotency-Key", in: "header",
				detail: "Idempotency-Key: want at most 255 printable characters, e.g. a UUID"})
			return
		}
		ctx := r.Context()
		token := identityOf(ctx).Name
		sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + string(body)))
		q := dbq.New(s.opts.Ops.Pool)
		err := q.PruneIdempotencyKeys(ctx)
		if err == nil {
			_, err = q.ClaimIdempotencyKey(ctx, dbq.ClaimIdempotencyKeyParams{TokenName: token, Key: key, RequestHash: sum[:]})
		}
		if errors.Is(err, pgx.ErrNoRows) {
			s.replay(w, r, key, sum[:])
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rec := &recorder{ResponseWriter: w}
		h(rec, r, body)
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rec.status >= 200 && rec.status < 300 {
			loc := w.Header().Get("Location")
			status := int32(rec.status)
			err = q.AnswerIdempotencyKey(dctx, dbq.AnswerIdempotencyKeyParams{TokenName: token, Key: key, Status: &status, Location: &loc, Body: rec.body.Bytes()})
		} else {
			err = q.ReleaseIdempotencyKey(dctx, dbq.ReleaseIdempotencyKeyParams{TokenName: token, Key: key})
		}
		if err != nil {
			s.opts.Logger.Error("the answer to an Idempotency-Key could not be kept: a repeat may run again", "request_id", requestID(ctx), "err", err)
		}
	}
}

// replay answers a repeat of an idempotent request.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, key string, sum []byte) {
	ctx := r.Context()
	prev, err := dbq.New(s.opts.Ops.Pool).GetIdempotencyKey(ctx, dbq.GetIdempotencyKeyParams{TokenName: identityOf(ctx).Name, Key: key})
	switch {
	case errors.Is(err, pgx.ErrNoRows): // the first request failed and released the key just now
		writeProblem(w, r, &problem{status: http.StatusConflict, detail: "the first request with this Idempotency-Key has just ended without an answer: send it again",
			headers: map[string]string{"Retry-After": "1"}})
	case err != nil:
		s.fail(w, r, err)
	case !bytes.Equal(prev.RequestHash, sum):
		writeProblem(w, r, &problem{status: http.StatusUnprocessableEntity, param: "Idempotency-Key", in: "header",
			detail: fmt.Sprintf("Idempotency-Key %q was sent with another request: a new request needs a new key", key)})
	case prev.Status == nil:
		writeProblem(w, r, &problem{status: http.StatusConflict, detail: fmt.Sprintf("the first request with Idempotency-Key %q is still under way: retry when it has ended", key),
			headers: map[string]string{"Retry-After": "1"}})
	default:
		var first struct {
			RunID int64 `json:"run_id"`
		}
		_ = json.Unmarshal(prev.Body, &first)
		noteRun(ctx, first.RunID, "replayed the answer to the first request with this Idempotency-Key")
		h := w.Header()
		if prev.Location != nil && *prev.Location != "" {
			h.Set("Location", *prev.Location)
		}
		h.Set("Content-Type", "application/json")
		h.Set("Idempotent-Replayed", "true")
		w.WriteHeader(int(*prev.Status))
		_, _ = w.Write(prev.Body)
	}
}

// recorder keeps a copy of a (small, JSON) answer as it is written.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	rec.body.Write(b)
	return rec.ResponseWriter.Write(b)
}

// pathID reads a path parameter that is a run id.
func pathID(r *http.Request, name string) (int64, *problem) {
	v := chi.URLParam(r, name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return 0, &problem{status: http.StatusBadRequest, detail: fmt.Sprintf("%s: %q is not a run id (a whole number, 1 or more)", name, v), param: name, in: "path"}
	}
	return id, nil
}

// runRequest is POST /api/v1/runs: a job by name, with overrides.
type runRequest struct {
	Job     string   `json:"job" doc:"the job's name (GET /api/v1/jobs lists them); never a file path"`
	Start   *string  `json:"start,omitempty" doc:"first day (YYYY-MM-DD) or instant (RFC 3339), included, or relative (-7d, yesterday): overrides the job's"`
	End     *string  `json:"end,omitempty" doc:"last day (YYYY-MM-DD, included) or instant (RFC 3339, excluded), or relative (today): overrides the job's"`
	Symbols []string `json:"symbols,omitempty" doc:"symbols in the job's stype_in: override the job's"`
	Force   bool     `json:"force,omitempty" doc:"queue units already loaded too: they load again"`
	Queue   string   `json:"queue,omitempty" doc:"the worker queue (default: the job's, else default)"`
}

// runQueued is the answer to POST /api/v1/runs.
type runQueued struct {
	*ops.Submitted
	URL    string `json:"url,omitempty" doc:"the run (GET): its progress and units"`
	Detail string `json:"detail" doc:"what was queued, in a line"`
}

// postRun queues a run of a job, as `hdi ingest --job NAME --queue` does:
// 202 with the run's URL, or 200 when every unit is loaded or queued
// already (with the URL of the run that covers them, when one does).
func (s *Server) postRun(w http.ResponseWriter, r *http.Request, body []byte) {
	var req runRequest
	if p := decodeBody(body, &req); p != nil {
		writeProblem(w, r, p)
		return
	}
	if req.Job == "" {
		writeProblem(w, r, &problem{status: http.StatusBadRequest, detail: "job: is required: the name of a job (GET /api/v1/jobs lists them)", param: "job", in: "body"})
		return
	}
	ctx := r.Context()
	job, err := s.opts.Ops.NamedJob(req.Job, ops.Body)
	if err == nil {
		err = ops.Overrides{Start: req.Start, End: req.End, Symbols: req.Symbols, Label: ops.Body}.Apply(job, time.Now())
	}
	var sub *ops.Submitted
	if err == nil {
		sub, err = s.opts.Ops.Queue(ctx, job, queue.Options{Queue: req.Queue, Force: req.Force}, ops.Body)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := runQueued{Submitted: sub, Detail: sub.Summary()}
	noteRun(ctx, sub.RunID, out.Detail)
	if sub.RunID != 0 {
		out.URL = "/api/v1/runs/" + strconv.FormatInt(sub.RunID, 10)
	}
	if !sub.Created {
		writeJSON(w, http.StatusOK, out)
		return
	}
	w.Header().Set("Location", out.URL)
	writeJSON(w, http.StatusAccepted, out)
}

// runCancelled is the answer to POST /api/v1/runs/{id}/cancel.
type runCancelled struct {
	RunID        int64  `json:"run_id"`
	UnitsStopped int    `json:"units_stopped" doc:"unit jobs cancelled: dropped from the queue, or rolled back under way"`
	URL          string `json:"url"`
	Detail       string `json:"detail"`
}

// cancelRun cancels a queued run, as `hdi runs cancel ID` does.
func (s *Server) cancelRun(w http.ResponseWriter, r *http.Request, body []byte) {
	id, p := pathID(r, "id")
	if p == nil {
		p = decodeBody(body, &struct{}{})
	}
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	noteRun(r.Context(), id, "")
	n, err := queue.Cancel(r.Context(), s.opts.Ops.Pool, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := runCancelled{RunID: id, UnitsStopped: n, URL: "/api/v1/runs/" + strconv.FormatInt(id, 10),
		Detail: fmt.Sprintf("run %d cancelled: %d units stopped", id, n)}
	noteRun(r.Context(), id, out.Detail)
	writeJSON(w, http.StatusOK, out)
}

// retryRequest is POST /api/v1/quarantine/{run}/retry.
type retryRequest struct {
	Job string `json:"job,omitempty" doc:"the job whose rules and mapping to use, by name (default: the run's job)"`
}

// retried is the answer to POST /api/v1/quarantine/{run}/retry.
type retried struct {
	RunID         int64  `json:"run_id"`
	Checked       int    `json:"checked" doc:"quarantined records re-validated"`
	Loaded        int    `json:"loaded" doc:"now valid and loaded"`
	Deduplicated  int    `json:"deduplicated" doc:"now valid, and in the table already"`
	StillRejected int    `json:"still_rejected" doc:"still failing the job's rules: left in quarantine"`
	Skipped       int    `json:"skipped" doc:"records the provider could not parse: fix the source and run the job again"`
	Detail        string `json:"detail"`
}

// retryQuarantine re-validates a run's quarantined rows, as
// `hdi quarantine retry --run ID` does.
func (s *Server) retryQuarantine(w http.ResponseWriter, r *http.Request, body []byte) {
	id, p := pathID(r, "run")
	var req retryRequest
	if p == nil {
		p = decodeBody(body, &req)
	}
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	ctx := r.Context()
	noteRun(ctx, id, "")
	env := s.opts.Ops
	res, err := env.RetryQuarantine(ctx, id, req.Job, func(name string) (*jobspec.Job, error) {
		return jobspec.FindName(env.JobsDir, name, env.JobOptions)
	}, ops.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := retried{RunID: id, Checked: res.Checked, Loaded: res.Loaded, Deduplicated: res.Deduplicated, StillRejected: res.StillRejected, Skipped: res.Skipped,
		Detail: fmt.Sprintf("retried %d quarantined rows of run %d: %d loaded, %d already present, %d still rejected, %d unparsed source records skipped",
			res.Checked, id, res.Loaded, res.Deduplicated, res.StillRejected, res.Skipped)}
	noteRun(ctx, id, out.Detail)
	writeJSON(w, http.StatusOK, out)
}

// tokenCreated is the answer to POST /api/v1/tokens: the token, shown once.
type tokenCreated struct {
	Secret string `json:"token" doc:"the token: shown this once, kept nowhere (only its SHA-256)"`
	ops.Token
}

// postToken creates a token, as `hdi tokens create` does.
func (s *Server) postToken(w http.ResponseWriter, r *http.Request, body []byte) {
	var nt ops.NewToken
	if p := decodeBody(body, &nt); p != nil {
		writeProblem(w, r, p)
		return
	}
	secret, tok, err := ops.CreateToken(r.Context(), s.opts.Ops.Pool, nt, time.Now(), ops.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	noteRun(r.Context(), 0, fmt.Sprintf("created token %q with the %s scope", tok.Name, tok.Scope))
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, tokenCreated{Secret: secret, Token: tok})
}

// revokeToken revokes a token, as `hdi tokens revoke NAME` does.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, body []byte) {
	if p := decodeBody(body, &struct{}{}); p != nil {
		writeProblem(w, r, p)
		return
	}
	name := chi.URLParam(r, "name")
	tok, err := ops.RevokeToken(r.Context(), s.opts.Ops.Pool, name, time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	noteRun(r.Context(), 0, fmt.Sprintf("revoked token %q", name))
	writeJSON(w, http.StatusOK, tok)
}
