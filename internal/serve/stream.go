package serve

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2/negotiation"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/output"
	"github.com/hdi-dev/hdi/internal/query"
)

// The formats the API streams and their media types.
var mediaTypes = map[output.Format]string{
	output.JSON:    "application/json",
	output.NDJSON:  "application/x-ndjson",
	output.CSV:     "text/csv; charset=utf-8",
	output.Parquet: "application/vnd.apache.parquet",
}

var acceptable = []string{"application/json", "application/x-ndjson", "text/csv", "application/vnd.apache.parquet"}

// outputParams are the query-string parameters every data endpoint takes
// besides its own.
var outputParams = []string{"format", "limit", "tz", "raw"}

// streamOpts are a data request's output choices.
type streamOpts struct {
	out   output.Options
	limit int64 // the client's limit (0: none)
}

// parseOutput reads format (or Accept), limit, tz and raw.
func parseOutput(r *http.Request) (streamOpts, *problem) {
	q := r.URL.Query()
	var o streamOpts
	f := q.Get("format")
	if f == "" {
		switch negotiation.SelectQValueFast(r.Header.Get("Accept"), acceptable) {
		case "application/x-ndjson":
			f = "ndjson"
		case "text/csv":
			f = "csv"
		case "application/vnd.apache.parquet":
			f = "parquet"
		default:
			f = "json"
		}
	}
	o.out.Format = output.Format(strings.ToLower(f))
	if _, ok := mediaTypes[o.out.Format]; !ok {
		return o, badParam("format", "format: %q: want json, ndjson, csv or parquet", f)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return o, badParam("limit", "limit: %q: want a whole number of rows, 1 or more", s)
		}
		o.limit = n
	}
	o.out.Location = time.UTC
	if tz := q.Get("tz"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return o, badParam("tz", "tz: %q is not an IANA time zone (e.g. UTC, America/Chicago)", tz)
		}
		o.out.Location = loc
	}
	if s := q.Get("raw"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return o, badParam("raw", "raw: %q: want true or false", s)
		}
		o.out.Raw = b
	}
	return o, nil
}

// requestOutput refuses parameters outside known and the output ones, and
// reads the output choices; on a fault it writes the problem and says false.
func requestOutput(w http.ResponseWriter, r *http.Request, known []string) (streamOpts, bool) {
	if p := checkParams(r, known); p != nil {
		writeProblem(w, r, p)
		return streamOpts{}, false
	}
	o, p := parseOutput(r)
	if p != nil {
		writeProblem(w, r, p)
		return streamOpts{}, false
	}
	return o, true
}

// checkParams refuses query-string parameters the endpoint does not take.
func checkParams(r *http.Request, known []string) *problem {
	for k := range r.URL.Query() {
		if !slices.Contains(known, k) && !slices.Contains(outputParams, k) {
			return badParam(k, "%s: unknown parameter (this endpoint takes %s)", k, strings.Join(append(append([]string{}, known...), outputParams...), ", "))
		}
	}
	return nil
}

// plan runs the request's query on conn, afresh for each try (a retry
// starts again from the request): it returns the query run and its rows,
// with its row_limit, when it has one, set to rowLimit.
type plan func(ctx context.Context, conn *pgx.Conn, rowLimit int64) (*query.Query, pgx.Rows, error)

// fixedPlan is a catalog query with the request's values.
func fixedPlan(q *query.Query, values map[string]any) plan {
	return func(ctx context.Context, conn *pgx.Conn, rowLimit int64) (*query.Query, pgx.Rows, error) {
		rows, err := query.OpenRows(ctx, conn, q, maps.Clone(values), rowLimit)
		return q, rows, err
	}
}

