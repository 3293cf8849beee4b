// Package testbin builds hdi and its provider plugins for tests that run
// them as processes, and checks none is left running.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	once sync.Once
	dir  string
	err  error
)

// Dir builds hdi, hdi-provider-databento and hdi-provider-csv once per test
// binary into a temporary directory and returns it.
func Dir(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if dir, err = os.MkdirTemp("", "hdi-testbin-"); err != nil {
			return
		}
		for name, pkg := range map[string]string{
			"hdi":                    "github.com/hdi-dev/hdi/cmd/hdi",
			"hdi-provider-databento": "github.com/hdi-dev/hdi/plugins/databento",
			"hdi-provider-csv":       "github.com/hdi-dev/hdi/plugins/csv",
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

// Leftovers lists the processes still running one of the binaries Dir
// built ("PID path"), waiting up to two seconds for them to go: a test that
// leaves hdi or a provider running behind fails its package (see NoLeftovers).
func Leftovers() []string {
	if dir == "" {
		return nil
	}
	var left []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left = left[:0]
		exes, _ := filepath.Glob("/proc/[0-9]*/exe")
		for _, e := range exes {
			target, err := os.Readlink(e)
			if err != nil || !strings.HasPrefix(target, dir+string(filepath.Separator)) {
				continue
			}
			left = append(left, filepath.Base(filepath.Dir(e))+" "+target)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
	}
}

// NoLeftovers is an after-hook for pgtest.Main: it fails the package when a
// process of the binaries Dir built is still running, and kills it.
func NoLeftovers() error {
	left := Leftovers()
	if len(left) == 0 {
		return nil
	}
	for _, l := range left {
		var pid int
		if _, err := fmt.Sscan(l, &pid); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return fmt.Errorf("processes left running by the tests: %s", strings.Join(left, "; "))
}
