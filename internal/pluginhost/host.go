// Package pluginhost finds, starts and talks to provider plugins
// (hdi-provider-* executables) through hashicorp/go-plugin over gRPC.
//
// A running plugin is a *Plugin, which implements sdk.Provider, so the rest
// of hdi can use an out-of-process plugin or an in-process provider alike.
// Failures of the plugin process (crash, hang, malformed data, exit mid
// stream) come back as one *FetchError naming the plugin and the unit; hdi
// keeps running and the process is reaped.
package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// DefaultHangTimeout is how long the host waits for a plugin's next message
// before it gives up on the plugin.
const DefaultHangTimeout = 60 * time.Second

// Options configures a Host.
type Options struct {
	// Path lists the directories searched for hdi-provider-* executables,
	// first match wins (see SearchPath).
	Path []string
	// Checksums pins plugins by SHA-256: plugin name (NAME in
	// hdi-provider-NAME) to the lower- or upper-case hex digest of the
	// executable. A pinned plugin whose file differs is not started.
	Checksums map[string]string
	// HangTimeout is the longest wait for the next message from a plugin
	// (and for each Describe, Check or Plan call). Zero means
	// DefaultHangTimeout; negative disables the bound.
	HangTimeout time.Duration
	// Logger receives the host's and the plugins' logs; each record carries
	// plugin=NAME. Nil discards.
	Logger *slog.Logger
}

// Host starts plugins on demand and keeps one process per plugin name.
// It is safe for concurrent use. Close stops every process it started.
type Host struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	running map[string]*Plugin
	closed  bool
}

// New returns a Host. It starts nothing until Open.
func New(opts Options) *Host {
	if opts.HangTimeout == 0 {
		opts.HangTimeout = DefaultHangTimeout
	}
	if opts.HangTimeout < 0 {
		opts.HangTimeout = 0
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &Host{opts: opts, log: l, running: map[string]*Plugin{}}
}

// Discover lists the plugins on the host's path.
func (h *Host) Discover() ([]Found, error) { return Discover(h.opts.Path) }

// Find returns the executable for the named plugin.
func (h *Host) Find(name string) (Found, error) {
	all, err := h.Discover()
	if err != nil {
		return Found{}, err
	}
	for _, f := range all {
		if f.Name == name {
			return f, nil
		}
	}
	return Found{}, fmt.Errorf("%w: no %s%s executable in %s: install it there or add its directory to HDI_PLUGIN_PATH",
		ErrNotFound, Prefix, name, strings.Join(h.opts.Path, ":"))
}

// ErrNotFound is returned by Find and Open for a plugin not on the path.
var ErrNotFound = errors.New("plugin not found")

// Open returns the running instance of the named plugin, starting it if it
// is not running (or has died). The plugin has answered Describe when Open
// returns.
func (h *Host) Open(ctx context.Context, name string) (*Plugin, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("plugin host is closed")
	}
	if p := h.running[name]; p != nil {
		if !p.client.Exited() {
			return p, nil
		}
		p.Close()
		delete(h.running, name)
	}
	f, err := h.Find(name)
	if err != nil {
		return nil, err
	}
	p, err := h.start(ctx, f)
	if err != nil {
		return nil, err
	}
	h.running[name] = p
	return p, nil
}

// OpenPath starts the plugin at an explicit path (not cached, not searched);
// the caller closes it.
func (h *Host) OpenPath(ctx context.Context, name, path string) (*Plugin, error) {
	return h.start(ctx, Found{Name: name, Path: path})
}

// Close stops every plugin process the host started and waits for them.
func (h *Host) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for name, p := range h.running {
		p.Close()
		delete(h.running, name)
	}
	return nil
}

