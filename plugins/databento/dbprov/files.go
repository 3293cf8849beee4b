package dbprov

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
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
				return nil, invalidArg("databento: file pattern %q: %v", p, err)
			}
			if len(m) == 0 {
				return nil, invalidArg("databento: file pattern %q matches no file", p)
			}
			matches = m
		} else {
			matches = []string{p}
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, invalidArg("databento: file %s: %v", m, err)
			}
			if !st.IsDir() {
				if err := add(m); err != nil {
					return nil, err
				}
				continue
			}
			entries, err := os.ReadDir(m)
			if err != nil {
				return nil, fmt.Errorf("databento: directory %s: %w", m, err)
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
				return nil, invalidArg("databento: directory %s holds no .dbn or .dbn.zst file", m)
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

// planFiles makes one unit per file, checking each file's metadata against
// the job.
func planFiles(r *request) (*sdk.Plan, error) {
	paths, err := expandFiles(r.Files)
	if err != nil {
		return nil, err
	}
	plan := &sdk.Plan{}
	keys := map[string]string{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, invalidArg("databento: file %s: %v", p, err)
		}
		rd, err := dbn.Open(p)
		if err != nil {
			return nil, invalidArg("databento: file %s is not a readable DBN file: %v", p, err)
		}
		meta := rd.Metadata()
		_ = rd.Close()
		schema, err := fileSchema(p, meta, r.Schema)
		if err != nil {
			return nil, err
		}
		if r.Dataset != "" && meta.Dataset != "" && meta.Dataset != r.Dataset {
			return nil, invalidArg("databento: file %s holds dataset %s but the job asks for %s", p, meta.Dataset, r.Dataset)
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
		if meta.Start != 0 && meta.Start != dbn.UndefTimestamp && meta.Start < 1<<63 {
			u.Start = int64(meta.Start)
		}
		if meta.End != 0 && meta.End != dbn.UndefTimestamp && meta.End < 1<<63 {
			u.End = int64(meta.End)
		}
		if !r.Range.IsZero() && u.Start != 0 && u.End != 0 &&
			(u.End <= r.Range.Start.UnixNano() || u.Start >= r.Range.End.UnixNano()) {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("databento: %s covers %s to %s, outside the job's range: skipped",
				p, fmtNS(u.Start), fmtNS(u.End)))
			continue
		}
		plan.Units = append(plan.Units, u)
	}
	return plan, nil
}

// fileSchema returns the schema of a file's records: its metadata's, which
// must agree with the job's when the job sets one.
func fileSchema(path string, meta *dbn.Metadata, want dbn.Schema) (dbn.Schema, error) {
	switch {
	case meta.Schema == dbn.SchemaNone && want == dbn.SchemaNone:
		return 0, invalidArg("databento: file %s mixes schemas (its metadata has none): set the job's stream to the schema to load from it", path)
	case meta.Schema == dbn.SchemaNone:
		return want, nil
	case want != dbn.SchemaNone && meta.Schema != want:
		return 0, invalidArg("databento: file %s holds schema %s but the job asks for %s: fix the job's stream or pick other files", path, meta.Schema, want)
	}
	return meta.Schema, nil
}
