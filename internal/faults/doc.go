// Package faults is hdi's fault suite: end-to-end tests that run the real
// hdi and hdi-provider-databento binaries (built once per test run) against
// failures — a killed plugin, a database error or restart mid-unit, the fake
// Databento API answering 429/500/cut/slow, corrupt and truncated DBN files,
// malformed jobs and dates, unknown names, 10,000 symbols, two concurrent
// runs — and check the message shown and that nothing was lost, duplicated
// or half-committed. It has no non-test code.
//
// The fast cases run with `go test ./...`; the slow ones (a PostgreSQL
// restart on a throwaway cluster) carry the build tag faults:
//
//	make faults   # go test -tags faults ./internal/faults
//
// SIGKILL of hdi mid-run followed by a re-run is tested in cmd/hdi
// (TestIngestKilledMidRunResumesToACleanResult).
package faults
