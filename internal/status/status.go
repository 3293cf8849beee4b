// Package status gathers what `hdi status` reports: where the configuration
// came from, whether the database answers, its server and TimescaleDB
// versions, the migration state, and the provider plugins found.
package status

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/migrate"
)

// Report is the whole status, serialised as one JSON object by --format json.
type Report struct {
	ConfigFile string     `json:"config_file"`
	Database   Database   `json:"database"`
	Migrations Migrations `json:"migrations"`
	Queue      *Queue     `json:"queue,omitempty"`
	// Streams are the live streams (`hdi stream`).
	Streams []dbq.LiveStreamsRow `json:"streams,omitempty"`
	// StreamsError explains why they could not be read.
	StreamsError string   `json:"streams_error,omitempty"`
	Plugins      []Plugin `json:"plugins"`
	// PluginError explains why the plugin list may be incomplete.
	PluginError string `json:"plugin_error,omitempty"`
	// WorkerStaleAfter is how old a worker's heartbeat may be for it to
	// count as alive (worker.rescue_after; default 30s).
	WorkerStaleAfter time.Duration `json:"-"`
}

// Database describes the connection, never its password.
type Database struct {
	Source        string         `json:"source"` // "configured" or "local cluster"
	Target        *dbconn.Target `json:"target,omitempty"`
	Reachable     bool           `json:"reachable"`
	Error         string         `json:"error,omitempty"`
	ServerVersion string         `json:"server_version,omitempty"`
	Timescale     Timescale      `json:"timescaledb"`
}

// Timescale says whether the extension can be used.
type Timescale struct {
	Available        bool   `json:"available"`
	AvailableVersion string `json:"available_version,omitempty"`
	Installed        bool   `json:"installed"`
	InstalledVersion string `json:"installed_version,omitempty"`
}

// Migrations compares the applied schema with the embedded migrations.
type Migrations struct {
	Applied int64  `json:"applied"`
	Latest  int64  `json:"latest"`
	Pending bool   `json:"pending"`
	Error   string `json:"error,omitempty"`
}

// Queue is the work queue of `hdi worker`: units waiting per queue and
// state, and the workers alive (heartbeat within WorkerStaleAfter).
type Queue struct {
	Jobs    []dbq.QueueDepthRow  `json:"jobs"`
	Workers []dbq.LiveWorkersRow `json:"workers"`
	Error   string               `json:"error,omitempty"`
}

// Plugin is one provider binary found on the plugin path.
type Plugin struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
}

// NewReport starts a report for the given config file ("" for none), with
// the latest embedded migration filled in.
func NewReport(configFile string) *Report {
	r := &Report{ConfigFile: configFile, Plugins: []Plugin{}}
	latest, err := migrate.Latest()
	r.Migrations.Latest = latest
	if err != nil {
		r.Migrations.Error = err.Error()
	}
	return r
}

// CheckDatabase fills the database and migration parts of r from url. A failure
// to connect is recorded in the report, not returned.
func (r *Report) CheckDatabase(ctx context.Context, url, source string) {
	r.Database.Source = source
	if t, err := dbconn.ParseTarget(url); err == nil {
		r.Database.Target = &t
	}
	pool, err := dbconn.Open(ctx, url)
	if err != nil {
		r.Database.Error = err.Error()
		r.Migrations.Error = "database not reachable"
		return
	}
	defer pool.Close()
	r.Database.Reachable = true
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&r.Database.ServerVersion); err != nil {
		r.Database.Error = fmt.Sprintf("read server version: %v", err)
	}
	var avail, inst *string
	err = pool.QueryRow(ctx, `SELECT default_version, installed_version FROM pg_available_extensions WHERE name = 'timescaledb'`).Scan(&avail, &inst)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		r.Database.Error = fmt.Sprintf("read extensions: %v", err)
	}
	if avail != nil {
		r.Database.Timescale.Available, r.Database.Timescale.AvailableVersion = true, *avail
	}
	if inst != nil {
		r.Database.Timescale.Installed, r.Database.Timescale.InstalledVersion = true, *inst
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, migrate.VersionTable).Scan(&exists); err != nil {
		r.Migrations.Error = err.Error()
		return
	}
	if exists {
		err := pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+migrate.VersionTable+` WHERE is_applied`).Scan(&r.Migrations.Applied)
		if err != nil {
			r.Migrations.Error = err.Error()
		}
	}
	r.Migrations.Pending = r.Migrations.Applied < r.Migrations.Latest
	if !r.Migrations.Pending {
		r.checkQueue(ctx, pool)
		if r.Streams, err = Streams(ctx, pool); err != nil {
			r.StreamsError = err.Error()
		}
	}
}

