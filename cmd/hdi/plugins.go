package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

func init() { addCommand(newPluginsCmd) }

func newPluginsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plugins",
		Short: "List and describe provider plugins (hdi-provider-* executables)",
		Long: "Provider plugins are executables named hdi-provider-NAME, searched in HDI_PLUGIN_PATH\n" +
			"(colon-separated), then the directory of the hdi binary, then ./bin; the first found wins.",
		Example: "  hdi plugins list\n  hdi plugins describe csv",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newPluginsListCmd(app), newPluginsDescribeCmd(app))
	return cmd
}

// pluginJSON is the JSON form of a plugin in `plugins list` and `describe`.
type pluginJSON struct {
	Name            string       `json:"name"`
	Version         string       `json:"version,omitempty"`
	Path            string       `json:"path"`
	Description     string       `json:"description,omitempty"`
	ProtocolVersion int          `json:"protocol_version,omitempty"`
	Streams         []streamJSON `json:"streams,omitempty"`
	Config          []configJSON `json:"config,omitempty"`
	Params          []configJSON `json:"params,omitempty"`
	Error           string       `json:"error,omitempty"`
}

type streamJSON struct {
	Name         string      `json:"name"`
	Kind         string      `json:"kind"`
	Description  string      `json:"description,omitempty"`
	Fields       []fieldJSON `json:"fields"` // null: declared by the job
	Key          []string    `json:"key,omitempty"`
	OnConflict   string      `json:"on_conflict"`
	TimeField    string      `json:"time_field,omitempty"`
	DefaultRules []sdk.Rule  `json:"default_rules,omitempty"`
	Live         bool        `json:"live,omitempty"`
}

type fieldJSON struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Nullable bool   `json:"nullable"`
}

