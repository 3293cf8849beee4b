//go:build !linux

package pluginhost

import "os/exec"

// dieWithParent does nothing here: only Linux has a parent-death signal. The
// plugin's own watchdog (sdk.WatchParent) stops it once hdi is gone.
func dieWithParent(*exec.Cmd) {}
