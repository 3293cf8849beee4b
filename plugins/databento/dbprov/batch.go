package dbprov

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// Batch delivery: for a unit planned with delivery batch, Fetch submits a
// batch job (batch.submit_job: DBN, zstd, split by the unit's chunk),
// polls batch.list_jobs with backoff until it is done (an expired job is
// submitted again, with a warning), downloads the files batch.list_files
// lists into download_dir/<job id>/ (resuming a partial file with Range,
// checking each against its sha256, downloading it again on a mismatch),
// then loads the data files like local DBN files. metadata.json,
// manifest.json, symbology.json and condition.json are downloaded and
// checked too; condition.json's degraded days are warned about; none is
// loaded as data.
//
// Everything paid for or downloaded is in the unit's checkpoint (the job
// id, each file's name, size, hash and whether it was verified), which the
// host keeps outside the unit's transaction: a fetch of the same unit
// again (a retry, a re-run after a crash, --force) submits nothing new and
// downloads no verified file again.

// batchState is a batch unit's checkpoint.
type batchState struct {
	JobID string      `json:"job_id,omitempty"`
	Dir   string      `json:"dir,omitempty"`
	Files []batchFile `json:"files,omitempty"`
	// Resubmits counts expired jobs replaced.
	Resubmits int `json:"resubmits,omitempty"`
}

type batchFile struct {
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	Hash     string `json:"hash"` // sha256:<hex>
	URL      string `json:"url"`
	Verified bool   `json:"verified"`
}

// supportFiles are the non-data files of a batch job.
var supportFiles = []string{"metadata.json", "manifest.json", "symbology.json", "condition.json"}

func (f batchFile) data() bool { return !slices.Contains(supportFiles, f.Name) }

// maxHashRetries is how often a file that fails its sha256 check is
// downloaded again before the unit fails.
const maxHashRetries = 3

// batchJob is what submit_job and list_jobs answer of a job.
type batchJob struct {
	ID      string   `json:"id"`
	State   string   `json:"state"`
	CostUSD *float64 `json:"cost_usd"`
}

// fetchBatch loads one unit through batch delivery.
func fetchBatch(ctx context.Context, c *client, cfg *config, r *request, u *sdk.Unit, rows int, checkpoint []byte, out sdk.Sender) error {
	var st batchState
	if len(checkpoint) > 0 {
		if err := json.Unmarshal(checkpoint, &st); err != nil {
			st = batchState{} // unreadable: start over (a new job)
		}
	}
	save := func(note string) error { return saveBatch(out, &st, note) }
	for {
		if st.JobID == "" {
			job, err := submitBatch(ctx, c, r, u)
			if err != nil {
				return err
			}
			st = batchState{JobID: job.ID, Dir: filepath.Join(cfg.DownloadDir, job.ID), Resubmits: st.Resubmits}
			cost := ""
			if job.CostUSD != nil {
				cost = fmt.Sprintf(" (cost $%.2f)", *job.CostUSD)
			}
			// Kept before anything else: a crash from here on submits nothing again.
			if err := save("batch job " + job.ID + " submitted" + cost); err != nil {
				return err
			}
		}
		state, err := waitBatch(ctx, c, cfg, st.JobID, func(s string) error { return save("batch job " + st.JobID + " " + s) })
		if err != nil {
			return err
		}
		if state == "expired" {
			if err := out.Warn(fmt.Sprintf("databento: batch job %s has expired (its files are gone): submitting the unit again, which is charged again", st.JobID)); err != nil {
				return err
			}
			st.JobID, st.Files, st.Resubmits = "", nil, st.Resubmits+1
			if st.Resubmits > 3 {
				return permanent("databento: unit %s: batch jobs keep expiring before they can be downloaded", u.Key)
			}
			continue
		}
		break
	}
	if err := listBatchFiles(ctx, c, &st); err != nil {
		return err
	}
	if err := save(fmt.Sprintf("batch job %s done: %d files", st.JobID, len(st.Files))); err != nil {
		return err
	}
	if err := os.MkdirAll(st.Dir, 0o755); err != nil {
		return permanent("databento: download_dir: cannot create %s: %v", st.Dir, err)
	}
	for i := range st.Files {
		f := &st.Files[i]
		if err := downloadVerified(ctx, c, st.Dir, f); err != nil {
			return err
		}
		if err := save(fmt.Sprintf("batch job %s: downloaded %d/%d files", st.JobID, i+1, len(st.Files))); err != nil {
			return err
		}
	}
	if err := warnConditions(st.Dir, out); err != nil {
		return err
	}
	if err := save(fmt.Sprintf("batch job %s: loading", st.JobID)); err != nil {
		return err
	}
	return loadBatchFiles(ctx, &st, r, u, rows, out)
}

