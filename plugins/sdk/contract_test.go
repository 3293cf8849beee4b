package sdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// kindProvider fails Plan with the error its job's dataset names, and
// echoes what it received in Describe's answers.
type kindProvider struct{ memProvider }

func (kindProvider) Describe(context.Context) (*Description, error) {
	return &Description{Name: "k", Version: "1",
		Streams: []Stream{{Name: "s", Schema: testSchema, Key: []string{"ts"}, OnConflict: ConflictReplace, TimeField: "ts",
			DefaultRules: []Rule{{Type: "min", Fields: []string{"ts"}, Min: "0.5", Severity: "warn"}}}},
		Config: []Param{{Name: "api_key", Type: ParamString, Secret: true, Env: "K_KEY"}},
		Params: []Param{{Name: "mode", Type: ParamString, Allowed: []string{"a", "b"}, Default: "a", HasDefault: true}},
	}, nil
}

func (kindProvider) Plan(_ context.Context, j *Job) (*Plan, error) {
	cause := errors.New("boom")
	switch j.Dataset {
	case "retry":
		return nil, Retryable(cause)
	case "limit":
		return nil, RateLimited(cause, 1500*time.Millisecond)
	case "auth":
		return nil, AuthError(fmt.Errorf("bad key: %w", cause))
	case "missing":
		return nil, NotFound(cause)
	case "field":
		return nil, FieldError("symbols[1]", "%q is not a symbol", "E S")
	case "plain":
		return nil, cause
	case "wrapped":
		return nil, fmt.Errorf("while planning: %w", Retryable(cause))
	case "too-many":
		return nil, &TooManyUnits{Units: j.MaxUnits + 1, UnitsPerChunk: 3, Chunk: j.Chunking.Length}
	case "range":
		rg, ok := j.Range()
		return &Plan{Units: []Unit{{Key: "u", Start: j.Start, End: j.End}}, Warnings: []string{fmt.Sprint(ok), rg.String()}}, nil
	}
	// Echo the typed job back as warnings.
	return &Plan{Warnings: []string{j.Chunking.Length.String(), fmt.Sprint(j.Offline), fmt.Sprint(j.DryRun)}}, nil
}

// TestErrorKindsCrossTheWire: the host learns each error's kind, retry
// delay and field from the status detail, over real gRPC, never from text.
func TestErrorKindsCrossTheWire(t *testing.T) {
	c := dial(t, kindProvider{})
	for _, tc := range []struct {
		dataset string
		kind    ErrorKind
		after   time.Duration
		field   string
		msg     string
	}{
		{"retry", ErrorRetryable, 0, "", "boom"},
		{"limit", ErrorRateLimited, 1500 * time.Millisecond, "", "boom"},
		{"auth", ErrorAuth, 0, "", "bad key: boom"},
		{"missing", ErrorNotFound, 0, "", "boom"},
		{"field", ErrorPermanent, 0, "symbols[1]", `"E S" is not a symbol`},
		{"plain", ErrorPermanent, 0, "", "boom"},
		{"wrapped", ErrorRetryable, 0, "", "while planning: boom"},
	} {
		_, err := c.Plan(context.Background(), &Job{Dataset: tc.dataset})
		kind, after := KindOf(err)
		if kind != tc.kind || after != tc.after || FieldOf(err) != tc.field || err.Error() != tc.msg {
			t.Errorf("%s: kind %v after %v field %q msg %q; want %v %v %q %q", tc.dataset, kind, after, FieldOf(err), err, tc.kind, tc.after, tc.field, tc.msg)
		}
		if kind.Retry() != (tc.kind == ErrorRetryable || tc.kind == ErrorRateLimited) {
			t.Errorf("%s: Retry() = %v", tc.dataset, kind.Retry())
		}
	}
}

// TestTypedContractCrossesTheWire: chunk lengths, declarations and load
// semantics arrive as they were sent.
func TestTypedContractCrossesTheWire(t *testing.T) {
	c := dial(t, kindProvider{})
	ctx := context.Background()
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Streams[0]
	if s.OnConflict != ConflictReplace || s.TimeField != "ts" || strings.Join(s.Key, ",") != "ts" ||
		len(s.DefaultRules) != 1 || s.DefaultRules[0].Min != "0.5" || s.DefaultRules[0].Severity != "warn" {
		t.Errorf("stream %+v", s)
	}
	if d.Config[0].Env != "K_KEY" || !d.Config[0].Secret || strings.Join(d.Params[0].Allowed, ",") != "a,b" || d.Params[0].Default != "a" {
		t.Errorf("params %+v %+v", d.Config, d.Params)
	}
	for _, in := range []string{"", "none", "1d", "2w", "3mo", "1y", "6h"} {
		ch, _ := timerange.ParseChunk(in)
		p, err := c.Plan(ctx, &Job{Chunking: Chunking{Length: ch}, Offline: true, DryRun: true})
		if err != nil || p.Warnings[0] != in || p.Warnings[1] != "true" || p.Warnings[2] != "true" {
			t.Errorf("chunk %q arrived as %v (%v)", in, p, err)
		}
	}
}

