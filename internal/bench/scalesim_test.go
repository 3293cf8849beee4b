package bench

import (
	"math"
	"testing"
)

var testModel = ScaleModel{
	WorkerCPUPerRow: 1e-6, DBCPUPerRow: 2e-6, WALBytesPerRow: 50,
	DBCores: 8, WALBytesPerSec: 400e6, CoresPerWorker: 1,
	Units: 64, SlotsPerWorker: 1, UnitRows: 1e6,
}

// TestSimulateScalesUntilTheDatabaseBinds: throughput grows with workers
// while their CPU binds, then stops at the database's bound, never above.
func TestSimulateScalesUntilTheDatabaseBinds(t *testing.T) {
	dbBound := float64(testModel.DBCores) / testModel.DBCPUPerRow // 4M rows/s
	one, four, sixtyFour := Simulate(testModel, 1), Simulate(testModel, 4), Simulate(testModel, 64)
	if one.Bound != "worker CPU" || math.Abs(one.RowsPerSec-1e6)/1e6 > 0.02 {
		t.Errorf("one worker: %+v, want ~1M rows/s bound by its CPU", one)
	}
	if r := four.RowsPerSec / one.RowsPerSec; r < 3.8 || r > 4.01 {
		t.Errorf("four workers: %.2fx one", r)
	}
	if sixtyFour.Bound != "database CPU" || sixtyFour.RowsPerSec > dbBound*1.001 || sixtyFour.RowsPerSec < dbBound*0.95 {
		t.Errorf("64 workers: %+v, want the database's %.0f rows/s", sixtyFour, dbBound)
	}
}

// TestSimulateTail: 16 units on 12 slots take two waves.
func TestSimulateTail(t *testing.T) {
	m := testModel
	m.Units, m.DBCores, m.WALBytesPerSec = 16, 1000, 1e12
	twelve, sixteen := Simulate(m, 12), Simulate(m, 16)
	if r := twelve.Seconds / sixteen.Seconds; r < 1.9 || r > 2.1 {
		t.Errorf("12 slots take %.2fx the time of 16 for 16 units, want 2", r)
	}
}

// TestSimulateIndexReads: once the key index leaves memory, its reads bind.
func TestSimulateIndexReads(t *testing.T) {
	m := testModel
	m.IndexMissPerRow, m.ReadIOPS = 0.01, 20_000 // 2M rows/s
	if r := Simulate(m, 64); r.Bound != "index reads" || r.RowsPerSec > 2e6*1.001 {
		t.Errorf("%+v", r)
	}
}
