package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Plugin is a running provider plugin process. It implements sdk.Provider;
// every error it returns is a *FetchError naming the plugin (and the unit,
// for Fetch). It is safe for concurrent use.
type Plugin struct {
	name   string
	path   string
	client *plugin.Client
	rpc    *sdk.Client
	desc   *sdk.Description
	log    *slog.Logger
}

var _ sdk.Provider = (*Plugin)(nil)

// Name returns the plugin's name (NAME in hdi-provider-NAME).
func (p *Plugin) Name() string { return p.name }

// Path returns the executable's path.
func (p *Plugin) Path() string { return p.path }

// Description returns what the plugin said in Describe when it started.
func (p *Plugin) Description() *sdk.Description { return p.desc }

// Exited reports whether the plugin process has exited.
func (p *Plugin) Exited() bool { return p.client.Exited() }

// Close stops the plugin process (gracefully, then by force) and reaps it.
func (p *Plugin) Close() { p.client.Kill() }

// Describe implements sdk.Provider.
func (p *Plugin) Describe(ctx context.Context) (*sdk.Description, error) {
	d, err := p.rpc.Describe(ctx)
	if err != nil {
		return nil, p.wrap("describe", "", err)
	}
	return d, nil
}

// Check implements sdk.Provider.
func (p *Plugin) Check(ctx context.Context, config map[string]string) (*sdk.CheckResult, error) {
	r, err := p.rpc.Check(ctx, config)
	if err != nil {
		return nil, p.wrap("check", "", err)
	}
	return r, nil
}

// Plan implements sdk.Provider.
func (p *Plugin) Plan(ctx context.Context, job *sdk.Job) (*sdk.Plan, error) {
	r, err := p.rpc.Plan(ctx, job)
	if err != nil {
		return nil, p.wrap("plan", "", err)
	}
	return r, nil
}

// Fetch implements sdk.Provider. A nil error means the plugin completed the
// unit; any error means the unit failed and what out received must be
// discarded. A plugin that hangs is stopped (its other fetches fail too) and
// restarted by the next Host.Open.
func (p *Plugin) Fetch(ctx context.Context, req *sdk.FetchRequest, out sdk.Sender) error {
	err := p.rpc.Fetch(ctx, req, out)
	if err == nil {
		return nil
	}
	return p.wrap("fetch", req.Unit.Key, err)
}

// Failure classifies why a call to a plugin failed.
type Failure int

// Failure kinds.
const (
	FailProvider   Failure = iota + 1 // the provider returned an error
	FailCrashed                       // the plugin process exited
	FailHung                          // no message within the hang timeout
	FailMalformed                     // bad Arrow IPC bytes or a schema that differs from the declared one
	FailIncomplete                    // the stream ended without completing
	FailCanceled                      // the caller's context ended
	FailReceiver                      // the host's own Sender returned an error
	FailTransport                     // the connection failed with the process still alive
)

// String describes the failure in a few words.
func (f Failure) String() string {
	switch f {
	case FailProvider:
		return "provider error"
	case FailCrashed:
		return "plugin process exited"
	case FailHung:
		return "plugin hung"
	case FailMalformed:
		return "malformed data from plugin"
	case FailIncomplete:
		return "incomplete stream"
	case FailCanceled:
		return "canceled"
	case FailReceiver:
		return "receiver error"
	case FailTransport:
		return "connection to plugin failed"
	}
	return "failure"
}

// FetchError is the error of every failed call to a plugin.
type FetchError struct {
	Plugin string  // plugin name
	Op     string  // "describe", "check", "plan" or "fetch"
	Unit   string  // unit key, for fetch
	Kind   Failure // what went wrong
	Err    error
}

// Error says which plugin and unit failed, how, and what to do.
func (e *FetchError) Error() string {
	where := "plugin " + e.Plugin
	if e.Unit != "" {
		where += fmt.Sprintf(" failed on unit %q", e.Unit)
	} else {
		where += " failed in " + e.Op
	}
	var hint string
	switch e.Kind {
	case FailCrashed:
		hint = " (hdi starts the plugin again when it next needs it; its last stderr lines are in hdi's log)"
		if e.Unit != "" {
			hint = " (nothing of the unit is committed; hdi starts the plugin again and retries the unit while it has attempts left; the plugin's last stderr lines are in hdi's log)"
		}
	case FailHung:
		hint = " (the plugin was stopped; raise the hang timeout if the source is just slow)"
	case FailMalformed:
		hint = " (a bug in the plugin: report it to its author)"
	}
	return fmt.Sprintf("%s: %s: %v%s", where, e.Kind, e.Err, hint)
}

// Unwrap returns the underlying error.
func (e *FetchError) Unwrap() error { return e.Err }

// wrap classifies err and, for a hang, stops the plugin.
func (p *Plugin) wrap(op, unit string, err error) error {
	fe := &FetchError{Plugin: p.name, Op: op, Unit: unit, Err: err}
	var recv *sdk.ReceiverError
	var remote *sdk.Error
	switch {
	case errors.As(err, &recv):
		fe.Kind = FailReceiver
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		fe.Kind = FailCanceled
	case errors.Is(err, sdk.ErrNoMessage):
		fe.Kind = FailHung
		p.log.Error("plugin hung; stopping it", "op", op, "unit", unit)
		go p.client.Kill()
	case errors.Is(err, sdk.ErrMalformedBatch):
		fe.Kind = FailMalformed
	case errors.Is(err, sdk.ErrIncomplete):
		fe.Kind = FailIncomplete
		if p.waitExited(2 * time.Second) {
			fe.Kind = FailCrashed
		}
	case errors.As(err, &remote):
		fe.Kind = FailProvider
	default:
		fe.Kind = FailTransport
		if status.Code(err) == codes.Unavailable || p.client.Exited() {
			// The connection dropped: most likely the process died. Give
			// go-plugin a moment to notice and reap it.
			if p.waitExited(5 * time.Second) {
				fe.Kind = FailCrashed
			}
		}
	}
	return fe
}

// waitExited waits up to d for the process to be seen as exited.
func (p *Plugin) waitExited(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if p.client.Exited() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
