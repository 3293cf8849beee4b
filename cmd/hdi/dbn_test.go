package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dbnSample finds shared/testdata/dbn beside the repository.
func dbnSample(t *testing.T, name string) string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	for {
		p := filepath.Join(dir, "shared", "testdata", "dbn", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("sample %s not found in shared/testdata/dbn above the package", name)
		}
		dir = filepath.Dir(dir)
	}
}

func runDBN(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := func(string) (string, bool) { return "", false }
	code = runWithEnv(args, env, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDBNCommands(t *testing.T) {
	f := dbnSample(t, "test_data.ohlcv-1s.v3.dbn.zst")
	code, out, errOut := runDBN(t, nil, "dbn", "cat", f, "--format", "csv", "--map-symbols", "--limit", "1")
	if code != 0 || out != "ts_event,rtype,publisher_id,instrument_id,open,high,low,close,volume,symbol\n2020-12-28T13:00:00.000000000Z,32,1,5482,372025.000000000,372050.000000000,372025.000000000,372050.000000000,57,ESH1\n" {
		t.Errorf("cat: code %d\n%s\n%s", code, out, errOut)
	}
	raw, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = runDBN(t, raw, "dbn", "cat", "-")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"open":"372025.000000000"`) {
		t.Errorf("cat stdin: code %d\n%s", code, out)
	}
	code, out, _ = runDBN(t, nil, "dbn", "inspect", f, dbnSample(t, "test_data.trades.v1.dbn.zst"))
	if code != 0 || !strings.Contains(out, "ohlcv-1s:        2") || !strings.Contains(out, "dbn version:   1") {
		t.Errorf("inspect: code %d\n%s", code, out)
	}
	if code, _, errOut = runDBN(t, nil, "dbn", "cat", f, "--format", "xml"); code != 2 || !strings.Contains(errOut, "--format") {
		t.Errorf("bad --format: code %d %s", code, errOut)
	}
	if code, out, errOut = runDBN(t, []byte("not dbn"), "dbn", "inspect", "-"); code != 1 || out != "" || !strings.Contains(errOut, "byte offset") {
		t.Errorf("bad input: code %d %q %s", code, out, errOut)
	}
}
