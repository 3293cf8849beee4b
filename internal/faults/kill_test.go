package faults

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/bench"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// TestRandomKills SIGKILLs hdi or its provider at random moments of a load
// from the API (3 trials; 12 with `make faults`). Every re-run must end
// with the clean run's rows exactly, and no provider process may outlive a
// killed hdi by more than two seconds.
func TestRandomKills(t *testing.T) {
	const days = 3
	trials := 3
	if slowFaults {
		trials = 12
	}
	srv := fakeAPI(t, days, 3000)
	want := cleanRun(t, srv, days)
	rnd := rand.New(rand.NewPCG(13, 42))
	var hdiKills, providerKills, clean, orphans int
	for trial := range trials {
		url, pool := migratedDB(t)
		// Slow bodies: each 4 KiB piece waits 40 ms, so a unit streams for
		// a while and the kill can land anywhere in the run.
		srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", Delay: 40 * time.Millisecond, Count: days})
		c := hdiCmd(t, apiEnv(t, url, srv), apiArgs(days)...)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		var plugins []int
		waitFor(t, time.Minute, "the provider to start", func() bool {
			plugins = plugins[:0]
			for _, p := range bench.ChildPIDs(c.Process.Pid) {
				if strings.HasPrefix(commName(p), "hdi-provider") {
					plugins = append(plugins, p)
				}
			}
			return len(plugins) > 0
		})
		time.Sleep(time.Duration(rnd.IntN(2000)) * time.Millisecond)
		victim, who := c.Process.Pid, "hdi"
		if trial%2 == 1 && len(plugins) > 0 {
			victim, who = plugins[0], "provider"
		}
		if state := procState(victim); state == "" || state == "Z" {
			t.Errorf("trial %d: %s had already finished: the kill would test nothing (slow the bodies down)", trial, who)
		}
		_ = syscall.Kill(victim, syscall.SIGKILL)
		if who == "hdi" {
			hdiKills++
			_ = c.Wait()
			for _, p := range plugins {
				if !processGone(p, 2*time.Second) {
					orphans++
					_ = syscall.Kill(p, syscall.SIGKILL)
				}
			}
		} else {
			providerKills++
			_ = c.Wait() // hdi retries the unit with a new provider, or fails it
		}
		srv.Reset()
		mustHDI(t, apiEnv(t, url, srv), apiArgs(days)...)
		if got := pgtest.Checksum(t, pool, "trades"); got != want {
			t.Errorf("trial %d (killed %s): after the re-run %s, a clean run %s", trial, who, got, want)
		} else {
			clean++
		}
	}
	t.Logf("%d trials: %d kills of hdi, %d of the provider; %d clean re-runs; %d orphaned provider processes", trials, hdiKills, providerKills, clean, orphans)
	if orphans > 0 {
		t.Fatalf("%d provider processes outlived a killed hdi", orphans)
	}
}

// processGone waits up to d for pid to exit (gone, or a zombie).
func processGone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		state := procState(pid)
		if state == "" || state == "Z" {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// procState is the state letter of /proc/PID/stat ("" when gone).
func procState(pid int) string {
	b := readProc(fmt.Sprintf("/proc/%d/stat", pid))
	if i := strings.LastIndexByte(b, ')'); i >= 0 && len(b) > i+2 {
		return b[i+2 : i+3]
	}
	return ""
}

func readProc(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
