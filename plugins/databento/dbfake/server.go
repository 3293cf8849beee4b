// Package dbfake is a fake of Databento's historical HTTP API for tests,
// built on httptest, and of its Live API (NewLive, in live.go). It follows the documented API: form-encoded requests
// under /v0/, HTTP Basic auth with the API key as user name, zstd DBN
// bodies for timeseries.get_range (made with dbn.NewEncoder), JSON for the
// metadata and symbology endpoints, and JSON errors {"detail": ...} with
// Databento's status codes. Data comes from in-memory Datasets (see
// Generate); faults are injected on demand (Inject); every request is
// recorded (Requests).
//
//	srv := dbfake.New(dbfake.Generate(dbfake.GenOptions{}))
//	defer srv.Close()
//	srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", Status: 429, RetryAfter: "0"})
//	// point the provider at srv.URL with api_key srv.Key
package dbfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
)

// DefaultKey is the API key the server accepts unless Key is changed.
const DefaultKey = "db-FAKEfakeFAKEfakeFAKEfakeFAKEfa"

// MaxSymbols is the documented per-request symbol limit the fake enforces.
const MaxSymbols = 2000

// UnauthorizedDetail is the detail of a 401 response.
const UnauthorizedDetail = "Authentication failed. Check that your API key is correct."

// Fault is an injected failure. It applies to the next Count requests
// (default 1) to Endpoint ("" = any endpoint), in injection order.
type Fault struct {
	Endpoint string
	Status   int    // an HTTP error status with a JSON detail
	Detail   string // default: a message for the status
	// Case makes the detail the structured form the API also answers with:
	// {"case": Case, "message": Detail, "status_code": Status, "docs": ...}.
	Case       string
	RetryAfter string // Retry-After header value, e.g. "1"
	// CutAfter cuts a successful get_range body after this fraction of
	// its bytes (0 < CutAfter < 1) by aborting the connection.
	CutAfter float64
	// Delay slows a successful body: it is sent in 4 KiB pieces with
	// Delay before each.
	Delay time.Duration
	// Expire (batch.list_jobs) answers a job expired; Corrupt
	// (batch.download) flips a byte of the file served.
	Expire, Corrupt bool
	Count           int
}

// Request is a request the server received.
type Request struct {
	Endpoint string // e.g. "timeseries.get_range"
	Method   string
	Form     url.Values
	User     string // Basic auth user name (the API key)
	Password string
	HasAuth  bool
	Status   int // the status answered; -1 for a body cut on purpose
}

// Server is the fake API. Its fields may be changed between requests.
type Server struct {
	*httptest.Server
	// Key is the accepted API key.
	Key string
	// CostPerGB is the price used by get_cost (default 1.5 USD/GB).
	CostPerGB float64

	mu       sync.Mutex
	datasets map[string]*Dataset
	faults   []*Fault
	reqs     []Request
	inFlight map[string]int // requests being answered, by endpoint
	jobs     map[string]*BatchJob
	jobOrder []string
}

// New starts a server holding the given datasets.
func New(ds ...*Dataset) *Server {
	s := &Server{Key: DefaultKey, CostPerGB: 1.5, datasets: map[string]*Dataset{}}
	for _, d := range ds {
		s.datasets[d.Code] = d
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// AddDataset adds or replaces a dataset.
func (s *Server) AddDataset(d *Dataset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.datasets[d.Code] = d
}

// Inject queues faults.
func (s *Server) Inject(fs ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range fs {
		if f.Count <= 0 {
			f.Count = 1
		}
		s.faults = append(s.faults, &f)
	}
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// InFlight returns how many requests to endpoint are being answered now
// (Requests lists a request only once its answer is complete).
func (s *Server) InFlight(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight[endpoint]
}

// RequestsTo returns the requests received for one endpoint.
func (s *Server) RequestsTo(endpoint string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Endpoint == endpoint {
			out = append(out, r)
		}
	}
	return out
}

// Reset forgets recorded requests and pending faults.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs, s.faults = nil, nil
}

func (s *Server) takeFault(endpoint string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Endpoint == "" || f.Endpoint == endpoint {
			f.Count--
			if f.Count <= 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f
		}
	}
	return nil
}

// httpError is an error response.
type httpError struct {
	status int
	detail string
}

func (e *httpError) Error() string { return e.detail }

