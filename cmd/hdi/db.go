package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/config"
	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/localpg"
)

func init() { addCommand(newDBCmd) }

// databaseURL returns the configured database URL or, when none is
// configured, the URL of hdi's local cluster, creating and starting it as
// needed. A command that creates or starts the cluster says so on stderr;
// one that finds it running says so only at debug level.
func (a *App) databaseURL(ctx context.Context) (string, error) {
	if a.Config.DatabaseURL != "" {
		return a.Config.DatabaseURL, nil
	}
	c, err := a.localCluster()
	if err != nil {
		return "", err
	}
	res, err := c.Start(ctx)
	if err != nil {
		return "", err
	}
	level := slog.LevelDebug
	if res.Created || res.Started {
		level = slog.LevelInfo
	}
	a.Logger.Log(ctx, level, "no database URL configured: "+c.Describe()+"; set DATABASE_URL to use another server")
	a.redactLocalPassword(c)
	return c.URL(), nil
}

// redactLocalPassword keeps the local cluster's TCP password out of logs and
// error messages.
func (a *App) redactLocalPassword(c *localpg.Cluster) {
	if pw, err := c.Password(); err == nil {
		a.Redactor.Add(pw)
	}
}

// localCluster opens (once per App) hdi's local cluster under the data
// directory.
func (a *App) localCluster() (*localpg.Cluster, error) {
	if a.local != nil {
		return a.local, nil
	}
	c, err := localpg.Open(localpg.Options{DataDir: a.Config.DataDir})
	if err != nil {
		return nil, err
	}
	a.local = c
	return c, nil
}

// externalSource names where the configured database URL comes from.
func (a *App) externalSource() string {
	for _, s := range a.Config.Show() {
		if s.Key == "database_url" {
			return s.Source
		}
	}
	return "the configuration"
}

// managedCluster returns the local cluster for db start/stop, or nil (having
// said why) when an external database is configured.
func (a *App) managedCluster(cmd *cobra.Command) (*localpg.Cluster, error) {
	if a.Config.DatabaseURL != "" {
		a.sayExternal(cmd)
		return nil, nil
	}
	return a.localCluster()
}

// sayExternal explains that db start/stop manage only the local cluster.
func (a *App) sayExternal(cmd *cobra.Command) {
	fmt.Fprintf(a.Stderr, "hdi is configured to use an external database (database_url from %s); `%s` manages only hdi's own local cluster, so it does nothing. Unset it to use the local cluster.\n", a.externalSource(), cmd.CommandPath())
}

func newDBCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage hdi's local PostgreSQL cluster (used when no database URL is set)",
		Long: `With no database URL configured (--database-url, DATABASE_URL, database_url),
hdi runs its own PostgreSQL cluster, made from the PostgreSQL server binaries
on this machine, under <data_dir>/postgres. Any command that needs the
database creates and starts it on first use; these commands manage it by hand.

The cluster listens only on a Unix socket in <data_dir>/postgres/run and on a
loopback port of 127.0.0.1 (password in <data_dir>/postgres/password). When
hdi runs as root, the server runs as the postgres system user; if that user
cannot reach the data directory, the cluster lives in /var/lib/hdi/postgres.`,
		Example: "  hdi db start\n  hdi db status --format json\n  psql \"$(hdi db url)\" -c 'SELECT version()'\n  hdi db stop",
	}
	cmd.AddCommand(newDBStartCmd(app), newDBStopCmd(app), newDBStatusCmd(app), newDBURLCmd(app))
	return cmd
}

func newDBStartCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "start",
		Short: "Create (on first use) and start the local cluster",
		Long: `Create hdi's local PostgreSQL cluster if it does not exist yet, start it if
it is not running, and make sure its database "hdi" exists. With an external
database configured, it says so and does nothing (exit status 0).`,
		Example: "  hdi db start\n  hdi --data-dir ./hdi-data db start",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := app.managedCluster(cmd)
			if c == nil || err != nil {
				return err
			}
			res, err := c.Start(cmd.Context())
			if err != nil {
				return err
			}
			app.redactLocalPassword(c)
			what := "already running"
			switch {
			case res.Created:
				what = "created and started"
			case res.Started:
				what = "started"
			}
			fmt.Fprintf(app.Stderr, "hdi: local PostgreSQL %s cluster in %s: %s\n", res.Version, c.Dir(), what)
			if r := c.FallbackReason(); r != "" {
				fmt.Fprintf(app.Stderr, "hdi: (not under the data directory: %s)\n", r)
			}
			return nil
		},
	}
}

func newDBStopCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "stop",
		Short: "Stop the local cluster",
		Long: `Stop hdi's local PostgreSQL cluster (fast shutdown: open sessions are ended,
nothing committed is lost). With an external database configured, it says so
and does nothing (exit status 0).`,
		Example: "  hdi db stop",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := app.managedCluster(cmd)
			if c == nil || err != nil {
				return err
			}
			was, err := c.Stop(cmd.Context())
			if err != nil {
				return err
			}
			if was {
				fmt.Fprintf(app.Stderr, "hdi: stopped the local PostgreSQL cluster in %s\n", c.Dir())
			} else {
				fmt.Fprintf(app.Stderr, "hdi: the local PostgreSQL cluster in %s is not running\n", c.Dir())
			}
			return nil
		},
	}
}

// dbStatus is what `hdi db status` prints.
type dbStatus struct {
	// Mode is "local" (hdi's own cluster) or "external" (a configured URL).
	Mode string `json:"mode"`
	// Source says where an external URL comes from.
	Source string `json:"source,omitempty"`
	// URL is the connection URL (an external one with its password masked).
	URL string `json:"url,omitempty"`
	// Reachable reports whether an external server accepted a connection.
	Reachable *bool           `json:"reachable,omitempty"`
	Error     string          `json:"error,omitempty"`
	Local     *localpg.Status `json:"local,omitempty"`
}

func newDBStatusCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show which database hdi uses and whether it runs",
		Long: `Show which database hdi uses. For the local cluster: its directory, whether
it exists, runs and accepts connections, its version, port, socket and URL.
For an external database: where its URL comes from (password masked) and
whether it accepts a connection. It changes nothing; the exit status is 0
whatever the state.`,
		Example: "  hdi db status\n  hdi db status --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageErrorf("--format must be text or json, not %q", format)
			}
			var s dbStatus
			if app.Config.DatabaseURL != "" {
				s.Mode, s.Source = "external", app.externalSource()
				s.URL = config.RedactURL(app.Config.DatabaseURL)
				// dbconn parses: pgx's own parse errors may quote part of a
				// password it could not place.
				var conn *pgx.Conn
				cfg, err := dbconn.PoolConfig(app.Config.DatabaseURL)
				if err == nil {
					ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
					conn, err = pgx.ConnectConfig(ctx, cfg.ConnConfig)
					cancel()
				}
				ok := err == nil
				s.Reachable = &ok
				if err != nil {
					s.Error = app.Redactor.Scrub(err.Error())
				} else {
					_ = conn.Close(cmd.Context())
				}
			} else {
				c, err := app.localCluster()
				if err != nil {
					return err
				}
				st := c.Status(cmd.Context())
				s.Mode, s.Local, s.URL = "local", &st, st.URL
			}
			if format == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				return enc.Encode(s)
			}
			return writeDBStatusText(app, s)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writeDBStatusText(app *App, s dbStatus) error {
	tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	if s.Mode == "external" {
		row("database", "external (from "+s.Source+")")
		row("url", s.URL)
		if *s.Reachable {
			row("state", "accepting connections")
		} else {
			row("state", "not reachable: "+s.Error)
		}
		return tw.Flush()
	}
	l := s.Local
	row("database", "local (hdi's own PostgreSQL cluster)")
	row("dir", l.Dir)
	switch {
	case !l.Created:
		row("state", "not created yet (hdi db start, or any command that needs the database, creates it)")
	case !l.Running:
		row("state", "stopped")
	case l.Accepting:
		row("state", fmt.Sprintf("running (pid %d), accepting connections", l.PID))
	default:
		row("state", fmt.Sprintf("running (pid %d), not accepting connections yet", l.PID))
	}
	row("version", l.Version)
	if l.Port != 0 {
		row("port", fmt.Sprintf("127.0.0.1:%d", l.Port))
	}
	row("socket", l.SocketDir)
	row("url", s.URL)
	row("log", l.LogFile)
	row("server user", l.ServerUser)
	row("note", l.Fallback)
	return tw.Flush()
}

func newDBURLCmd(app *App) *cobra.Command {
	var tcp bool
	cmd := &cobra.Command{
		Use:   "url",
		Short: "Print the database URL hdi uses",
		Long: `Print the database URL hdi uses on stdout: the configured one, or that of the
local cluster, which is created and started if needed. The local URL goes
through the Unix socket and holds no password; --tcp prints the loopback TCP
URL instead, password included (for tools that cannot use a socket).`,
		Example: "  psql \"$(hdi db url)\" -c 'SELECT count(*) FROM runs'\n  hdi db url --tcp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := app.databaseURL(cmd.Context())
			if err != nil {
				return err
			}
			if tcp && app.Config.DatabaseURL == "" {
				c, err := app.localCluster()
				if err != nil {
					return err
				}
				if u, err = c.TCPURL(); err != nil {
					return err
				}
			}
			_, err = fmt.Fprintln(app.Stdout, u)
			return err
		},
	}
	cmd.Flags().BoolVar(&tcp, "tcp", false, "print the local cluster's loopback TCP URL (with its password) instead of the socket URL")
	return cmd
}
