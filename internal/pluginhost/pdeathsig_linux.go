package pluginhost

import (
	"os/exec"
	"syscall"
)

// dieWithParent asks Linux to SIGKILL the plugin when hdi dies, however hdi
// dies (SIGKILL included), so no provider process outlives it. The plugin's
// own watchdog (sdk.WatchParent) covers other systems.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
