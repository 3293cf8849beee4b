package ops_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestOverridesNameTheField: a bad override is a FieldError naming it, in
// the caller's words: --start on the command line, start in a body; a
// fault of the job file itself is the job's.
func TestOverridesNameTheField(t *testing.T) {
	job := func() *jobspec.Job {
		j, err := jobspec.FindName("", "es-nq-trades", jobspec.Options{KeepUnsetEnv: true})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	bad := "2024-13-01"
	for _, c := range []struct {
		label ops.Labels
		o     ops.Overrides
		field string
		msg   string
	}{
		{ops.Flags, ops.Overrides{Start: &bad}, "start", `--start: "2024-13-01" is not a real date`},
		{ops.Body, ops.Overrides{Start: &bad}, "start", `start: "2024-13-01" is not a real date`},
		{ops.Body, ops.Overrides{End: &bad}, "end", `end: "2024-13-01"`},
		{ops.Body, ops.Overrides{Mode: &bad}, "mode", `mode: `},
	} {
		c.o.Label = c.label
		err := c.o.Apply(job(), time.Now())
		var fe *ops.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: %v (field %v), want %s naming %q", c.o, err, fe, c.field, c.msg)
		}
	}
	if err := (ops.Overrides{Label: ops.Body}).Apply(job(), time.Now()); err != nil {
		t.Errorf("no overrides: %v", err)
	}
}

func TestExpiryOf(t *testing.T) {
	now := time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{"12h": "2024-02-01T00:00:00Z", "90d": "2024-04-30T12:00:00Z", "2w": "2024-02-14T12:00:00Z",
		"1mo": "2024-03-02T12:00:00Z", "1y": "2025-01-31T12:00:00Z"} {
		if got, err := ops.ExpiryOf(in, now); err != nil || got.Format(time.RFC3339) != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "90", "d", "0d", "-1d", "1.5d", "90s", "1000000d"} {
		if _, err := ops.ExpiryOf(in, now); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// TestTokens: a token is made once, listed without its secret, refused
// under a name in use, revoked by name (and its name free again).
func TestTokens(t *testing.T) {
	pool := pgtest.Connect(t, pgtest.NewMigratedDB(t))
	ctx, now := t.Context(), time.Now()
	secret, tok, err := ops.CreateToken(ctx, pool, ops.NewToken{Name: "ci", Scope: "run", Expires: "1d"}, now, ops.Flags)
	if err != nil || !strings.HasPrefix(secret, "hdi_") || len(secret) < 40 || tok.Status != "active" || tok.ExpiresAt == nil {
		t.Fatalf("create: %q %+v %v", secret, tok, err)
	}
	for _, c := range []struct {
		nt    ops.NewToken
		field string
	}{
		{ops.NewToken{Name: "ci", Scope: "run"}, ""},
		{ops.NewToken{Name: "no spaces", Scope: "run"}, "name"},
		{ops.NewToken{Name: "x", Scope: "root"}, "scope"},
		{ops.NewToken{Name: "x", Scope: "read", Expires: "soon"}, "expires"},
	} {
		_, _, err := ops.CreateToken(ctx, pool, c.nt, now, ops.Flags)
		var fe *ops.FieldError
		switch {
		case c.field == "" && !errors.Is(err, ops.ErrConflict):
			t.Errorf("%+v: %v, want a conflict", c.nt, err)
		case c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(err.Error(), "--"+c.field)):
			t.Errorf("%+v: %v, want a fault of --%s", c.nt, err, c.field)
		}
	}
	if _, err := ops.RevokeToken(ctx, pool, "ci", now); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.RevokeToken(ctx, pool, "ci", now); !errors.Is(err, ops.ErrNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
	if _, _, err := ops.CreateToken(ctx, pool, ops.NewToken{Name: "ci", Scope: "read"}, now, ops.Flags); err != nil {
		t.Errorf("a revoked name again: %v", err)
	}
	toks, err := ops.ListTokens(ctx, pool, now)
	if err != nil || len(toks) != 2 || toks[0].Status != "active" || toks[1].Status != "revoked" {
		t.Fatalf("list: %+v %v", toks, err)
	}
}
