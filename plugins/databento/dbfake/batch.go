package dbfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Batch delivery, as Databento documents it (see the provider's batch.go):
// POST batch.submit_job answers the job; GET batch.list_jobs lists jobs in
// the short form (id, state, ts_received), each poll moving a job one state
// on (received, queued, processing, done); GET batch.list_files lists the
// data file and the support files with their sizes, sha256 hashes and
// https URLs; GET /v0/batch/download/{user}/{job}/{file} serves a file,
// honouring Range (206). Faults by Endpoint: "batch.list_jobs" (Status 429,
// or Expire to answer the job expired once), "batch.download" (CutAfter to
// cut a body, Corrupt to flip a byte of it).

// BatchJob is a job the fake holds.
type BatchJob struct {
	ID      string
	State   string
	Form    url.Values
	Files   map[string][]byte // by name
	polls   int
	expired bool
}

// Jobs returns the batch jobs submitted so far, in submission order.
func (s *Server) Jobs() []*BatchJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*BatchJob, len(s.jobOrder))
	for i, id := range s.jobOrder {
		out[i] = s.jobs[id]
	}
	return out
}

// batchStates are the states a job goes through, one per poll.
var batchStates = []string{"received", "queued", "processing", "done"}

func (s *Server) submitJob(f url.Values) (any, *httpError) {
	for _, k := range []string{"dataset", "symbols", "schema", "start"} {
		if f.Get(k) == "" {
			return nil, errf(422, "%s: field required", k)
		}
	}
	if enc := f.Get("encoding"); enc != "" && enc != "dbn" {
		return nil, errf(422, "encoding: this fake serves dbn only")
	}
	switch f.Get("split_duration") {
	case "", "day", "week", "month", "year", "none":
	default:
		return nil, errf(422, "split_duration: must be one of day, week, month, year, none")
	}
	body, e := s.getRange(f) // the job's data, as one file
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs == nil {
		s.jobs = map[string]*BatchJob{}
	}
	id := fmt.Sprintf("%s-%s-%05d", strings.Split(f.Get("dataset"), ".")[0], time.Now().UTC().Format("20060102"), len(s.jobOrder)+1)
	start, _ := parseTime("start", f.Get("start"))
	ext := ".dbn"
	if f.Get("compression") == "zstd" {
		ext += ".zst"
	}
	name := fmt.Sprintf("%s-%s.%s%s", strings.ToLower(strings.ReplaceAll(f.Get("dataset"), ".", "-")), start.Format("20060102"), f.Get("schema"), ext)
	condition, _ := json.Marshal([]map[string]string{{"date": start.Format(time.DateOnly), "condition": "available"}})
	job := &BatchJob{ID: id, State: "received", Form: f, Files: map[string][]byte{
		name:             body,
		"metadata.json":  []byte(`{"query":` + strconv.Quote(f.Encode()) + `}`),
		"manifest.json":  []byte(`{"files":[` + strconv.Quote(name) + `]}`),
		"symbology.json": []byte(`{"result":{},"symbols":[],"stype_in":"","stype_out":"","start_date":"","end_date":"","partial":[],"not_found":[],"message":"","status":0}`),
		"condition.json": condition,
	}}
	s.jobs[id] = job
	s.jobOrder = append(s.jobOrder, id)
	cost := float64(len(body)) / 1e9 * s.CostPerGB
	return map[string]any{"id": id, "state": job.State, "cost_usd": cost, "dataset": f.Get("dataset"), "schema": f.Get("schema"),
		"symbols": f.Get("symbols"), "start": f.Get("start"), "end": f.Get("end"), "encoding": "dbn", "compression": f.Get("compression"),
		"split_duration": f.Get("split_duration"), "delivery": "download", "ts_received": time.Now().UTC().Format(time.RFC3339Nano)}, nil
}

func (s *Server) listJobs(f *Fault) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, id := range s.jobOrder {
		j := s.jobs[id]
		if f != nil && f.Expire && j.State != "expired" {
			j.State, j.expired = "expired", true
			f = nil // one job a fault
		}
		if j.State != "done" && j.State != "expired" {
			j.polls++
			j.State = batchStates[min(j.polls, len(batchStates)-1)]
		}
		out = append(out, map[string]any{"id": j.ID, "state": j.State, "ts_received": time.Now().UTC().Format(time.RFC3339Nano)})
	}
	return out
}

func (s *Server) listFiles(f url.Values, user string) (any, *httpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[f.Get("job_id")]
	if j == nil {
		return nil, errf(404, "job %s not found", f.Get("job_id"))
	}
	if j.State != "done" {
		return nil, errf(400, "job %s is %s, not done", j.ID, j.State)
	}
	names := make([]string, 0, len(j.Files))
	for n := range j.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []map[string]any{}
	for _, n := range names {
		sum := sha256.Sum256(j.Files[n])
		out = append(out, map[string]any{"filename": n, "size": len(j.Files[n]), "hash": "sha256:" + hex.EncodeToString(sum[:]),
			"urls": map[string]string{"https": s.URL + "/v0/batch/download/" + user + "/" + j.ID + "/" + n, "ftp": "ftp://fake/" + j.ID + "/" + n}})
	}
	return out, nil
}

// download serves a job's file, honouring Range: bytes=N-. f is the
// request's fault (never nil: handle makes an empty one).
func (s *Server) download(w http.ResponseWriter, r *http.Request, path string, f *Fault) int {
	parts := strings.Split(path, "/") // batch/download/{user}/{job}/{file}
	if len(parts) != 5 {
		writeJSON(w, 404, map[string]string{"detail": "Not Found"})
		return 404
	}
	s.mu.Lock()
	j := s.jobs[parts[3]]
	var body []byte
	if j != nil && !j.expired {
		body = j.Files[parts[4]]
	}
	s.mu.Unlock()
	if body == nil {
		writeJSON(w, 404, map[string]string{"detail": "file not found (or its job expired)"})
		return 404
	}
	if f.Corrupt {
		body = append([]byte(nil), body...)
		body[len(body)/2] ^= 0xff
	}
	status, from := 200, 0
	if rg := r.Header.Get("Range"); strings.HasPrefix(rg, "bytes=") {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || n < 0 || n >= len(body) {
			w.Header().Set("Content-Range", "bytes */"+strconv.Itoa(len(body)))
			writeJSON(w, 416, map[string]string{"detail": "Range Not Satisfiable"})
			return 416
		}
		status, from = 206, n
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, len(body)-1, len(body)))
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)-from))
	s.writeBody(w, status, body[from:], f)
	return status
}
