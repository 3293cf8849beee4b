package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/hdi-dev/hdi/internal/localpg"
)

// watchdogEnv, when set in a test binary's environment, turns it into the
// watchdog of the throwaway cluster in that directory (see init).
const watchdogEnv = "HDI_PGTEST_WATCHDOG_DIR"

var local struct {
	once    sync.Once
	mu      sync.Mutex
	dir     string
	cluster *localpg.Cluster
	url     string
	err     error
	// leash is the write end of a pipe whose read end is the watchdog's
	// stdin: the kernel closes it when this process ends, however it ends.
	leash *os.File
}

// init runs the watchdog before any test when the binary was started as one:
// it waits until its parent test binary exits (its stdin reaches EOF), then
// stops and removes the throwaway cluster.
func init() {
	dir := os.Getenv(watchdogEnv)
	if dir == "" {
		return
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	if _, err := os.Stat(dir); err != nil {
		os.Exit(0) // Main removed it already
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if c, err := localpg.Open(localpg.Options{DataDir: dir, Throwaway: true}); err == nil {
		_ = c.Remove(ctx)
	}
	_ = os.RemoveAll(dir)
	os.Exit(0)
}

// localAdminURL starts this test binary's throwaway cluster on first use.
func localAdminURL() (string, error) {
	local.once.Do(func() {
		local.url, local.err = startLocal()
	})
	return local.url, local.err
}

func startLocal() (string, error) {
	dir, err := os.MkdirTemp("", "hdi-pgtest-")
	if err != nil {
		return "", err
	}
	// Under root the server runs as the postgres user, which must traverse it.
	if err := os.Chmod(dir, 0o711); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localpg.Throwaway(ctx, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	local.mu.Lock()
	local.dir, local.cluster = dir, c
	local.mu.Unlock()
	if err := startWatchdog(dir); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: no watchdog for the throwaway cluster in %s (it is removed only if TestMain calls pgtest.Main): %v\n", dir, err)
	}
	return c.DatabaseURL("postgres"), nil
}

func startWatchdog(dir string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), watchdogEnv+"="+dir)
	cmd.Stdin = r
	// Its own process group: a Ctrl-C that stops the tests must not stop the
	// clean-up. No stdout/stderr: go test must not wait for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return err
	}
	go func() { _ = cmd.Wait() }()
	local.mu.Lock()
	local.leash = w
	local.mu.Unlock()
	return nil
}

// stopLocal stops and removes the throwaway cluster, if one was started, and
// releases the watchdog.
func stopLocal() error {
	local.mu.Lock()
	defer local.mu.Unlock()
	if local.cluster == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := local.cluster.Remove(ctx)
	err = errors.Join(err, os.RemoveAll(local.dir))
	local.cluster = nil
	if local.leash != nil {
		local.leash.Close() // the watchdog finds nothing left and exits
		local.leash = nil
	}
	if err != nil {
		return fmt.Errorf("remove the throwaway cluster: %w", err)
	}
	return nil
}
