package dbprov

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// isDBNName reports whether a file name looks like a DBN file.
func isDBNName(name string) bool {
	return strings.HasSuffix(name, ".dbn") || strings.HasSuffix(name, ".dbn.zst")
}

// expandFiles turns paths, directories (their .dbn and .dbn.zst files, not
// recursive) and globs into a sorted, deduplicated list of absolute paths.
func expandFiles(in []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) error {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("databento: file %s: %w", p, err)
		}
		if !seen[abs] {
			seen[abs] = true
			out = append(out, abs)
		}
		return nil
	}
	for _, p := range in {
		var matches []string
		if strings.ContainsAny(p, "*?[") {
			m, err := filepath.Glob(p)
			if err != nil {
				return nil, sdk.FieldError("files", "pattern %q: %v", p, err)
			}
			if len(m) == 0 {
				return nil, sdk.FieldError("files", "%q matches no file (relative paths start from %s)", p, workDir())
			}
			matches = m
		} else {
			matches = []string{p}
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, sdk.FieldError("files", "%v", err)
			}
			if !st.IsDir() {
				if err := add(m); err != nil {
					return nil, err
				}
				continue
			}
			entries, err := os.ReadDir(m)
			if err != nil {
				return nil, sdk.FieldError("files", "directory %s: %v", m, err)
			}
			n := 0
			for _, e := range entries {
				if !e.IsDir() && isDBNName(e.Name()) {
					n++
					if err := add(filepath.Join(m, e.Name())); err != nil {
						return nil, err
					}
				}
			}
			if n == 0 {
				return nil, sdk.FieldError("files", "directory %s holds no .dbn or .dbn.zst file", m)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// fileHash identifies a file by its size and first MiB.
func fileHash(path string, size int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	var sz [8]byte
	binary.LittleEndian.PutUint64(sz[:], uint64(size))
	h.Write(sz[:])
	if _, err := io.Copy(h, io.LimitReader(f, 1<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// File parts. A big file is loaded as several units, its parts, which the
// runner loads in parallel, each in its own transaction: a record goes to
// part partOf(instrument_id, ts_event). Every natural key holds both
// fields, so records that could collide stay in one part, in file order
// (the later one wins where conflicts update); ts_event is taken in ~1 ms
// buckets, so a part's rows come in runs. Every part reads the whole file
// (decoding is cheap next to PostgreSQL's inserts, and only a part's own
// records are built into batches). The number of parts depends on the file
// alone, so its unit keys are stable and a re-run skips exactly the parts
// already loaded.
const (
	autoPartBytes = 8 << 20 // a file this big or bigger gets autoParts parts
	autoParts     = 2       // hdi's default concurrency
	maxParts      = 64      // hdi's highest concurrency
)

// partOf is the 0-based part, of parts, of a record.
func partOf(instrumentID uint32, tsEvent uint64, parts int64) int64 {
	x := (uint64(instrumentID)<<32 ^ tsEvent>>20) * 0x9E3779B97F4A7C15
	return int64((x >> 32) % uint64(parts))
}

// partsFor is the number of parts of a file of size bytes: the job's parts,
// else autoParts for a big file. A replacing load (replace-range, --force)
// or a limit keeps one unit per file.
func (r *request) partsFor(size int64) int {
	switch {
	case r.Limit > 0 || r.Replace:
		return 1
	case r.Parts > 0:
		return r.Parts
	case size < autoPartBytes:
		return 1
	}
	return autoParts
}

// filePart reads a unit's part param, "K/P" (1-based); none is 1/1.
func filePart(u *sdk.Unit) (k, n int64, err error) {
	v := u.Params["part"]
	if v == "" {
		return 1, 1, nil
	}
	if _, err := fmt.Sscanf(v, "%d/%d", &k, &n); err != nil || n < 1 || k < 1 || k > n {
		return 0, 0, permanent("databento: unit %s: part %q: want K/P with 1 <= K <= P", u.Key, v)
	}
	return k, n, nil
}

// planFiles makes one unit per file (or per part of a big file), checking
// each file's metadata against the job.
func planFiles(r *request) (*sdk.Plan, error) {
	paths, err := expandFiles(r.Files)
	if err != nil {
		return nil, err
	}
	plan := &sdk.Plan{}
	if r.Parts > 1 && (r.Limit > 0 || r.Replace) {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("databento: parts %d not used: with a limit, replace-range or --force each file loads as one unit", r.Parts))
	}
	keys := map[string]string{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, sdk.FieldError("files", "%v", err)
		}
		rd, err := dbn.Open(p)
		if err != nil {
			return nil, sdk.FieldError("files", "%s is not a readable DBN file: %v", p, err)
		}
		meta := rd.Metadata()
		_ = rd.Close()
		schema, err := fileSchema(p, meta, r.Schema)
		if err != nil {
			return nil, err
		}
		if r.Dataset != "" && meta.Dataset != "" && meta.Dataset != r.Dataset {
			return nil, sdk.FieldError("dataset", "%s: file %s holds dataset %s", r.Dataset, p, meta.Dataset)
		}
		h, err := fileHash(p, st.Size())
		if err != nil {
			return nil, fmt.Errorf("databento: read %s: %w", p, err)
		}
		key := fmt.Sprintf("databento:file:%s:%s:%s", meta.Dataset, schema, h)
		if prev, dup := keys[key]; dup {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("databento: %s has the same content as %s: loaded once", p, prev))
			continue
		}
		keys[key] = p
		u := sdk.Unit{
			Key: key, Stream: schema.String(), Dataset: meta.Dataset, Files: []string{p},
			EstimatedBytes: sdk.Int64(st.Size()), EstimatedCostUSD: sdk.Float64(0),
			Params: map[string]string{"source": "files", "schema": schema.String()},
		}
		// The file's span, when its metadata has both ends. A start of 0
		// reads as unknown here: no market data starts at the epoch, and a
		// span too wide would have replace-range delete rows of the file's
		// symbols that the file does not hold.
		if meta.Start != 0 && meta.End != dbn.UndefTimestamp && meta.End < 1<<63 && meta.End > meta.Start {
			u.Start, u.End = int64(meta.Start), int64(meta.End)
		}
		if _, spans := u.Range(); spans && !r.Range.IsZero() &&
			(u.End <= r.Range.Start.UnixNano() || u.Start >= r.Range.End.UnixNano()) {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("databento: %s covers %s to %s, outside the job's range: skipped",
				p, fmtNS(u.Start), fmtNS(u.End)))
			continue
		}
		narrowFileUnit(&u, r)
		parts := r.partsFor(st.Size())
		if parts == 1 {
			plan.Units = append(plan.Units, u)
			continue
		}
		for k := 1; k <= parts; k++ {
			pu := u
			pu.Key, pu.WholeKey = fmt.Sprintf("%s:part=%d/%d", u.Key, k, parts), u.Key
			pu.EstimatedBytes = sdk.Int64(st.Size() / int64(parts))
			pu.Params = maps.Clone(u.Params)
			pu.Params["part"] = fmt.Sprintf("%d/%d", k, parts)
			plan.Units = append(plan.Units, pu)
		}
	}
	return plan, nil
}

// narrowFileUnit fits a file unit to what the job loads of the file: with a
// range that does not cover the file, the unit spans only the range (what
// replace-range deletes) and its key says so; with a limit, the key says
// that too. A later run without them then loads the file instead of
// finding it done.
func narrowFileUnit(u *sdk.Unit, r *request) {
	if !r.Range.IsZero() {
		start, end := r.Range.Start.UnixNano(), r.Range.End.UnixNano() // a file of unknown span takes the range
		if _, spans := u.Range(); spans {
			start, end = max(start, u.Start), min(end, u.End)
		}
		if start != u.Start || end != u.End {
			u.Start, u.End = start, end
			u.Key += ":range=" + fmtNS(u.Start) + "/" + fmtNS(u.End)
		}
	}
	if r.Limit > 0 {
		u.Key += fmt.Sprintf(":limit=%d", r.Limit)
	}
}

// fileSchema returns the schema of a file's records: its metadata's, which
// must agree with the job's when the job sets one.
func fileSchema(path string, meta *dbn.Metadata, want dbn.Schema) (dbn.Schema, error) {
	switch {
	case meta.Schema == dbn.SchemaNone && want == dbn.SchemaNone:
		return 0, sdk.FieldError("schema", "file %s mixes schemas (its metadata has none): give the schema to load from it", path)
	case meta.Schema == dbn.SchemaNone:
		return want, nil
	case want != dbn.SchemaNone && meta.Schema != want:
		return 0, sdk.FieldError("schema", "%s: file %s holds %s: give its schema or pick other files", want, path, meta.Schema)
	}
	return meta.Schema, nil
}

func workDir() string {
	if d, err := os.Getwd(); err == nil {
		return d
	}
	return "the working directory"
}