func errf(status int, format string, args ...any) *httpError {
	return &httpError{status, fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	endpoint, ok := strings.CutPrefix(r.URL.Path, "/v0/")
	if strings.HasPrefix(endpoint, "batch/download/") {
		endpoint = "batch.download" // one name for every file
	}
	_ = r.ParseForm()
	user, pass, hasAuth := r.BasicAuth()
	rec := Request{Endpoint: endpoint, Method: r.Method, Form: r.Form, User: user, Password: pass, HasAuth: hasAuth}
	rec.Status = -1 // still -1 when the handler aborted (a cut stream)
	s.mu.Lock()
	if s.inFlight == nil {
		s.inFlight = map[string]int{}
	}
	s.inFlight[endpoint]++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		s.inFlight[endpoint]--
		s.mu.Unlock()
	}()
	rec.Status = s.handle(w, r, endpoint, ok, hasAuth && user == s.Key)
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, endpoint string, ok, authOK bool) int {
	fail := func(e *httpError, retryAfter string) int {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		writeJSON(w, e.status, map[string]string{"detail": e.detail})
		return e.status
	}
	if !ok {
		return fail(errf(404, "Not Found"), "")
	}
	if !authOK {
		return fail(errf(401, UnauthorizedDetail), "")
	}
	f := s.takeFault(endpoint)
	if f != nil && f.Status != 0 {
		d := f.Detail
		if d == "" {
			d = http.StatusText(f.Status)
		}
		if f.Case != "" {
			writeJSON(w, f.Status, map[string]any{"detail": map[string]any{
				"case": f.Case, "message": d, "status_code": f.Status, "docs": "https://databento.com/docs/api-reference-historical/basics/errors",
			}})
			return f.Status
		}
		return fail(errf(f.Status, "%s", d), f.RetryAfter)
	}
	if f == nil {
		f = &Fault{}
	}
	var v any
	var err *httpError
	switch endpoint {
	case "timeseries.get_range":
		if r.Method != http.MethodPost {
			return fail(errf(405, "Method Not Allowed"), "")
		}
		body, e := s.getRange(r.Form)
		if e != nil {
			return fail(e, "")
		}
		s.writeBody(w, 200, body, f)
		return 200
	case "metadata.get_record_count", "metadata.get_billable_size", "metadata.get_cost":
		v, err = s.estimate(endpoint, r.Form)
	case "metadata.list_datasets":
		v = s.listDatasets()
	case "metadata.list_schemas":
		v, err = s.listSchemas(r.Form)
	case "metadata.get_dataset_range":
		v, err = s.datasetRange(r.Form)
	case "symbology.resolve":
		v, err = s.resolve(r.Form)
	case "batch.submit_job":
		if r.Method != http.MethodPost {
			return fail(errf(405, "Method Not Allowed"), "")
		}
		v, err = s.submitJob(r.Form)
	case "batch.list_jobs":
		v = s.listJobs(f)
	case "batch.list_files":
		user, _, _ := r.BasicAuth()
		v, err = s.listFiles(r.Form, user)
	case "batch.download":
		return s.download(w, r, strings.TrimPrefix(r.URL.Path, "/v0/"), f)
	default:
		return fail(errf(404, "Not Found"), "")
	}
	if err != nil {
		return fail(err, "")
	}
	writeJSON(w, 200, v)
	return 200
}