func saveBatch(out sdk.Sender, st *batchState, note string) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return out.Checkpoint(b, note)
}

// splitDuration is batch.submit_job's split_duration for a unit's chunk.
func splitDuration(c timerange.Chunk) string {
	switch c.Unit() {
	case timerange.UnitDay:
		return "day"
	case timerange.UnitWeek:
		return "week"
	case timerange.UnitMonth:
		return "month"
	case timerange.UnitYear:
		return "year"
	}
	return "none"
}

func submitBatch(ctx context.Context, c *client, r *request, u *sdk.Unit) (*batchJob, error) {
	syms := u.Symbols
	if len(syms) == 0 {
		syms = []string{AllSymbols}
	}
	rg, ok := u.Range()
	if !ok {
		return nil, permanent("databento: unit %s has no time range: re-plan the job", u.Key)
	}
	form := apiForm(r, syms, rg)
	form.Set("stype_out", r.StypeOut.String())
	form.Set("encoding", "dbn")
	form.Set("compression", "zstd")
	form.Set("split_duration", splitDuration(r.Chunk))
	form.Set("delivery", "download")
	form.Set("map_symbols", "false")
	var job batchJob
	if err := c.getJSON(ctx, http.MethodPost, "batch.submit_job", form, &job); err != nil {
		return nil, err
	}
	if job.ID == "" {
		return nil, retryableErr(errors.New("no job id"), "databento batch.submit_job answered without a job id")
	}
	return &job, nil
}

// waitBatch polls batch.list_jobs until the job is done or expired,
// backing off from poll_interval to a minute; note is told each new state.
func waitBatch(ctx context.Context, c *client, cfg *config, id string, note func(string) error) (string, error) {
	wait := cfg.PollInterval
	last := ""
	for {
		var jobs []batchJob
		form := url.Values{"states": {"received,queued,processing,done,expired"}}
		if err := c.getJSON(ctx, http.MethodGet, "batch.list_jobs", form, &jobs); err != nil {
			return "", err
		}
		i := slices.IndexFunc(jobs, func(j batchJob) bool { return j.ID == id })
		if i < 0 {
			return "", retryableErr(errors.New("job not listed"), "databento batch.list_jobs does not list job %s (yet)", id)
		}
		state := jobs[i].State
		if state != last {
			if err := note(state); err != nil {
				return "", err
			}
			last = state
		}
		switch state {
		case "done", "expired":
			return state, nil
		}
		if err := c.sleep(ctx, wait); err != nil {
			return "", err
		}
		wait = min(wait*2, time.Minute)
	}
}

