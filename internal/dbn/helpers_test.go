package dbn

import (
	"os"
	"path/filepath"
	"testing"
)

// sampleDir finds shared/testdata/dbn beside the repository: it walks up from
// the package directory and checks <ancestor>/shared/testdata/dbn. The
// environment variable HDI_DBN_TESTDATA overrides. Missing samples fail the
// test: they are required.
func sampleDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("HDI_DBN_TESTDATA"); d != "" {
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "testdata", "dbn")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("sample directory shared/testdata/dbn not found above %s (set HDI_DBN_TESTDATA)", must(filepath.Abs(".")))
		}
		dir = parent
	}
}

func must[T any](v T, _ error) T { return v }

func samplePath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(sampleDir(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("sample %s missing: %v", name, err)
	}
	return p
}

// readAll decodes a file and returns its metadata and raw v3 records (copied).
func readAll(t testing.TB, path string) (*Metadata, [][]byte) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer r.Close()
	var recs [][]byte
	for r.Next() {
		recs = append(recs, append([]byte(nil), r.RecordBytes()...))
	}
	if err := r.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if n, _ := r.Skipped(); n != 0 {
		t.Fatalf("%s: %d records of unknown rtypes skipped", path, n)
	}
	return r.Metadata(), recs
}
