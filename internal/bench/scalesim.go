package bench

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// ScaleModel is what a queued load costs, per row, on each resource it
// uses; docs/SCALING.md says which figures were measured on the test
// machine and which are assumed for bigger ones.
type ScaleModel struct {
	// WorkerCPUPerRow is hdi's and its provider's CPU per row (seconds), on
	// the worker's machine.
	WorkerCPUPerRow float64
	// DBCPUPerRow is the database's CPU per row (seconds): COPY, the key
	// and indexes, WAL insertion.
	DBCPUPerRow float64
	// WALBytesPerRow is the WAL written per row.
	WALBytesPerRow float64
	// DBCores and WALBytesPerSec are the database machine's cores and the
	// WAL device's sustained write bandwidth.
	DBCores        int
	WALBytesPerSec float64
	// IndexMissPerRow is the share of rows whose key insert reads an index
	// page from disk (0 while the key index fits in memory), and
	// ReadIOPS the random reads per second the data disk serves.
	IndexMissPerRow float64
	ReadIOPS        float64
	// CoresPerWorker is the CPU a worker process may use (1: a worker per
	// core on its own machine).
	CoresPerWorker float64
	// Units is how many units the run has, UnitRows the rows of each, and
	// SlotsPerWorker the units a worker loads at once (--concurrency).
	Units, SlotsPerWorker int
	UnitRows              float64
}

// ScaleResult is the simulated run.
type ScaleResult struct {
	Workers    int
	RowsPerSec float64 // over the whole run, tail included
	Seconds    float64
	// Bound names the resource that limited the run most of the time.
	Bound string
}

// Simulate runs the model with the given number of worker processes: a
// fluid simulation in small time steps where every unit under way streams
// rows at the rate its worker's CPU allows, and the database's CPU, the
// WAL device and the index reads are shared equally among the units under
// way (processor sharing). Units start as slots free up, so a run whose
// units do not fill the last wave pays for its tail.
func Simulate(m ScaleModel, workers int) ScaleResult {
	slots := workers * max(m.SlotsPerWorker, 1)
	remaining := make([]float64, 0, m.Units)
	next := 0
	var t float64
	boundTime := map[string]float64{}
	const dt = 0.01
	for next < m.Units || len(remaining) > 0 {
		for len(remaining) < slots && next < m.Units {
			remaining = append(remaining, m.UnitRows)
			next++
		}
		active := float64(len(remaining))
		// Rows/s one unit may stream, per resource.
		perWorker := float64(min(m.SlotsPerWorker, len(remaining)))
		limits := map[string]float64{
			"worker CPU":   m.CoresPerWorker / m.WorkerCPUPerRow / math.Max(perWorker, 1),
			"database CPU": float64(m.DBCores) / m.DBCPUPerRow / active,
			"WAL":          m.WALBytesPerSec / m.WALBytesPerRow / active,
		}
		if m.IndexMissPerRow > 0 {
			limits["index reads"] = m.ReadIOPS / m.IndexMissPerRow / active
		}
		rate, bound := math.Inf(1), ""
		for _, name := range []string{"worker CPU", "database CPU", "WAL", "index reads"} {
			if l, ok := limits[name]; ok && l < rate {
				rate, bound = l, name
			}
		}
		boundTime[bound] += dt
		kept := remaining[:0]
		for _, r := range remaining {
			if r -= rate * dt; r > 0 {
				kept = append(kept, r)
			}
		}
		remaining = kept
		t += dt
	}
	res := ScaleResult{Workers: workers, Seconds: t, RowsPerSec: float64(m.Units) * m.UnitRows / t}
	for name, d := range boundTime {
		if d > boundTime[res.Bound] {
			res.Bound = name
		}
	}
	return res
}

// PrintScale writes the simulated runs as a table.
func PrintScale(w io.Writer, title string, rs []ScaleResult) {
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\trows/s\tseconds\tbound by\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%d\t%.0f\t%.1f\t%s\t\n", r.Workers, r.RowsPerSec, r.Seconds, r.Bound)
	}
	tw.Flush()
}

// Measured on the test machine (docs/SCALING.md): one `hdi ingest` of 5M
// trades from a DBN file in two parts.
const (
	measuredWorkerCPUPerRow = 0.70e-6 // hdi + provider, user + system
	measuredDBCPUPerRow     = 5.06e-6 // every postgres process
	measuredWALBytesPerRow  = 322
)

// ScaleScenario is a named database size for Simulate.
type ScaleScenario struct {
	Name  string
	Model ScaleModel
}

// ScaleScenarios are the machines docs/SCALING.md reasons about: this one
// (measured constants, the database's 2 cores), one of 10x its database
// throughput and one of 100x, with a run of 1,000 units of 1M trades and
// one worker per core. Bandwidths and IOPS of the bigger machines are
// assumptions, said in the names.
func ScaleScenarios() []ScaleScenario {
	base := ScaleModel{
		WorkerCPUPerRow: measuredWorkerCPUPerRow, DBCPUPerRow: measuredDBCPUPerRow, WALBytesPerRow: measuredWALBytesPerRow,
		CoresPerWorker: 1, Units: 1000, SlotsPerWorker: 1, UnitRows: 1e6,
	}
	here := base
	here.DBCores, here.WALBytesPerSec = 2, 300e6
	ten := base
	ten.DBCores, ten.WALBytesPerSec = 16, 1e9
	tenCold := ten
	tenCold.IndexMissPerRow, tenCold.ReadIOPS = 0.05, 50_000
	hundred := base
	hundred.DBCores, hundred.WALBytesPerSec = 128, 2e9
	return []ScaleScenario{
		{"this machine's database: 2 cores (measured per-row costs), WAL 300 MB/s", here},
		{"10x: 16 cores, WAL 1 GB/s (NVMe), key index in memory", ten},
		{"10x, key index out of memory: 5% of inserts read a page, 50k IOPS", tenCold},
		{"100x: 128 cores, WAL 2 GB/s (about one PostgreSQL WAL stream's ceiling)", hundred},
	}
}
