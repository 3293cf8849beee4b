// Package schedule reads the cron schedules of job files: when a scheduled
// job's next run is due, in the job's time zone.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// parser reads standard five-field cron (minute hour day-of-month month
// day-of-week), an optional leading seconds field, and descriptors such as
// @daily and @every 1h.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Syntax describes what Parse accepts, for error messages and help.
const Syntax = `cron "MIN HOUR DAY MONTH WEEKDAY" (e.g. "0 6 * * 1-5"), with an optional leading seconds field, or @hourly, @daily, @weekly, @monthly, @every 1h`

// Schedule is a parsed cron schedule in a time zone.
type Schedule struct {
	spec string
	loc  *time.Location
	cron cron.Schedule
}

// Parse reads a cron expression; tz is an IANA time zone name ("" is UTC).
func Parse(spec, tz string) (*Schedule, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("is empty: want %s", Syntax)
	}
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, fmt.Errorf("%q: give the time zone under timezone:, not in the expression", spec)
	}
	loc, err := Location(tz)
	if err != nil {
		return nil, err
	}
	c, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %v; want %s", spec, err, Syntax)
	}
	if s, ok := c.(*cron.SpecSchedule); ok {
		s.Location = loc
	}
	return &Schedule{spec: spec, loc: loc, cron: c}, nil
}

// Location loads an IANA time zone ("" and "UTC" are UTC).
func Location(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || strings.EqualFold(tz, "local") {
		return nil, fmt.Errorf("unknown time zone %q: use an IANA name such as UTC, America/New_York or Europe/London", tz)
	}
	return loc, nil
}

// Next is the first tick strictly after t (in UTC); the zero time when the
// schedule never fires again.
func (s *Schedule) Next(t time.Time) time.Time {
	n := s.cron.Next(t)
	if n.IsZero() {
		return n
	}
	return n.UTC()
}

// Tick is the tick a job enqueued at t stands for: the latest tick at or
// before t, found by stepping from a minute before (a scheduler fires at
// its tick, give or take a little). Without one in that window, t itself to
// the second.
func (s *Schedule) Tick(t time.Time) time.Time {
	tick := t.Truncate(time.Second).UTC()
	for n := s.Next(t.Add(-time.Minute)); !n.IsZero() && !n.After(t); n = s.Next(n) {
		tick = n
	}
	return tick
}

// String is the expression as written, with its time zone.
func (s *Schedule) String() string {
	if s.loc == time.UTC {
		return s.spec
	}
	return s.spec + " (" + s.loc.String() + ")"
}

// Location is the schedule's time zone.
func (s *Schedule) Location() *time.Location { return s.loc }