// writeBody sends a body (get_range's, a batch file's) with a status,
// slowly or cut if the fault says so.
func (s *Server) writeBody(w http.ResponseWriter, status int, body []byte, f *Fault) {
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(status)
	limit := len(body)
	if f.CutAfter > 0 && f.CutAfter < 1 {
		limit = int(float64(len(body)) * f.CutAfter)
	}
	fl, _ := w.(http.Flusher)
	for off := 0; off < limit; off += 4096 {
		if f.Delay > 0 {
			time.Sleep(f.Delay)
		}
		end := min(off+4096, limit)
		if _, err := w.Write(body[off:end]); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
	if limit < len(body) {
		panic(http.ErrAbortHandler) // drop the connection mid-body
	}
}

// query is a parsed data request.
type query struct {
	ds       *Dataset
	schema   dbn.Schema
	symbols  []string
	all      bool
	stypeIn  dbn.SType
	stypeOut dbn.SType
	start    time.Time
	end      time.Time
	limit    uint64
}

func parseTime(name, v string) (time.Time, *httpError) {
	if v == "" {
		return time.Time{}, errf(422, "%s: field required", name)
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(0, n).UTC(), nil
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errf(422, "%s: invalid datetime %q", name, v)
}

func (s *Server) dataset(code string) (*Dataset, *httpError) {
	if code == "" {
		return nil, errf(422, "dataset: field required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.datasets[code]
	if d == nil {
		return nil, errf(422, "dataset: invalid dataset %q", code)
	}
	return d, nil
}

func parseQuery(s *Server, f url.Values) (*query, *httpError) {
	var q query
	var e *httpError
	if q.ds, e = s.dataset(f.Get("dataset")); e != nil {
		return nil, e
	}
	var err error
	if q.schema, err = dbn.ParseSchema(firstNonEmpty(f.Get("schema"), "trades")); err != nil {
		return nil, errf(422, "schema: invalid schema %q", f.Get("schema"))
	}
	if q.stypeIn, err = dbn.ParseSType(firstNonEmpty(f.Get("stype_in"), "raw_symbol")); err != nil {
		return nil, errf(422, "stype_in: invalid symbology type %q", f.Get("stype_in"))
	}
	if q.stypeOut, err = dbn.ParseSType(firstNonEmpty(f.Get("stype_out"), "instrument_id")); err != nil {
		return nil, errf(422, "stype_out: invalid symbology type %q", f.Get("stype_out"))
	}
	if q.start, e = parseTime("start", f.Get("start")); e != nil {
		return nil, e
	}
	if f.Get("end") == "" {
		q.end = q.start.Add(24 * time.Hour)
	} else if q.end, e = parseTime("end", f.Get("end")); e != nil {
		return nil, e
	}
	if !q.end.After(q.start) {
		return nil, errf(422, "end: `end` must be after `start`")
	}
	if v := f.Get("limit"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, errf(422, "limit: invalid integer %q", v)
		}
		q.limit = n
	}
	syms := f.Get("symbols")
	if syms == "" || syms == "ALL_SYMBOLS" {
		q.all = true
	} else {
		q.symbols = strings.Split(syms, ",")
		if len(q.symbols) > MaxSymbols {
			return nil, errf(422, "symbols: the number of symbols (%d) exceeds the maximum of %d per request", len(q.symbols), MaxSymbols)
		}
	}
	return &q, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// days lists the UTC dates touched by [start, end).
func days(start, end time.Time) []dbn.Date {
	var out []dbn.Date
	last := dbn.DateOf(end.Add(-1))
	for d := dbn.DateOf(start); !last.Before(d); d = d.AddDays(1) {
		out = append(out, d)
	}
	return out
}

// mappings resolves the query's symbols per day into DBN metadata form.
func (q *query) mappings() (ms []dbn.SymbolMapping, notFound []string, ids map[dbn.Date]map[uint32]bool) {
	ids = map[dbn.Date]map[uint32]bool{}
	if q.all {
		return nil, nil, nil
	}
	for _, sym := range q.symbols {
		m := dbn.SymbolMapping{RawSymbol: sym}
		found := false
		for _, d := range days(q.start, q.end) {
			for _, id := range q.ds.resolveOn(q.stypeIn, sym, d) {
				found = true
				if ids[d] == nil {
					ids[d] = map[uint32]bool{}
				}
				ids[d][id] = true
				out := strconv.FormatUint(uint64(id), 10)
				if q.stypeOut == dbn.STypeRawSymbol {
					in, _ := q.ds.instrument(id)
					out = in.RawSymbol
				}
				n := len(m.Intervals)
				if n > 0 && m.Intervals[n-1].Symbol == out && m.Intervals[n-1].EndDate == d {
					m.Intervals[n-1].EndDate = d.AddDays(1)
				} else {
					m.Intervals = append(m.Intervals, dbn.MappingInterval{StartDate: d, EndDate: d.AddDays(1), Symbol: out})
				}
			}
		}
		if !found {
			notFound = append(notFound, sym)
			continue
		}
		ms = append(ms, m)
	}
	return ms, notFound, ids
}

// records returns the matching records.
func (q *query) records(ids map[dbn.Date]map[uint32]bool) [][]byte {
	var out [][]byte
	lo, hi := uint64(q.start.UnixNano()), uint64(q.end.UnixNano())
	for _, rec := range q.ds.Records[q.schema] {
		ts := indexTs(rec)
		if ts < lo || ts >= hi {
			continue
		}
		if !q.all {
			id := uint32(rec[4]) | uint32(rec[5])<<8 | uint32(rec[6])<<16 | uint32(rec[7])<<24
			if !ids[dbn.DateOfNanos(ts)][id] {
				continue
			}
		}
		out = append(out, rec)
		if q.limit > 0 && uint64(len(out)) >= q.limit {
			break
		}
	}
	return out
}

func (s *Server) getRange(f url.Values) ([]byte, *httpError) {
	q, e := parseQuery(s, f)
	if e != nil {
		return nil, e
	}
	if enc := f.Get("encoding"); enc != "" && enc != "dbn" {
		return nil, errf(422, "encoding: this fake serves dbn only")
	}
	ms, notFound, ids := q.mappings()
	meta := &dbn.Metadata{
		Dataset: q.ds.Code, Schema: q.schema, Start: uint64(q.start.UnixNano()), End: uint64(q.end.UnixNano()),
		Limit: q.limit, STypeIn: q.stypeIn, STypeOut: q.stypeOut, Symbols: q.symbols, NotFound: notFound, Mappings: ms,
	}
	if q.all {
		meta.Symbols = []string{"ALL_SYMBOLS"}
	}
	var buf bytes.Buffer
	enc, err := dbn.NewEncoder(&buf, meta, &dbn.EncoderOptions{Zstd: f.Get("compression") == "zstd"})
	if err != nil {
		return nil, errf(500, "encode: %v", err)
	}
	for _, rec := range q.records(ids) {
		if err := enc.WriteRecordBytes(rec); err != nil {
			return nil, errf(500, "encode: %v", err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, errf(500, "encode: %v", err)
	}
	return buf.Bytes(), nil
}

func (s *Server) estimate(endpoint string, f url.Values) (any, *httpError) {
	q, e := parseQuery(s, f)
	if e != nil {
		return nil, e
	}
	_, _, ids := q.mappings()
	recs := q.records(ids)
	var size int64
	for _, r := range recs {
		size += int64(len(r))
	}
	switch endpoint {
	case "metadata.get_record_count":
		return len(recs), nil
	case "metadata.get_billable_size":
		return size, nil
	}
	return float64(size) / 1e9 * s.CostPerGB, nil
}

func (s *Server) listDatasets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.datasets {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (s *Server) listSchemas(f url.Values) (any, *httpError) {
	d, e := s.dataset(f.Get("dataset"))
	if e != nil {
		return nil, e
	}
	var out []string
	for _, sc := range dbn.Schemas() {
		if len(d.Records[sc]) > 0 {
			out = append(out, sc.String())
		}
	}
	return out, nil
}

func (s *Server) datasetRange(f url.Values) (any, *httpError) {
	d, e := s.dataset(f.Get("dataset"))
	if e != nil {
		return nil, e
	}
	type rg struct {
		Start string `json:"start"`
		End   string `json:"end"`
	}
	var all rg
	per := map[string]rg{}
	var lo, hi uint64
	for sc, recs := range d.Records {
		if len(recs) == 0 {
			continue
		}
		a, b := indexTs(recs[0]), indexTs(recs[len(recs)-1])+1
		for _, r := range recs {
			a, b = min(a, indexTs(r)), max(b, indexTs(r)+1)
		}
		per[sc.String()] = rg{fmtTs(a), fmtTs(b)}
		if lo == 0 || a < lo {
			lo = a
		}
		hi = max(hi, b)
	}
	all = rg{fmtTs(lo), fmtTs(hi)}
	return map[string]any{"start": all.Start, "end": all.End, "schema": per}, nil
}

func fmtTs(ns uint64) string { return time.Unix(0, int64(ns)).UTC().Format(time.RFC3339Nano) }

func (s *Server) resolve(f url.Values) (any, *httpError) {
	d, e := s.dataset(f.Get("dataset"))
	if e != nil {
		return nil, e
	}
	in, err := dbn.ParseSType(firstNonEmpty(f.Get("stype_in"), "raw_symbol"))
	if err != nil {
		return nil, errf(422, "stype_in: invalid symbology type %q", f.Get("stype_in"))
	}
	out, err := dbn.ParseSType(firstNonEmpty(f.Get("stype_out"), "instrument_id"))
	if err != nil {
		return nil, errf(422, "stype_out: invalid symbology type %q", f.Get("stype_out"))
	}
	d0, err1 := time.Parse(time.DateOnly, f.Get("start_date"))
	if err1 != nil {
		return nil, errf(422, "start_date: invalid date %q", f.Get("start_date"))
	}
	d1 := d0.AddDate(0, 0, 1)
	if v := f.Get("end_date"); v != "" {
		if d1, err1 = time.Parse(time.DateOnly, v); err1 != nil {
			return nil, errf(422, "end_date: invalid date %q", v)
		}
	}
	syms := strings.Split(f.Get("symbols"), ",")
	if len(syms) > MaxSymbols {
		return nil, errf(422, "symbols: the number of symbols (%d) exceeds the maximum of %d per request", len(syms), MaxSymbols)
	}
	q := &query{ds: d, symbols: syms, stypeIn: in, stypeOut: out, start: d0, end: d1}
	ms, notFound, _ := q.mappings()
	type iv struct {
		D0 string `json:"d0"`
		D1 string `json:"d1"`
		S  string `json:"s"`
	}
	result := map[string][]iv{}
	for _, m := range ms {
		for _, x := range m.Intervals {
			result[m.RawSymbol] = append(result[m.RawSymbol], iv{x.StartDate.String(), x.EndDate.String(), x.Symbol})
		}
	}
	if notFound == nil {
		notFound = []string{}
	}
	return map[string]any{
		"result": result, "symbols": syms, "stype_in": in.String(), "stype_out": out.String(),
		"start_date": d0.Format(time.DateOnly), "end_date": d1.Format(time.DateOnly),
		"partial": []string{}, "not_found": notFound, "message": "OK", "status": 0,
	}, nil
}
