// Package logging builds hdi's slog logger: human-readable text on a terminal
// (or by default), JSON with --log-format json, and a redaction layer that
// scrubs registered secrets from every message and attribute.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// ParseLevel turns debug|info|warn|error into a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("unknown log level %q (use debug, info, warn or error)", s)
	}
	return l, nil
}

// New returns a logger writing to w in the given format ("text" or "json").
// Every string that passes through it is scrubbed by r (which may be nil).
func New(w io.Writer, format string, level slog.Level, r *Redactor) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	if r != nil {
		h = &redactingHandler{next: h, r: r}
	}
	return slog.New(h)
}

// Redactor holds the secrets that must never be printed.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// Add registers secrets; empty and very short strings are ignored, since
// replacing them would mangle ordinary text.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 4 {
			r.secrets = append(r.secrets, s)
		}
	}
}

// Scrub replaces every registered secret in s with "****": each run of
// bytes that occurrences of secrets cover, so secrets that overlap each
// other or themselves leave no part in clear.
func (r *Redactor) Scrub(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var hide []bool
	for _, secret := range r.secrets {
		for i := 0; ; i++ {
			n := strings.Index(s[i:], secret)
			if n < 0 {
				break
			}
			if hide == nil {
				hide = make([]bool, len(s))
			}
			i += n
			for j := i; j < i+len(secret); j++ {
				hide[j] = true
			}
		}
	}
	if hide == nil {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if !hide[i] {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString("****")
		for i < len(s) && hide[i] {
			i++
		}
	}
	return b.String()
}

type redactingHandler struct {
	next slog.Handler
	r    *Redactor
}

func (h *redactingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.scrubAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactingHandler) scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Scrub(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		out := make([]any, len(attrs))
		for i, g := range attrs {
			out[i] = h.scrubAttr(g)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.Scrub(err.Error()))
		}
		return slog.String(a.Key, h.r.Scrub(fmt.Sprint(v.Any())))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		scrubbed[i] = h.scrubAttr(a)
	}
	return &redactingHandler{next: h.next.WithAttrs(scrubbed), r: h.r}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{next: h.next.WithGroup(name), r: h.r}
}
