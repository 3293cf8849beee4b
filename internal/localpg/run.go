package localpg

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// run runs a server program (initdb, pg_ctl) as the server user, in the
// cluster directory, in its own process group (so a Ctrl-C aimed at hdi does
// not reach the server it starts), and returns its combined output.
func (c *Cluster) run(ctx context.Context, prog string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = c.dir
	cmd.Env = serverEnv(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.acct != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: c.acct.uid, Gid: c.acct.gid, Groups: c.acct.groups}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// pg_ctl start leaves the server running; should it ever keep our pipe
	// open, do not wait for it.
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.String(), err
}

// serverEnv drops libpq/server variables (PGDATA, PGPORT, PGHOST, ...) that
// would override hdi's settings, and fixes the message locale.
func serverEnv(env []string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_ALL=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "LC_ALL=C")
}
