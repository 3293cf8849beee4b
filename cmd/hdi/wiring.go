package main

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/config"
	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/internal/status"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// pluginDirs lists the plugin search path: plugin_path (HDI_PLUGIN_PATH),
// then the directory of the hdi binary, then ./bin.
func (a *App) pluginDirs() []string {
	return pluginhost.SearchPath(strings.Join(a.Config.PluginPath, string(filepath.ListSeparator)), pluginhost.ExecutableDir())
}

// pluginHostOptions configures the plugin host from the effective settings.
func (a *App) pluginHostOptions() pluginhost.Options {
	return pluginhost.Options{
		Path:        a.pluginDirs(),
		Checksums:   a.Config.PluginChecksums,
		HangTimeout: a.Config.PluginTimeout,
		Logger:      a.Logger,
	}
}

// statusDatabaseURL is databaseURL for `hdi status`: it never creates or
// starts the local cluster, it only reports on it.
func (a *App) statusDatabaseURL(ctx context.Context) (url, source string, err error) {
	if a.Config.DatabaseURL != "" {
		return a.Config.DatabaseURL, "configured by " + a.externalSource(), nil
	}
	c, err := a.localCluster()
	if err != nil {
		return "", "local cluster", err
	}
	source = "hdi's local cluster in " + c.Dir()
	st := c.Status(ctx)
	switch {
	case !st.Created:
		return "", source, errLocal("the local cluster does not exist yet: `hdi db start` (or any command that needs the database) creates it")
	case !st.Running:
		return "", source, errLocal("the local cluster is not running: start it with `hdi db start`")
	}
	a.redactLocalPassword(c)
	return c.URL(), source, nil
}

type errLocal string

func (e errLocal) Error() string { return string(e) }

// describePlugins starts each provider plugin on the plugin path in turn
// and returns what it says of itself (an error for one that fails).
func (a *App) describePlugins(ctx context.Context) ([]pluginJSON, error) {
	host := pluginhost.New(a.pluginHostOptions())
	defer func() { _ = host.Close() }()
	found, err := host.Discover()
	out := make([]pluginJSON, 0, len(found))
	for _, f := range found {
		out = append(out, a.describe(ctx, host, f))
	}
	return out, err
}

// describe is describePlugin, once per run for each plugin.
func (a *App) describe(ctx context.Context, host *pluginhost.Host, f pluginhost.Found) pluginJSON {
	if p, ok := a.described[f.Path]; ok {
		return p
	}
	p := describePlugin(ctx, host, f)
	if a.described == nil {
		a.described = map[string]pluginJSON{}
	}
	a.described[f.Path] = p
	return p
}

// checkProviderConfig checks the provider sections of the config file
// against the keys the providers declare (config.CheckProviders), starting
// only the providers the file names: a mistake is a usage error. A provider
// that cannot be started is not checked, and config show masks its whole
// section. The provider values config show masks join the redactor.
func (a *App) checkProviderConfig(ctx context.Context) error {
	if len(a.Config.Providers) == 0 {
		return nil
	}
	host := pluginhost.New(a.pluginHostOptions())
	defer func() { _ = host.Close() }()
	found, _ := host.Discover() // an unreadable directory: what was found is checked
	installed := make([]string, 0, len(found))
	declared := map[string][]config.ProviderKey{}
	for _, f := range found {
		installed = append(installed, f.Name)
		if _, named := a.Config.Providers[f.Name]; !named {
			continue
		}
		p := a.describe(ctx, host, f)
		if p.Error != "" {
			a.Logger.Debug("provider not started: its settings are not checked and stay masked", "provider", f.Name, "err", p.Error)
			continue
		}
		keys := make([]config.ProviderKey, len(p.Config))
		for i, k := range p.Config {
			keys[i] = config.ProviderKey{Name: k.Name, Secret: k.Secret}
		}
		declared[f.Name] = keys
	}
	err := a.Config.CheckProviders(declared, installed)
	a.Redactor.Add(a.Config.ProviderSecrets()...)
	if err != nil {
		return configError(err)
	}
	return nil
}

// statusPlugins lists the provider plugins on the plugin path with the
// version each reports.
func (a *App) statusPlugins(ctx context.Context) ([]status.Plugin, string) {
	all, err := a.describePlugins(ctx)
	out := make([]status.Plugin, 0, len(all))
	for _, p := range all {
		v := p.Version
		if p.Error != "" {
			v = "? (" + p.Error + ")"
		}
		out = append(out, status.Plugin{Name: p.Name, Path: p.Path, Version: v})
	}
	if err != nil {
		return out, err.Error()
	}
	return out, ""
}

// providerEnvSettings are the provider settings that come from environment
// variables the providers declare (DATABENTO_API_KEY ...), as config show
// lists them: secrets masked.
func (a *App) providerEnvSettings(ctx context.Context) []config.Shown {
	all, _ := a.describePlugins(ctx)
	var out []config.Shown
	for _, p := range all {
		for _, k := range p.Config {
			if k.Env == "" {
				continue
			}
			if _, set := a.Config.ProviderConfig(p.Name)[k.Name]; set {
				continue // hdi's config file wins
			}
			v, ok := a.lookupEnv(k.Env)
			if !ok || v == "" {
				continue
			}
			if k.Secret {
				v = config.Mask(v)
			}
			out = append(out, config.Shown{Key: "providers." + p.Name + "." + k.Name, Value: v, Source: "env " + k.Env})
		}
	}
	return out
}

// newRunner is a runner wired to the database (nil: plan only), the plugin
// host and hdi's configuration, with o's run options.
func (a *App) newRunner(pool *pgxpool.Pool, host *pluginhost.Host, o runner.Options) *runner.Runner {
	o.Pool = pool
	o.Open = func(ctx context.Context, name string) (sdk.Provider, error) { return host.Open(ctx, name) }
	o.ProviderConfig = a.Config.ProviderConfig
	o.LookupEnv = a.lookupEnv
	o.Secret = func(s string) { a.Redactor.Add(s) }
	o.Logger = a.Logger
	return runner.New(o)
}

// reachablePool connects to the configured database, or to the local
// cluster when it is already running, without creating or starting
// anything, and checks its schema is current. Without one it returns nil and
// says why: callers that can do without (validation) go on.
func (a *App) reachablePool(ctx context.Context) (*pgxpool.Pool, error) {
	url, _, err := a.statusDatabaseURL(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := dbconn.PoolConfig(url)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return migrate.OpenPool(cctx, cfg)
}