// listBatchFiles fills st.Files from batch.list_files, keeping what is
// known verified of the same files.
func listBatchFiles(ctx context.Context, c *client, st *batchState) error {
	var listed []struct {
		Filename string            `json:"filename"`
		Size     int64             `json:"size"`
		Hash     string            `json:"hash"`
		URLs     map[string]string `json:"urls"`
	}
	if err := c.getJSON(ctx, http.MethodGet, "batch.list_files", url.Values{"job_id": {st.JobID}}, &listed); err != nil {
		return err
	}
	files := make([]batchFile, 0, len(listed))
	for _, l := range listed {
		if l.Filename == "" || strings.ContainsAny(l.Filename, `/\`) || l.Filename == "." || l.Filename == ".." {
			return permanent("databento batch.list_files: unusable file name %q", l.Filename)
		}
		f := batchFile{Name: l.Filename, Size: l.Size, Hash: l.Hash, URL: l.URLs["https"]}
		if f.URL == "" {
			return permanent("databento batch.list_files: %s has no https URL: download delivery is not available for job %s", f.Name, st.JobID)
		}
		for _, old := range st.Files {
			if old.Name == f.Name && old.Hash == f.Hash && old.Size == f.Size {
				f.Verified = old.Verified
			}
		}
		files = append(files, f)
	}
	slices.SortFunc(files, func(a, b batchFile) int { return strings.Compare(a.Name, b.Name) })
	st.Files = files
	return nil
}

// downloadVerified makes dir/f.Name the listed file: skipped when known
// verified and of the listed size; else downloaded (resuming a partial
// file with Range) and checked against the listed sha256, again on a
// mismatch, up to maxHashRetries times.
func downloadVerified(ctx context.Context, c *client, dir string, f *batchFile) error {
	path := filepath.Join(dir, f.Name)
	if fi, err := os.Stat(path); f.Verified && err == nil && fi.Size() == f.Size {
		return nil
	}
	f.Verified = false
	algo, want, ok := strings.Cut(f.Hash, ":")
	for try := 1; ; try++ {
		got, err := downloadResuming(ctx, c, path, f)
		if err != nil {
			return err
		}
		if !ok || algo != "sha256" {
			f.Verified = true // nothing to check against
			return nil
		}
		if strings.EqualFold(got, want) {
			f.Verified = true
			return nil
		}
		_ = os.Remove(path)
		if try == maxHashRetries {
			return retryableErr(fmt.Errorf("sha256 %s, listed %s", got, want),
				"databento: batch file %s failed its sha256 check %d times (got %s, listed %s): downloaded again next run", f.Name, try, got, want)
		}
	}
}

// downloadResuming gets the rest of the file after the bytes already on
// disk, asking for a Range; a server that answers with the whole file (200)
// restarts it. It returns the file's sha256 (hex), hashed as it is written.
// A cut connection resumes, and a failure the client retries (the same
// statuses, Retry-After, backoff) is retried, up to the client's retries;
// a status that outlasts them is classified as the client does.
func downloadResuming(ctx context.Context, c *client, path string, f *batchFile) (string, error) {
	h := sha256.New()
	for attempt := 0; ; attempt++ {
		have := int64(0)
		if fi, err := os.Stat(path); err == nil {
			have = fi.Size()
		}
		if have > f.Size {
			_ = os.Remove(path)
			have = 0
		}
		if have == f.Size && f.Size > 0 {
			return fileSHA256(path) // whole already, never hashed here
		}
		retryAfter, err := downloadOnce(ctx, c, path, f.URL, have, h)
		if err == nil {
			if fi, serr := os.Stat(path); serr == nil && fi.Size() == f.Size {
				return hex.EncodeToString(h.Sum(nil)), nil
			}
			err = fmt.Errorf("the body ended early")
		}
		var ae *APIError
		isAPI := errors.As(err, &ae)
		if isAPI && !retryableStatus(ae.Status) {
			return "", classify(ae, 0)
		}
		var pe *sdk.Error
		if errors.As(err, &pe) || ctx.Err() != nil {
			return "", err
		}
		if attempt >= c.retries {
			if isAPI {
				after, _ := parseRetryAfter(retryAfter)
				return "", classify(ae, after)
			}
			return "", retryableErr(err, "databento: downloading batch file %s failed %d times (%s); the unit will be retried and resume it", f.Name, attempt+1, c.redact(err.Error()))
		}
		if err := c.sleep(ctx, c.delay(attempt+1, retryAfter)); err != nil {
			return "", err
		}
	}
}

// downloadOnce makes one GET of the batch file at rawURL into path, from
// offset on (a Range), and leaves in h the hash of the whole file: the
// bytes already on disk, then the body. A 206 from offset appends to the
// file; a 200 (the whole file, whatever was asked) rewrites it. Any other
// status is an *APIError (with the response's Retry-After when not 2xx).
func downloadOnce(ctx context.Context, c *client, path, rawURL string, offset int64, h hash.Hash) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", permanent("%s", c.redact(fmt.Sprintf("databento: batch file URL %q: %v", rawURL, err)))
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, retryAfter, err := c.send(req, "batch download")
	if err != nil {
		return retryAfter, err
	}
	defer resp.Body.Close()
	flags := os.O_CREATE
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0 && strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.FormatInt(offset, 10)+"-"):
		flags |= os.O_RDWR | os.O_APPEND // read to hash the bytes on disk, then append
	case resp.StatusCode == http.StatusOK:
		flags |= os.O_WRONLY | os.O_TRUNC // the whole file, whatever was asked
	default: // a 2xx of no use here, e.g. a 206 from elsewhere
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		detail, caseName := parseDetail(b)
		return "", &APIError{Endpoint: "batch download", Status: resp.StatusCode, Detail: c.redact(detail), Case: caseName}
	}
	out, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return "", permanent("databento: download_dir: %v", err)
	}
	h.Reset()
	var cerr error
	if flags&os.O_APPEND != 0 {
		if _, err := io.CopyN(h, out, offset); err != nil {
			cerr = fmt.Errorf("hash the %d bytes on disk: %w", offset, err)
		}
	}
	if cerr == nil {
		ir := newIdleReader(resp.Body, c.timeout, func() { _ = resp.Body.Close() })
		defer ir.stop()
		_, cerr = io.Copy(io.MultiWriter(out, h), ir)
	}
	if err := out.Sync(); err != nil && cerr == nil {
		cerr = err
	}
	if err := out.Close(); err != nil && cerr == nil {
		cerr = err
	}
	return "", cerr
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// warnConditions reads condition.json, when the job has one, and warns
// about each day whose data is not available in full.
func warnConditions(dir string, out sdk.Sender) error {
	b, err := os.ReadFile(filepath.Join(dir, "condition.json"))
	if err != nil {
		return nil
	}
	var days []struct {
		Date      string `json:"date"`
		Condition string `json:"condition"`
	}
	if json.Unmarshal(b, &days) != nil {
		return out.Warn("databento: condition.json of the batch job is unreadable: the days' data quality is unknown")
	}
	for _, d := range days {
		if d.Condition != "" && d.Condition != "available" {
			if err := out.Warn(fmt.Sprintf("databento: %s is %s in the batch job's condition.json: its data may be incomplete or change", d.Date, d.Condition)); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadBatchFiles loads the job's data files in name order as one unit.
func loadBatchFiles(ctx context.Context, st *batchState, r *request, u *sdk.Unit, rows int, out sdk.Sender) error {
	e := newEmitter(out, r.Schema, rows, "databento batch job "+st.JobID)
	for _, f := range st.Files {
		if f.data() {
			e.fileBytes += f.Size
		}
	}
	var read int64 // bytes of the files before
	for _, f := range st.Files {
		if !f.data() {
			continue
		}
		n, err := loadDBNFile(ctx, e, filepath.Join(st.Dir, f.Name), r, read)
		read = n
		if err != nil {
			return err
		}
	}
	return e.finish("batch job " + st.JobID)
}

// loadDBNFile reads one downloaded DBN file into e, its progress counted
// from base on; its symbol mappings go to the host before its first batch.
// It returns base plus the bytes read.
func loadDBNFile(ctx context.Context, e *emitter, path string, r *request, base int64) (int64, error) {
	df, err := openDBNFile(path, "downloaded "+path, base, func(err error) error {
		return retryableErr(err, "databento: open downloaded %s: %v", path, err)
	})
	if err != nil {
		return base, err
	}
	defer df.close()
	maps := metadataMappings(df.rd.Metadata(), r)
	if !e.sent {
		e.maps = append(e.maps, maps...)
	} else if len(maps) > 0 {
		if err := e.out.Mappings(maps); err != nil {
			return df.n.Count(), err
		}
	}
	err = df.load(ctx, e)
	return df.n.Count(), err
}
