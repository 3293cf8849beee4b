package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Summary is what a run did.
type Summary struct {
	RunID  int64
	Job    string
	Table  string
	Status string // succeeded, failed or interrupted

	UnitsTotal, UnitsDone, UnitsSkipped, UnitsFailed int
	RowsLoaded, RowsDeduplicated, RowsQuarantined    int64
	RowsWarned                                       int64
	// Rules counts the rows each rule flagged (error and warn).
	Rules map[string]int64
	// Failures lists the failed units with their errors.
	Failures []UnitResult

	Started  time.Time
	Duration time.Duration

	mu sync.Mutex
}

func newSummary(p *Planned) *Summary {
	return &Summary{Job: p.Job.Name, Table: p.Table.Table, UnitsTotal: len(p.Units), Rules: map[string]int64{}, Started: time.Now()}
}

func (s *Summary) add(r UnitResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Outcome {
	case OutcomeDone:
		s.UnitsDone++
		s.RowsLoaded += r.Counts.Loaded
		s.RowsDeduplicated += r.Counts.Deduplicated
		s.RowsQuarantined += r.Counts.Quarantined
		s.RowsWarned += r.Warned
		for k, v := range r.RuleCounts {
			s.Rules[k] += v
		}
	case OutcomeSkipped:
		s.UnitsSkipped++
	case OutcomeFailed:
		s.UnitsFailed++
		s.Failures = append(s.Failures, r)
	}
}

func (s *Summary) finish(stop <-chan struct{}, ctx context.Context) {
	s.Duration = time.Since(s.Started)
	switch {
	case stopped(ctx, stop) && s.UnitsDone+s.UnitsSkipped < s.UnitsTotal:
		s.Status = "interrupted"
	case s.UnitsFailed > 0:
		s.Status = "failed"
	default:
		s.Status = "succeeded"
	}
}

// Err is nil when every unit was loaded or skipped.
func (s *Summary) Err() error {
	switch s.Status {
	case "interrupted":
		return fmt.Errorf("%w: %d of %d units committed; run the same command again to resume (finished units are skipped)",
			ErrInterrupted, s.UnitsDone+s.UnitsSkipped, s.UnitsTotal)
	case "failed":
		var msgs []string
		for _, f := range s.Failures {
			if !errors.Is(f.Err, ErrInterrupted) {
				msgs = append(msgs, f.Err.Error())
			}
		}
		first := ""
		if len(msgs) > 0 {
			first = ": " + msgs[0]
		}
		return fmt.Errorf("%d of %d units failed (nothing of them was committed; re-run to retry them)%s", s.UnitsFailed, s.UnitsTotal, first)
	}
	return nil
}

// RowsPerSecond is the load rate over the run.
func (s *Summary) RowsPerSecond() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.RowsLoaded+s.RowsDeduplicated+s.RowsQuarantined) / s.Duration.Seconds()
}

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "run %d (%s) %s in %s\n", s.RunID, s.Job, s.Status, s.Duration.Round(time.Millisecond))
	fmt.Fprintf(&b, "  units: %d done, %d skipped (already loaded), %d failed, of %d\n", s.UnitsDone, s.UnitsSkipped, s.UnitsFailed, s.UnitsTotal)
	fmt.Fprintf(&b, "  rows into %s: %d loaded, %d deduplicated, %d quarantined, %d loaded with warnings (%.0f rows/s)\n",
		s.Table, s.RowsLoaded, s.RowsDeduplicated, s.RowsQuarantined, s.RowsWarned, s.RowsPerSecond())
	if len(s.Rules) > 0 {
		names := make([]string, 0, len(s.Rules))
		for k := range s.Rules {
			names = append(names, k)
		}
		sort.Strings(names)
		b.WriteString("  rule hits:")
		for _, n := range names {
			fmt.Fprintf(&b, " %s=%d", n, s.Rules[n])
		}
		b.WriteString("\n")
	}
	for _, f := range s.Failures {
		fmt.Fprintf(&b, "  failed unit %s: %v\n", f.Key, f.Err)
	}
	if s.RowsQuarantined > 0 {
		fmt.Fprintf(&b, "  see the quarantined rows with: hdi quarantine list --run %d\n", s.RunID)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
