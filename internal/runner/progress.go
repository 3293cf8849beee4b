package runner

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Progress receives a run's progress.
type Progress interface {
	// Start begins a run of these units.
	Start(units []sdk.Unit)
	// UnitRows reports the records a unit has handled so far.
	UnitRows(unit string, rows int64)
	// UnitSource reports the provider's own progress through a unit (bytes
	// of a file read, records of a stream), with its total when known.
	UnitSource(unit string, p sdk.Progress)
	// UnitDone reports a unit's end.
	UnitDone(unit string, o Outcome)
	Finish()
}

type nopProgress struct{}

func (nopProgress) Start([]sdk.Unit)                {}
func (nopProgress) UnitRows(string, int64)          {}
func (nopProgress) UnitSource(string, sdk.Progress) {}
func (nopProgress) UnitDone(string, Outcome)        {}
func (nopProgress) Finish()                         {}

// unitProgress is what is known of one unit's way to the end.
type unitProgress struct {
	weight   float64 // share of the run: its estimated bytes or rows, else 1
	estRows  int64
	rows     int64   // records handled
	fraction float64 // from the provider's progress with a total; -1: none
	done     bool
}

// progressState is shared by the bar and the log reporter. The fraction of
// the run done weighs each unit by its estimated size; a unit's own
// fraction is the provider's progress against its total (a file's bytes),
// else its records against the estimate, else unknown until it ends.
type progressState struct {
	mu             sync.Mutex
	order          []string
	units          map[string]*unitProgress
	started        time.Time
	stop, finished chan struct{}
}

func (s *progressState) init(units []sdk.Unit) {
	s.started = time.Now()
	s.units = make(map[string]*unitProgress, len(units))
	s.order = s.order[:0]
	allBytes, allRows := len(units) > 0, len(units) > 0
	for _, u := range units {
		allBytes = allBytes && u.EstimatedBytes != nil && *u.EstimatedBytes > 0
		allRows = allRows && u.EstimatedRows != nil && *u.EstimatedRows > 0
	}
	for _, u := range units {
		up := &unitProgress{weight: 1, fraction: -1}
		if u.EstimatedRows != nil {
			up.estRows = *u.EstimatedRows
		}
		switch {
		case allBytes:
			up.weight = float64(*u.EstimatedBytes)
		case allRows:
			up.weight = float64(*u.EstimatedRows)
		}
		s.units[u.Key] = up
		s.order = append(s.order, u.Key)
	}
	s.stop, s.finished = make(chan struct{}), make(chan struct{})
}

// snapshot returns the units done, the records handled, the rate, the
// fraction of the run done (-1: nothing known yet) and the time left (0:
// unknown).
func (s *progressState) snapshot() (done, units int, rows int64, rate, frac float64, eta time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var total, known float64
	signal := false
	for _, up := range s.units {
		total += up.weight
		rows += up.rows
		switch {
		case up.done:
			done++
			known += up.weight
			signal = true
		case up.fraction >= 0:
			known += up.weight * up.fraction
			signal = true
		case up.estRows > 0 && up.rows > 0:
			known += up.weight * min(float64(up.rows)/float64(up.estRows), 0.99)
			signal = true
		}
	}
	units = len(s.units)
	el := time.Since(s.started).Seconds()
	if el > 0 {
		rate = float64(rows) / el
	}
	frac = -1
	if signal && total > 0 {
		frac = known / total
		if frac > 0 && frac < 1 {
			eta = time.Duration(el * (1 - frac) / frac * float64(time.Second))
		}
	}
	return done, units, rows, rate, frac, eta
}

func (s *progressState) unit(key string) *unitProgress {
	up := s.units[key]
	if up == nil {
		up = &unitProgress{weight: 1, fraction: -1}
		s.units[key] = up
	}
	return up
}

func (s *progressState) UnitRows(unit string, rows int64) {
	s.mu.Lock()
	s.unit(unit).rows = rows
	s.mu.Unlock()
}

func (s *progressState) UnitSource(unit string, p sdk.Progress) {
	if !p.HasTotal || p.Total <= 0 {
		return
	}
	s.mu.Lock()
	s.unit(unit).fraction = min(float64(p.Done)/float64(p.Total), 1)
	s.mu.Unlock()
}

func (s *progressState) UnitDone(unit string, _ Outcome) {
	s.mu.Lock()
	s.unit(unit).done = true
	s.mu.Unlock()
}

func (s *progressState) loop(every time.Duration, tick func()) {
	go func() {
		defer close(s.finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				tick()
			case <-s.stop:
				return
			}
		}
	}()
}

// Bar draws a one-line progress bar on a terminal.
type Bar struct {
	W io.Writer
	progressState
}

// Start begins drawing.
func (b *Bar) Start(units []sdk.Unit) {
	b.init(units)
	b.loop(200*time.Millisecond, b.draw)
}

func (b *Bar) draw() {
	done, units, rows, rate, frac, eta := b.snapshot()
	const width = 24
	filled, pct := 0, "  ?%"
	if frac >= 0 {
		filled = int(width * frac)
		pct = fmt.Sprintf("%3.0f%%", 100*frac)
	}
	bar := make([]byte, width)
	for i := range bar {
		bar[i] = '.'
		if i < filled {
			bar[i] = '#'
		}
	}
	etaS := "?"
	if eta > 0 {
		etaS = eta.Round(time.Second).String()
	}
	fmt.Fprintf(b.W, "\r[%s] %s  units %d/%d  rows %d  %.0f rows/s  ETA %s   ", bar, pct, done, units, rows, rate, etaS)
}

// Finish stops drawing and ends the line.
func (b *Bar) Finish() {
	close(b.stop)
	<-b.finished
	b.draw()
	fmt.Fprintln(b.W)
}

// LogProgress logs a progress line every Every (default 10s): for pipes,
// files and JSON logs. A time left that is not known yet is left out.
type LogProgress struct {
	Logger *slog.Logger
	Every  time.Duration
	progressState
}

// Start begins reporting.
func (l *LogProgress) Start(units []sdk.Unit) {
	l.init(units)
	every := l.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	l.loop(every, l.report)
}

func (l *LogProgress) report() {
	done, units, rows, rate, frac, eta := l.snapshot()
	attrs := []any{"units_done", done, "units", units, "rows", rows, "rows_per_s", int64(rate)}
	if frac >= 0 {
		attrs = append(attrs, "percent", fmt.Sprintf("%.1f", 100*frac))
	}
	if eta > 0 {
		attrs = append(attrs, "eta", eta.Round(time.Second).String())
	}
	l.Logger.Info("progress", attrs...)
}

// Finish stops reporting.
func (l *LogProgress) Finish() {
	close(l.stop)
	<-l.finished
}
