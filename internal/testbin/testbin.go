// Package testbin builds hdi and its databento plugin for tests that run
// them as processes.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	err  error
)

// Dir builds hdi and hdi-provider-databento once per test binary into a
// temporary directory and returns it.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if dir, err = os.MkdirTemp("", "hdi-testbin-"); err != nil {
			return
		}
		for name, pkg := range map[string]string{
			"hdi":                    "github.com/hdi-dev/hdi/cmd/hdi",
			"hdi-provider-databento": "github.com/hdi-dev/hdi/plugins/databento",
		} {
			if out, berr := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput(); berr != nil {
				err = fmt.Errorf("build %s: %v\n%s", pkg, berr, out)
				return
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
