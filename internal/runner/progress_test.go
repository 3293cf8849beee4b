package runner

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// TestProgressFollowsBytesAndRows: the run's fraction weighs units by their
// estimated size and reads each unit's own progress (a file's bytes, else
// rows against the estimate); with nothing known it says so instead of an
// ETA of 0s.
func TestProgressFollowsBytesAndRows(t *testing.T) {
	var s progressState
	s.init([]sdk.Unit{
		{Key: "a", EstimatedBytes: sdk.Int64(300), EstimatedRows: sdk.Int64(3000)},
		{Key: "b", EstimatedBytes: sdk.Int64(100), EstimatedRows: sdk.Int64(1000)},
	})
	s.started = time.Now().Add(-10 * time.Second)
	if _, _, _, _, frac, eta := s.snapshot(); frac != -1 || eta != 0 {
		t.Fatalf("nothing known yet: frac %v eta %v", frac, eta)
	}
	s.UnitSource("a", sdk.Progress{Done: 150, Total: 300, HasTotal: true, Unit: sdk.ProgressBytes})
	_, _, _, _, frac, eta := s.snapshot()
	if frac != 0.375 || eta < 15*time.Second || eta > 18*time.Second {
		t.Fatalf("half of the big unit's bytes: frac %v eta %v, want 0.375 and ~16.7s", frac, eta)
	}
	s.UnitRows("b", 500) // no byte progress: rows against its estimate
	s.UnitDone("a", OutcomeDone)
	if _, _, _, _, frac, _ := s.snapshot(); frac != 0.875 {
		t.Fatalf("a done, b half its rows: frac %v, want 0.875", frac)
	}

	var logs bytes.Buffer
	l := &LogProgress{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	l.init([]sdk.Unit{{Key: "x"}})
	l.report()
	if strings.Contains(logs.String(), "eta=") || strings.Contains(logs.String(), "percent=") {
		t.Fatalf("an unknown ETA must not be logged as 0s: %s", logs.String())
	}
}