type configJSON struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"`
	Default     *string  `json:"default,omitempty"`
	Description string   `json:"description,omitempty"`
	Secret      bool     `json:"secret,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Allowed     []string `json:"allowed,omitempty"`
	Env         string   `json:"env,omitempty"`
	// Scope: "history" or "live" for a job parameter only one kind of job
	// takes; empty for both.
	Scope string `json:"scope,omitempty"`
}

func paramsJSON(ps []sdk.Param) []configJSON {
	var out []configJSON
	for _, k := range ps {
		cj := configJSON{Name: k.Name, Type: k.Type.String(), Description: k.Description, Secret: k.Secret, Required: k.Required, Allowed: k.Allowed, Env: k.Env}
		switch k.Scope {
		case sdk.ScopeHistory:
			cj.Scope = "history"
		case sdk.ScopeLive:
			cj.Scope = "live"
		}
		if k.HasDefault {
			def := k.Default
			cj.Default = &def
		}
		out = append(out, cj)
	}
	return out
}

func describeJSON(f pluginhost.Found, d *sdk.Description, err error) pluginJSON {
	out := pluginJSON{Name: f.Name, Path: f.Path}
	if err != nil {
		out.Error = err.Error()
		return out
	}
	out.Version, out.Description, out.ProtocolVersion = d.Version, d.Description, d.ProtocolVersion
	for _, s := range d.Streams {
		sj := streamJSON{Name: s.Name, Kind: s.Kind.String(), Description: s.Description,
			Key: s.Key, OnConflict: s.OnConflict.String(), TimeField: s.TimeField, DefaultRules: s.DefaultRules, Live: s.Live}
		if s.Schema != nil {
			sj.Fields = []fieldJSON{}
			for _, fl := range s.Schema.Fields() {
				sj.Fields = append(sj.Fields, fieldJSON{Name: fl.Name, Type: fl.Type.String(), Nullable: fl.Nullable})
			}
		}
		out.Streams = append(out.Streams, sj)
	}
	out.Config, out.Params = paramsJSON(d.Config), paramsJSON(d.Params)
	return out
}

// describePlugin starts the plugin, asks it to describe itself and stops it.
func describePlugin(ctx context.Context, host *pluginhost.Host, f pluginhost.Found) pluginJSON {
	p, err := host.OpenPath(ctx, f.Name, f.Path)
	if err != nil {
		return describeJSON(f, nil, err)
	}
	defer p.Close()
	return describeJSON(f, p.Description(), nil)
}

func newPluginsListCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the provider plugins found on the plugin path, with their streams",
		Example: "  hdi plugins list\n  hdi plugins list --format json\n  HDI_PLUGIN_PATH=$HOME/hdi-plugins hdi plugins list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format must be table or json, not %q", format)
			}
			all, err := app.describePlugins(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			if len(all) == 0 {
				app.Logger.Info("no provider plugins found", "path", strings.Join(app.pluginHostOptions().Path, ":"))
				_, _ = fmt.Fprintf(app.Stderr, "no hdi-provider-* executables in %s\n", strings.Join(app.pluginHostOptions().Path, ":"))
				return nil
			}
			return writePluginTable(app.Stdout, all)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func writePluginTable(w io.Writer, all []pluginJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "NAME\tVERSION\tPATH\tSTREAMS")
	for _, p := range all {
		version, streams := p.Version, make([]string, 0, len(p.Streams))
		for _, s := range p.Streams {
			switch {
			case s.Fields == nil:
				streams = append(streams, s.Name+"(job schema)")
			default:
				streams = append(streams, fmt.Sprintf("%s(%d fields)", s.Name, len(s.Fields)))
			}
		}
		stream := strings.Join(streams, ", ")
		if p.Error != "" {
			version, stream = "?", "error: "+p.Error
		}
		_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, version, p.Path, stream)
	}
	return tw.Flush()
}

func newPluginsDescribeCmd(app *App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:     "describe NAME",
		Short:   "Show one provider plugin: its streams with their Arrow fields, and its config keys",
		Example: "  hdi plugins describe csv\n  hdi plugins describe databento --format json",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("plugins describe takes one plugin NAME (see `hdi plugins list`), got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageErrorf("--format must be text or json, not %q", format)
			}
			host := pluginhost.New(app.pluginHostOptions())
			defer func() { _ = host.Close() }()
			f, err := host.Find(strings.TrimPrefix(args[0], pluginhost.Prefix))
			if err != nil {
				return err
			}
			p := app.describe(cmd.Context(), host, f)
			if p.Error != "" {
				return fmt.Errorf("%s", p.Error)
			}
			if format == "json" {
				enc := json.NewEncoder(app.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(p)
			}
			return writePluginText(app.Stdout, p)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

func writePluginText(w io.Writer, p pluginJSON) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (provider protocol %d)\n%s\n", p.Name, p.Version, p.ProtocolVersion, p.Path)
	if p.Description != "" {
		fmt.Fprintf(&b, "%s\n", p.Description)
	}
	b.WriteString("\nStreams:\n")
	for _, s := range p.Streams {
		fmt.Fprintf(&b, "  %s", s.Name)
		if s.Kind != "data" {
			fmt.Fprintf(&b, " [%s]", s.Kind)
		}
		if s.Description != "" {
			fmt.Fprintf(&b, ": %s", s.Description)
		}
		b.WriteString("\n")
		var load []string
		if len(s.Key) > 0 {
			load = append(load, "key "+strings.Join(s.Key, ", "))
		}
		load = append(load, "a stored record is "+map[string]string{"keep": "kept", "replace": "replaced by a newer one"}[s.OnConflict])
		if s.TimeField != "" {
			load = append(load, "time "+s.TimeField)
		}
		if s.Live {
			load = append(load, "live")
		}
		fmt.Fprintf(&b, "    (%s)\n", strings.Join(load, "; "))
		if s.Fields == nil {
			b.WriteString("    (columns declared by the job, or the target table's)\n")
		}
		for _, f := range s.Fields {
			null := ""
			if f.Nullable {
				null = " (nullable)"
			}
			fmt.Fprintf(&b, "    %-20s %s%s\n", f.Name, f.Type, null)
		}
	}
	writeParams(&b, "Config keys (providers.NAME.KEY in hdi's config, provider.config in a job)", p.Config)
	writeParams(&b, "Job parameters (source.params, --param KEY=VALUE)", p.Params)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeParams(b *strings.Builder, title string, ps []configJSON) {
	if len(ps) == 0 {
		return
	}
	fmt.Fprintf(b, "\n%s:\n", title)
	for _, k := range ps {
		var notes []string
		if k.Default != nil {
			notes = append(notes, fmt.Sprintf("default %q", *k.Default))
		}
		if len(k.Allowed) > 0 {
			notes = append(notes, "one of "+strings.Join(k.Allowed, ", "))
		}
		if k.Env != "" {
			notes = append(notes, "env "+k.Env)
		}
		if k.Required {
			notes = append(notes, "required")
		}
		if k.Secret {
			notes = append(notes, "secret")
		}
		if k.Scope != "" {
			notes = append(notes, k.Scope+" jobs only")
		}
		note := ""
		if len(notes) > 0 {
			note = " [" + strings.Join(notes, "; ") + "]"
		}
		fmt.Fprintf(b, "  %-16s %-8s %s%s\n", k.Name, k.Type, k.Description, note)
	}
}
