package worker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// describeOnly is a provider that only describes itself: one config key
// declared secret under a name that does not look like one.
type describeOnly struct{ sdk.Provider }

func (describeOnly) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{Name: "fake", Config: []sdk.Param{
		{Name: "account", Type: sdk.ParamString, Secret: true},
		{Name: "dataset", Type: sdk.ParamString},
	}}, nil
}

// TestScheduledTickArgsHoldNoDeclaredSecret: the job a tick carries in its
// River args leaves out the config the provider declares secret, as well
// as the keys named like secrets, and keeps the rest.
func TestScheduledTickArgsHoldNoDeclaredSecret(t *testing.T) {
	open := func(_ context.Context, name string) (sdk.Provider, error) {
		if name != "fake" {
			return nil, errors.New("plugin not found")
		}
		return describeOnly{}, nil
	}
	job := func(name, provider string) *jobspec.Job {
		j := &jobspec.Job{Name: name, Schedule: "0 * * * *", Timezone: "UTC"}
		j.Provider.Name = provider
		j.Provider.Config = map[string]string{"account": "declared-secret", "api_key": "named-secret", "dataset": "GLBX.MDP3"}
		return j
	}
	w := &Worker{log: slog.New(slog.DiscardHandler), opts: Options{
		NewRunner: func(o runner.Options) *runner.Runner { o.Open = open; return runner.New(o) },
		Scheduled: []*jobspec.Job{job("hourly", "fake"), job("elsewhere", "missing")},
	}}
	jobs, err := w.scheduled()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].name != "hourly" {
		t.Fatalf("scheduled %+v, want only hourly (the other's provider cannot be described)", jobs)
	}
	spec := string(jobs[0].spec)
	for _, secret := range []string{"declared-secret", "named-secret"} {
		if strings.Contains(spec, secret) {
			t.Errorf("tick args hold %q: %s", secret, spec)
		}
	}
	if !strings.Contains(spec, "GLBX.MDP3") {
		t.Errorf("tick args lost the non-secret config: %s", spec)
	}
}
