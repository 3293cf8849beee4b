package pluginhost

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// slogHCLog adapts a *slog.Logger to the hclog.Logger interface go-plugin
// writes to. go-plugin forwards a plugin's stderr through it: JSON lines in
// hclog's format keep their level and attributes, other lines arrive at
// debug level (error level for panics).
type slogHCLog struct {
	l       *slog.Logger
	name    string
	implied []any
}

func newHCLog(l *slog.Logger) hclog.Logger { return &slogHCLog{l: l} }

func toSlogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// cleanArgs drops go-plugin's synthetic timestamp and renames keys that
// would clash with the host's own attributes.
func (h *slogHCLog) cleanArgs(args []any) []any {
	out := make([]any, 0, len(args)+len(h.implied)+2)
	if h.name != "" {
		out = append(out, "logger", h.name)
	}
	all := append(append([]any{}, h.implied...), args...)
	for i := 0; i < len(all); i += 2 {
		k, ok := all[i].(string)
		if !ok || i+1 >= len(all) {
			out = append(out, all[i:]...)
			break
		}
		switch k {
		case "timestamp":
			continue
		case "plugin":
			k = "plugin_path"
		}
		out = append(out, k, all[i+1])
	}
	return out
}

func (h *slogHCLog) Log(level hclog.Level, msg string, args ...any) {
	if h.name == "" && level == hclog.Info {
		// go-plugin's own chatter ("plugin process exited" on every normal
		// stop); the plugin's records come through named loggers.
		level = hclog.Debug
	}
	lvl := toSlogLevel(level)
	if !h.l.Enabled(context.Background(), lvl) {
		return
	}
	h.l.Log(context.Background(), lvl, msg, h.cleanArgs(args)...)
}

func (h *slogHCLog) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *slogHCLog) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *slogHCLog) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *slogHCLog) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *slogHCLog) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *slogHCLog) enabled(level hclog.Level) bool {
	return h.l.Enabled(context.Background(), toSlogLevel(level))
}

func (h *slogHCLog) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *slogHCLog) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *slogHCLog) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *slogHCLog) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *slogHCLog) IsError() bool { return h.enabled(hclog.Error) }

func (h *slogHCLog) ImpliedArgs() []any { return h.implied }

func (h *slogHCLog) With(args ...any) hclog.Logger {
	c := *h
	c.implied = append(append([]any{}, h.implied...), args...)
	return &c
}

func (h *slogHCLog) Name() string { return h.name }

func (h *slogHCLog) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		c.name += "." + name
	} else {
		c.name = name
	}
	return &c
}

func (h *slogHCLog) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel is ignored: the slog handler decides.
func (h *slogHCLog) SetLevel(hclog.Level) {}

func (h *slogHCLog) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *slogHCLog) StandardLogger(*hclog.StandardLoggerOptions) *log.Logger {
	return slog.NewLogLogger(h.l.Handler(), slog.LevelInfo)
}

func (h *slogHCLog) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return h.StandardLogger(opts).Writer()
}

// lineLogger logs each complete line written to it at info level.
type lineLogger struct {
	log    *slog.Logger
	stream string
	mu     sync.Mutex
	buf    []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		if line != "" {
			w.log.Info(line, "stream", w.stream)
		}
	}
	if len(w.buf) > 64<<10 { // a very long line without a newline
		w.log.Info(string(w.buf), "stream", w.stream)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}
