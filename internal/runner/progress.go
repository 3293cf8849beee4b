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
	Start(units int, estimatedRows int64)
	UnitProgress(unit string, p sdk.Progress)
	UnitDone(unit string, o Outcome, rows int64)
	Finish()
}

type nopProgress struct{}

func (nopProgress) Start(int, int64)                  {}
func (nopProgress) UnitProgress(string, sdk.Progress) {}
func (nopProgress) UnitDone(string, Outcome, int64)   {}
func (nopProgress) Finish()                           {}

// progressState is shared by the bar and the log reporter.
type progressState struct {
	mu             sync.Mutex
	units, done    int
	rows, estRows  int64
	inflight       map[string]int64 // records done per running unit
	started        time.Time
	stop, finished chan struct{}
}

func (s *progressState) init(units int, est int64) {
	s.units, s.estRows, s.started = units, est, time.Now()
	s.inflight = map[string]int64{}
	s.stop, s.finished = make(chan struct{}), make(chan struct{})
}

func (s *progressState) snapshot() (done, units int, rows int64, rate float64, eta time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows = s.rows
	for _, n := range s.inflight {
		rows += n
	}
	el := time.Since(s.started).Seconds()
	if el > 0 {
		rate = float64(rows) / el
	}
	switch {
	case s.estRows > 0 && rate > 0 && rows < s.estRows:
		eta = time.Duration(float64(s.estRows-rows) / rate * float64(time.Second))
	case s.done > 0 && s.done < s.units:
		eta = time.Duration(el / float64(s.done) * float64(s.units-s.done) * float64(time.Second))
	}
	return s.done, s.units, rows, rate, eta
}

func (s *progressState) UnitProgress(unit string, p sdk.Progress) {
	if p.Unit != sdk.ProgressRecords {
		return
	}
	s.mu.Lock()
	s.inflight[unit] = p.Done
	s.mu.Unlock()
}

func (s *progressState) UnitDone(unit string, _ Outcome, rows int64) {
	s.mu.Lock()
	s.done++
	s.rows += rows
	delete(s.inflight, unit) // its records are in rows now
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
func (b *Bar) Start(units int, est int64) {
	b.init(units, est)
	b.loop(200*time.Millisecond, b.draw)
}

func (b *Bar) draw() {
	done, units, rows, rate, eta := b.snapshot()
	const width = 24
	filled := 0
	if units > 0 {
		filled = width * done / units
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
	fmt.Fprintf(b.W, "\r[%s] units %d/%d  rows %d  %.0f rows/s  ETA %s   ", bar, done, units, rows, rate, etaS)
}

// Finish stops drawing and ends the line.
func (b *Bar) Finish() {
	close(b.stop)
	<-b.finished
	b.draw()
	fmt.Fprintln(b.W)
}

// LogProgress logs a progress line every Every (default 10s): for pipes,
// files and JSON logs.
type LogProgress struct {
	Logger *slog.Logger
	Every  time.Duration
	progressState
}

// Start begins reporting.
func (l *LogProgress) Start(units int, est int64) {
	l.init(units, est)
	every := l.Every
	if every <= 0 {
		every = 10 * time.Second
	}
	l.loop(every, l.report)
}

func (l *LogProgress) report() {
	done, units, rows, rate, eta := l.snapshot()
	l.Logger.Info("progress", "units_done", done, "units", units, "rows", rows, "rows_per_s", int64(rate), "eta", eta.Round(time.Second).String())
}

// Finish stops reporting.
func (l *LogProgress) Finish() {
	close(l.stop)
	<-l.finished
}
