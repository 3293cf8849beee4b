package jobspec

import (
	"strings"
	"time"

	"github.com/hdi-dev/hdi/internal/schedule"
)

// Summary is a job as `hdi jobs list` and GET /api/v1/jobs show it: its
// source as written, its schedule and next run, or why it does not parse.
type Summary struct {
	Name     string   `json:"name"`
	Provider string   `json:"provider,omitempty"`
	Dataset  string   `json:"dataset,omitempty"`
	Schema   string   `json:"schema,omitempty"`
	Symbols  []string `json:"symbols,omitempty"`
	Start    string   `json:"start,omitempty"`
	End      string   `json:"end,omitempty"`
	Schedule string   `json:"schedule,omitempty"`
	NextRun  string   `json:"next_run,omitempty"`
	File     string   `json:"file"`
	Builtin  bool     `json:"builtin"`
	Error    string   `json:"error,omitempty"`
}

// Summary summarises the entry; NextRun is the schedule's next tick after
// now (RFC 3339, UTC).
func (e Entry) Summary(now time.Time) Summary {
	r := Summary{Name: e.Name, File: e.File, Builtin: e.Builtin}
	if e.Err != nil {
		r.Error = strings.SplitN(e.Err.Error(), "\n", 2)[0]
		return r
	}
	j := e.Job
	r.Name, r.Provider, r.Dataset, r.Schema, r.Symbols = j.Name, j.Provider.Name, j.Source.Dataset, j.Source.Schema, j.Source.Symbols
	r.Start, r.End = j.Source.Start, j.Source.End
	if j.Schedule != "" {
		if sched, err := schedule.Parse(j.Schedule, j.Timezone); err == nil {
			r.Schedule = sched.String()
			r.NextRun = sched.Next(now).Format(time.RFC3339)
		}
	}
	return r
}