// stream runs the planned query on a pooled connection and streams its
// rows in the requested format with constant memory. Everything that can go
// wrong with the request (the plan, binding, the query's first row) is
// answered as a problem before the first byte, and a database that could
// not serve is tried once more (retry); an error after that aborts the
// response (the client sees a cut connection, never a truncated success).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, o streamOpts, pl plan) {
	ctx := r.Context()
	// The server caps rows; a client may ask for fewer. One row more than
	// the cap tells a cut result from a complete one.
	capped := s.opts.MaxRows
	detect := o.limit == 0 || o.limit > capped
	if !detect {
		capped = o.limit
	}
	var (
		conn  *pgxpool.Conn
		q     *query.Query
		rows  pgx.Rows
		first bool
	)
	err := s.retry(ctx, func(ctx context.Context) error {
		var err error
		if conn, err = s.opts.Pool.Acquire(ctx); err != nil {
			return err
		}
		if q, rows, first, err = firstRow(ctx, conn.Conn(), pl, capped, detect); err != nil {
			conn.Release()
		}
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer conn.Release()
	cr := &cappedRows{Rows: rows, pending: true, has: first, left: capped}
	h := w.Header()
	h.Set("Content-Type", mediaTypes[o.out.Format])
	h.Set("Hdi-Row-Cap", strconv.FormatInt(s.opts.MaxRows, 10))
	h.Set("Trailer", "Hdi-Truncated")
	if o.out.Format == output.Parquet {
		h.Set("Content-Disposition", `attachment; filename="`+q.Name+`.parquet"`)
	}
	w.WriteHeader(http.StatusOK)
	fw := &flushWriter{w: w, rc: http.NewResponseController(w)}
	fw.extend()
	bw := responseBuffers.Get().(*bufio.Writer)
	bw.Reset(fw)
	defer func() { bw.Reset(nil); responseBuffers.Put(bw) }()
	n, err := output.Write(bw, cr, o.out)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = fw.err
	}
	if err != nil {
		s.opts.Logger.Warn("stream aborted", "request_id", requestID(ctx), "path", r.URL.Path, "rows", n, "err", err)
		panic(http.ErrAbortHandler) // cut the connection: the client must not take a part for the whole
	}
	h.Set("Hdi-Truncated", strconv.FormatBool(detect && cr.more))
	s.metrics.rowsServed.Add(float64(n))
}

// firstRow plans, prepares, binds and runs the query on conn and reads its
// first row: everything that can fail before the response begins.
func firstRow(ctx context.Context, conn *pgx.Conn, pl plan, capped int64, detect bool) (*query.Query, pgx.Rows, bool, error) {
	limit := capped
	if detect {
		limit = capped + 1
	}
	q, rows, err := pl(ctx, conn, limit)
	if err != nil {
		return nil, nil, false, err
	}
	first := rows.Next()
	if !first && rows.Err() != nil {
		err := rows.Err()
		rows.Close()
		return nil, nil, false, err
	}
	return q, rows, first, nil
}

// cappedRows replays the row already read and stops after left rows,
// noting whether more were there.
type cappedRows struct {
	pgx.Rows
	pending, has bool
	left         int64
	more         bool
}

func (c *cappedRows) Next() bool {
	var ok bool
	if c.pending {
		c.pending, ok = false, c.has
	} else {
		ok = c.Rows.Next()
	}
	if !ok {
		return false
	}
	if c.left == 0 {
		c.more = true
		return false
	}
	c.left--
	return true
}

// responseBuffers hold a response's bytes on their way to the client:
// output's writers take a bufio.Writer this large as their own (no copy, no
// buffer of their own a request), and the response goes out in chunks of
// flushEvery, a few system calls a response, not one or two each 64 KiB.
var responseBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, flushEvery) }}

// flushWriter flushes a streamed response every chunk and pushes the
// connection's write deadline forward, so a long stream lives as long as
// the client reads, and a client that stops reading is dropped.
type flushWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	pending int
	err     error
}

const (
	flushEvery    = 256 << 10
	writeDeadline = 30 * time.Second
)

func (f *flushWriter) extend() { _ = f.rc.SetWriteDeadline(time.Now().Add(writeDeadline)) }

func (f *flushWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err != nil {
		f.err = fmt.Errorf("write the response: %w", err)
		return n, f.err
	}
	if f.pending += n; f.pending >= flushEvery {
		f.pending = 0
		if err := f.rc.Flush(); err != nil {
			f.err = err
			return n, err
		}
		f.extend()
	}
	return n, nil
}