// start launches one plugin process and performs the handshake.
func (h *Host) start(ctx context.Context, f Found) (*Plugin, error) {
	log := h.log.With("plugin", f.Name)
	cmd := exec.Command(f.Path)
	dieWithParent(cmd)
	cfg := &plugin.ClientConfig{
		HandshakeConfig: sdk.Handshake,
		Plugins: plugin.PluginSet{
			sdk.PluginName: &sdk.GRPCPlugin{ClientOptions: sdk.ClientOptions{HangTimeout: h.opts.HangTimeout}},
		},
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           newHCLog(log),
		Stderr:           io.Discard, // stderr reaches the Logger line by line
		// What the plugin writes to os.Stdout/os.Stderr once it serves
		// comes over go-plugin's stdio stream.
		SyncStdout:      &lineLogger{log: log, stream: "stdout"},
		SyncStderr:      &lineLogger{log: log, stream: "stderr"},
		GRPCDialOptions: sdk.DialOptions(),
	}
	if h.opts.HangTimeout > 0 {
		cfg.StartTimeout = h.opts.HangTimeout
	}
	if pin, ok := h.opts.Checksums[f.Name]; ok {
		sum, err := hex.DecodeString(strings.TrimSpace(pin))
		if err != nil || len(sum) != sha256.Size {
			return nil, fmt.Errorf("plugin %s: pinned checksum %q is not a SHA-256 hex digest (64 hex digits): fix the checksum setting", f.Name, pin)
		}
		cfg.SecureConfig = &plugin.SecureConfig{Checksum: sum, Hash: sha256.New()}
	}
	client := plugin.NewClient(cfg)
	fail := func(err error) (*Plugin, error) {
		client.Kill()
		return nil, err
	}
	rpc, err := client.Client()
	if err != nil {
		return fail(h.startErr(f, err))
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return fail(fmt.Errorf("plugin %s (%s): %w", f.Name, f.Path, err))
	}
	sc, ok := raw.(*sdk.Client)
	if !ok {
		return fail(fmt.Errorf("plugin %s: unexpected client type %T", f.Name, raw))
	}
	p := &Plugin{name: f.Name, path: f.Path, client: client, rpc: sc, log: log}
	desc, err := sc.Describe(ctx)
	if err != nil {
		return fail(p.wrap("describe", "", err))
	}
	if desc.Name != f.Name {
		log.Warn("plugin describes itself under another name", "described_as", desc.Name, "path", f.Path)
	}
	p.desc = desc
	log.Debug("plugin started", "path", f.Path, "version", desc.Version, "protocol", client.NegotiatedVersion())
	return p, nil
}

var pluginVersionRE = regexp.MustCompile(`Plugin version: (\d+)`)

// startErr turns go-plugin's start-up errors into ones that say what to do.
func (h *Host) startErr(f Found, err error) error {
	msg := err.Error()
	switch {
	case errors.Is(err, plugin.ErrChecksumsDoNotMatch):
		have, herr := fileSHA256(f.Path)
		if herr != nil {
			have = "unreadable: " + herr.Error()
		}
		return fmt.Errorf("plugin %s (%s): SHA-256 checksum mismatch: pinned %s, the file has %s: reinstall the plugin you trust or update the pinned checksum",
			f.Name, f.Path, strings.ToLower(h.opts.Checksums[f.Name]), have)
	case strings.Contains(msg, "incompatible API version"):
		theirs := "an unknown version"
		advice := "rebuild the plugin against this hdi's plugins/sdk"
		if m := pluginVersionRE.FindStringSubmatch(msg); m != nil {
			theirs = m[1]
			if v, _ := strconv.Atoi(m[1]); v > sdk.ProtocolVersion {
				advice = "upgrade hdi, or install a plugin release built for protocol " + strconv.Itoa(sdk.ProtocolVersion)
			} else {
				advice = "upgrade the plugin (or rebuild it against this hdi's plugins/sdk)"
			}
		}
		return fmt.Errorf("plugin %s%s (%s) speaks provider protocol %s, this hdi speaks %d: %s",
			Prefix, f.Name, f.Path, theirs, sdk.ProtocolVersion, advice)
	case strings.Contains(msg, "Unrecognized remote plugin message"),
		strings.Contains(msg, "plugin exited before we could connect"),
		strings.Contains(msg, "timeout while waiting for plugin to start"):
		return fmt.Errorf("plugin %s (%s) did not complete the plugin handshake (%s): is it an hdi provider built with plugins/sdk? Its stderr is in hdi's log (--log-level debug)",
			f.Name, f.Path, firstLine(msg))
	}
	return fmt.Errorf("start plugin %s (%s): %w", f.Name, f.Path, err)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
