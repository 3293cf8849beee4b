package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// binaries builds bin/hdi and the provider plugins once per test run into a
// temporary directory and returns it.
func binaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "hdi-bin-")
		if binErr != nil {
			return
		}
		for name, pkg := range map[string]string{
			"hdi":                    "github.com/hdi-dev/hdi/cmd/hdi",
			"hdi-provider-databento": "github.com/hdi-dev/hdi/plugins/databento",
		} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, name), pkg).CombinedOutput()
			if err != nil {
				binErr = &buildError{pkg: pkg, out: string(out), err: err}
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

type buildError struct {
	pkg, out string
	err      error
}

func (e *buildError) Error() string { return "build " + e.pkg + ": " + e.err.Error() + "\n" + e.out }