// TestUnitCapAndEpochRangeCrossTheWire: a plan refused for its size comes
// back typed with its counts, and a range that starts at the epoch (start
// 0) arrives as a range, both ways.
func TestUnitCapAndEpochRangeCrossTheWire(t *testing.T) {
	c := dial(t, kindProvider{})
	ctx := context.Background()
	hour, _ := timerange.ParseChunk("1h")
	_, err := c.Plan(ctx, &Job{Dataset: "too-many", MaxUnits: 10_000, Chunking: Chunking{Length: hour}})
	var tm *TooManyUnits
	if !errors.As(err, &tm) || tm.Units != 10_001 || tm.UnitsPerChunk != 3 || tm.Chunk != hour {
		t.Fatalf("refusal arrived as %T %v %+v", err, err, tm)
	}
	if kind, _ := KindOf(err); kind != ErrorPermanent {
		t.Errorf("refusal kind %v", kind)
	}
	day := int64(24 * time.Hour)
	p, err := c.Plan(ctx, &Job{Dataset: "range", Start: 0, End: day})
	if err != nil {
		t.Fatal(err)
	}
	if p.Warnings[0] != "true" || p.Warnings[1] != "[1970-01-01T00:00:00Z, 1970-01-02T00:00:00Z)" {
		t.Errorf("the provider read the epoch's day as %v", p.Warnings)
	}
	if rg, ok := p.Units[0].Range(); !ok || rg.Start.UnixNano() != 0 || rg.End.UnixNano() != day {
		t.Errorf("the unit's range came back as %v %v", rg, ok)
	}
	if p, _ := c.Plan(ctx, &Job{Dataset: "range"}); p.Warnings[0] != "false" {
		t.Errorf("a job without a range has one: %v", p.Warnings)
	}
	if _, ok := (&Unit{Start: day}).Range(); ok {
		t.Error("a unit with a start and no end has a range")
	}
}

func TestParseParams(t *testing.T) {
	decls := []Param{
		{Name: "n", Type: ParamInt, Default: "2", HasDefault: true},
		{Name: "mode", Type: ParamString, Allowed: []string{"api", "files"}},
		{Name: "chunk", Type: ParamChunk},
		{Name: "on", Type: ParamBool},
		{Name: "key", Type: ParamString, Required: true, Env: "X_KEY"},
	}
	v, err := ParseParams("params", decls, map[string]string{"key": "k", "chunk": "1w", "on": "true"})
	if err != nil || v.Int("n") != 2 || v.Chunk("chunk").String() != "1w" || !v.Bool("on") || v.Has("n") || !v.Has("key") {
		t.Fatalf("values %+v %v", v, err)
	}
	for _, tc := range []struct {
		in    map[string]string
		field string
		msg   string
	}{
		{map[string]string{"key": "k", "nn": "1"}, "params.nn", `unknown parameter "nn" (did you mean "n"?); known: chunk, key, mode, n, on`},
		{map[string]string{"key": "k", "n": "two"}, "params.n", `"two": want a whole number`},
		{map[string]string{"key": "k", "mode": "ftp"}, "params.mode", `"ftp": want one of api, files`},
		{map[string]string{"key": "k", "chunk": "day"}, "params.chunk", `"day": want 1d, 7d (or 1w)`},
		{map[string]string{}, "params.key", "key is required (or set $X_KEY)"},
	} {
		_, err := ParseParams("params", decls, tc.in)
		if FieldOf(err) != tc.field || err == nil || !strings.HasPrefix(err.Error(), tc.msg) {
			t.Errorf("%v: field %q err %v; want %q %q", tc.in, FieldOf(err), err, tc.field, tc.msg)
		}
	}
}

func TestColumns(t *testing.T) {
	cols, err := ParseColumns("ts:timestamp(2006-01-02 15:04), price:numeric(4)!, qty:int64, ok:bool")
	if err != nil || len(cols) != 4 || cols[0].Format != "2006-01-02 15:04" || cols[1].Scale != 4 || cols[1].Nullable || !cols[2].Nullable {
		t.Fatalf("%+v %v", cols, err)
	}
	for _, c := range cols {
		back, err := ParseColumn(c.String())
		if err != nil || back != c {
			t.Errorf("%s does not round-trip: %+v %v", c, back, err)
		}
	}
	for _, bad := range []string{"price", "p:money", "p:numeric(40)", "p:int64(3)", "p:numeric(x)", ":int64"} {
		if _, err := ParseColumn(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// TestWatchParent: the watchdog notices when the parent changes.
func TestWatchParent(t *testing.T) {
	fired := make(chan struct{})
	go WatchParent(time.Millisecond, func() { close(fired) })
	select {
	case <-fired:
		t.Fatal("fired with the parent alive")
	case <-time.After(50 * time.Millisecond):
	}
}
