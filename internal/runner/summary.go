package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hdi-dev/hdi/internal/load"
)

// Summary is what a run did.
type Summary struct {
	RunID  int64
	Job    string
	Table  string
	Status string // succeeded, failed or interrupted

	UnitsTotal, UnitsDone, UnitsSkipped, UnitsFailed int
	// UnitsInterrupted counts the units stopped before they committed and
	// those never started: a re-run loads them.
	UnitsInterrupted int
	// Rows totals the committed units' counts.
	Rows load.Counts
	// Rules counts the rows each rule flagged (error and warn).
	Rules map[string]int64
	// Failures lists the failed units with their errors.
	Failures []UnitResult

	Started  time.Time
	Duration time.Duration

	mu sync.Mutex
}

func newSummary(p *Planned) *Summary {
	return &Summary{Job: p.Job.Name, Table: p.Table.Plain(), UnitsTotal: len(p.Units), Rules: map[string]int64{}, Started: time.Now()}
}

func (s *Summary) add(r UnitResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Outcome {
	case OutcomeDone:
		s.UnitsDone++
		s.Rows.Add(r.Counts)
		for k, v := range r.RuleCounts {
			s.Rules[k] += v
		}
	case OutcomeSkipped:
		s.UnitsSkipped++
	case OutcomeInterrupted:
		s.UnitsInterrupted++
	case OutcomeFailed:
		s.UnitsFailed++
		s.Failures = append(s.Failures, r)
	}
}

// notStarted counts the units a stop kept from starting.
func (s *Summary) notStarted(n int) {
	s.mu.Lock()
	s.UnitsInterrupted += n
	s.mu.Unlock()
}

func (s *Summary) finish() {
	s.Duration = time.Since(s.Started)
	switch {
	case s.UnitsInterrupted > 0:
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
		return fmt.Errorf("%w: %d of %d units committed, %d stopped before committing anything: run the same command again to resume (committed units are skipped)",
			ErrInterrupted, s.UnitsDone+s.UnitsSkipped, s.UnitsTotal, s.UnitsInterrupted)
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

// failure says which unit failed and why: "unit KEY: error", naming the
// unit once (the runner's own errors start with it already).
func failure(f UnitResult) string {
	prefix := "unit " + f.Key + ": "
	return prefix + strings.TrimPrefix(f.Err.Error(), prefix)
}

// RowsPerSecond is the load rate over the run.
func (s *Summary) RowsPerSecond() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Rows.Seen()) / s.Duration.Seconds()
}

// WriteText prints the summary for people.
func (s *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "run %d (%s) %s in %s\n", s.RunID, s.Job, s.Status, s.Duration.Round(time.Millisecond))
	fmt.Fprintf(&b, "  units: %d done, %d skipped (already loaded), %d failed", s.UnitsDone, s.UnitsSkipped, s.UnitsFailed)
	if s.UnitsInterrupted > 0 {
		fmt.Fprintf(&b, ", %d interrupted", s.UnitsInterrupted)
	}
	fmt.Fprintf(&b, ", of %d\n", s.UnitsTotal)
	c := s.Rows
	fmt.Fprintf(&b, "  rows into %s: %d inserted, %d updated, %d unchanged, %d deduplicated, %d quarantined, %d loaded with warnings (%.0f rows/s)\n",
		s.Table, c.Inserted, c.Updated, c.Unchanged, c.Deduplicated, c.Quarantined, c.Warned, s.RowsPerSecond())
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
		fmt.Fprintf(&b, "  failed %s\n", failure(f))
	}
	if s.UnitsInterrupted > 0 {
		b.WriteString("  interrupted: run the same command again to resume; committed units are skipped\n")
	}
	if c.Quarantined > 0 {
		fmt.Fprintf(&b, "  see the quarantined rows with: hdi quarantine list --run %d\n", s.RunID)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Log writes the summary as one log record (for --log-format json): the
// same facts as WriteText, as attributes.
func (s *Summary) Log(l *slog.Logger) {
	c := s.Rows
	failures := make([]string, 0, len(s.Failures))
	for _, f := range s.Failures {
		failures = append(failures, failure(f))
	}
	level := slog.LevelInfo
	if s.Status != "succeeded" {
		level = slog.LevelError
	}
	l.Log(context.Background(), level, "run finished",
		"run", s.RunID, "job", s.Job, "status", s.Status, "table", s.Table,
		"duration", s.Duration.Round(time.Millisecond).String(),
		"units_total", s.UnitsTotal, "units_done", s.UnitsDone, "units_skipped", s.UnitsSkipped,
		"units_failed", s.UnitsFailed, "units_interrupted", s.UnitsInterrupted,
		"rows_inserted", c.Inserted, "rows_updated", c.Updated, "rows_unchanged", c.Unchanged,
		"rows_deduplicated", c.Deduplicated, "rows_quarantined", c.Quarantined, "rows_warned", c.Warned,
		"rows_per_s", int64(s.RowsPerSecond()), "rule_hits", s.Rules, "failures", failures)
}
