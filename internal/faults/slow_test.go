//go:build faults

package faults

// slowFaults adds the slow cases (build tag faults, `make faults`).
const slowFaults = true