func (r *Report) checkQueue(ctx context.Context, pool *pgxpool.Pool) {
	q := dbq.New(pool)
	r.Queue = &Queue{}
	var err error
	if r.Queue.Jobs, err = q.QueueDepth(ctx); err == nil {
		stale := r.WorkerStaleAfter
		if stale <= 0 {
			stale = DefaultWorkerStaleAfter
		}
		r.Queue.Workers, err = q.LiveWorkers(ctx, stale.Seconds())
	}
	if err != nil {
		r.Queue.Error = err.Error()
	}
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	cfg := r.ConfigFile
	if cfg == "" {
		cfg = "(no config file; flags, environment and defaults)"
	}
	fmt.Fprintf(tw, "config\t%s\n", cfg)
	db := r.Database
	where := "(unknown)"
	if db.Target != nil {
		where = db.Target.String()
	}
	fmt.Fprintf(tw, "database\t%s, %s\n", where, db.Source)
	if db.Reachable {
		fmt.Fprintf(tw, "reachable\tyes, PostgreSQL %s\n", db.ServerVersion)
		ts := "not available (plain PostgreSQL tables, date_bin in place of time_bucket)"
		switch {
		case db.Timescale.Installed:
			ts = "installed, version " + db.Timescale.InstalledVersion
		case db.Timescale.Available:
			ts = "available, version " + db.Timescale.AvailableVersion + " (installed by `hdi migrate up`)"
		}
		fmt.Fprintf(tw, "timescaledb\t%s\n", ts)
	} else {
		fmt.Fprintf(tw, "reachable\tno: %s\n", db.Error)
	}
	m := r.Migrations
	switch {
	case !db.Reachable:
		fmt.Fprintf(tw, "migrations\tunknown (latest embedded: %d)\n", m.Latest)
	case m.Error != "":
		fmt.Fprintf(tw, "migrations\terror: %s\n", m.Error)
	case m.Pending:
		fmt.Fprintf(tw, "migrations\t%d of %d applied: run `hdi migrate up`\n", m.Applied, m.Latest)
	default:
		fmt.Fprintf(tw, "migrations\t%d of %d applied, up to date\n", m.Applied, m.Latest)
	}
	if q := r.Queue; q != nil {
		switch {
		case q.Error != "":
			fmt.Fprintf(tw, "queue\terror: %s\n", q.Error)
		case len(q.Jobs) == 0:
			fmt.Fprintf(tw, "queue\tempty\n")
		}
		for i, j := range q.Jobs {
			fmt.Fprintf(tw, "%s\t%s: %d %s %s\n", label(i, "queue"), j.Queue, j.Jobs, j.State, j.Kind)
		}
		if len(q.Workers) == 0 {
			fmt.Fprintf(tw, "workers\tnone alive (start one with `hdi worker`)\n")
		}
		for i, w := range q.Workers {
			fmt.Fprintf(tw, "%s\t%s, queues %s, %d of %d slots busy, %s, up since %s\n", label(i, "workers"), w.WorkerID,
				strings.Join(w.Queues, ","), w.Running, w.Concurrency, w.Version, w.StartedAt.UTC().Format(time.RFC3339))
		}
	}
	for i, s := range r.Streams {
		fmt.Fprintf(tw, "%s\t%s\n", label(i, "streams"), StreamLine(s))
	}
	if r.StreamsError != "" {
		fmt.Fprintf(tw, "streams\terror: %s\n", r.StreamsError)
	}
	if len(r.Plugins) == 0 {
		fmt.Fprintf(tw, "plugins\tnone found\n")
	}
	for i, p := range r.Plugins {
		v := p.Version
		if v == "" {
			v = "?"
		}
		fmt.Fprintf(tw, "%s\t%s %s (%s)\n", label(i, "plugins"), p.Name, v, p.Path)
	}
	if r.PluginError != "" {
		fmt.Fprintf(tw, "\t%s\n", strings.TrimSpace(r.PluginError))
	}
	return tw.Flush()
}

// label names the first line of a list in the text report.
func label(i int, name string) string {
	if i == 0 {
		return name
	}
	return ""
}
