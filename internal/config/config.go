// Package config resolves hdi's settings from flags, the environment and an
// optional YAML file, in that order of precedence, and remembers where each
// effective value came from so `hdi config show` can say so.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a setting's value.
type Kind int

const (
	KindString Kind = iota
	KindDuration
	KindLevel  // debug|info|warn|error
	KindFormat // text|json
	KindMap    // string -> string (file only)
	KindNested // provider name -> key -> value (file only)
	KindCount  // a whole number >= 1
	KindWhole  // a whole number >= 0 (0: off)
)

// Def describes one setting.
type Def struct {
	Key     string   // YAML key and the name shown by `config show`
	Flag    string   // command-line flag name without dashes ("" = none)
	Env     []string // environment variables, first set wins
	Default string
	Kind    Kind
	Secret  bool // the whole value is secret
	Help    string
}

// Defs lists every setting hdi knows, in display order.
var Defs = []Def{
	{Key: "database_url", Flag: "database-url", Env: []string{"HDI_DATABASE_URL", "DATABASE_URL"}, Help: "PostgreSQL connection URL; empty means hdi's own local cluster"},
	{Key: "data_dir", Flag: "data-dir", Env: []string{"HDI_DATA_DIR"}, Help: "where hdi keeps its local PostgreSQL cluster (default $XDG_DATA_HOME/hdi)"},
	{Key: "plugin_path", Flag: "plugin-path", Env: []string{"HDI_PLUGIN_PATH"}, Help: "colon-separated directories searched for hdi-provider-* binaries (then hdi's own directory, then ./bin)"},
	{Key: "plugin_timeout", Flag: "plugin-timeout", Env: []string{"HDI_PLUGIN_TIMEOUT"}, Default: "60s", Kind: KindDuration, Help: "a plugin that sends nothing for this long is stopped"},
	{Key: "plugin_checksums", Kind: KindMap, Help: "SHA-256 (hex) per plugin name; a plugin whose binary differs is refused"},
	{Key: "jobs_dir", Flag: "jobs-dir", Env: []string{"HDI_JOBS_DIR"}, Default: "jobs", Help: "directory of job YAML files, searched by --job NAME"},
	{Key: "queries_dir", Flag: "queries-dir", Env: []string{"HDI_QUERIES_DIR"}, Help: "directory of user .sql queries; a file overrides a built-in of the same name"},
	{Key: "log_format", Flag: "log-format", Env: []string{"HDI_LOG_FORMAT"}, Default: "text", Kind: KindFormat, Help: "text or json"},
	{Key: "log_level", Flag: "log-level", Env: []string{"HDI_LOG_LEVEL"}, Default: "info", Kind: KindLevel, Help: "debug, info, warn or error"},
	{Key: "worker.rescue_after", Env: []string{"HDI_WORKER_RESCUE_AFTER"}, Default: "30s", Kind: KindDuration, Help: "a worker silent this long is presumed dead: its units go to another worker (hdi worker --rescue-after)"},
	{Key: "api_tokens", Env: []string{"HDI_API_TOKEN"}, Secret: true, Help: "tokens hdi serve accepts (Authorization: Bearer TOKEN), comma-separated; needed to listen beyond loopback"},
	{Key: "serve.cors_origins", Env: []string{"HDI_SERVE_CORS_ORIGINS"}, Help: "origins that may call hdi serve's API from a browser, comma-separated (default: none, CORS off)"},
	{Key: "serve.max_rows", Env: []string{"HDI_SERVE_MAX_ROWS"}, Default: "1000000", Kind: KindCount, Help: "the most rows one hdi serve response streams"},
	{Key: "serve.statement_timeout", Env: []string{"HDI_SERVE_STATEMENT_TIMEOUT"}, Default: "30s", Kind: KindDuration, Help: "hdi serve cancels a query running longer (504)"},
	{Key: "serve.token_cache", Env: []string{"HDI_SERVE_TOKEN_CACHE"}, Default: "5s", Kind: KindDuration, Help: "how long hdi serve trusts its copy of the token table: a revoked token is refused within this long"},
	{Key: "serve.token_rate_limit", Env: []string{"HDI_SERVE_TOKEN_RATE_LIMIT"}, Default: "100", Kind: KindWhole, Help: "requests a second each API token may send, in bursts of twice as many (429 beyond; 0: no limit)"},
	{Key: "serve.address_rate_limit", Env: []string{"HDI_SERVE_ADDRESS_RATE_LIMIT"}, Default: "10", Kind: KindWhole, Help: "refused authentications a second from one address, in bursts of twice as many (429 beyond; 0: no limit)"},
	{Key: "serve.token_queries", Env: []string{"HDI_SERVE_TOKEN_QUERIES"}, Default: "8", Kind: KindWhole, Help: "requests each API token may have under way at once (429 beyond; 0: no cap)"},
	{Key: "providers", Kind: KindNested, Help: "per-provider configuration, e.g. providers.databento.api_key"},
}

func defByKey(key string) (Def, bool) {
	for _, d := range Defs {
		if d.Key == key {
			return d, true
		}
	}
	return Def{}, false
}

// Value is an effective setting and where it came from.
type Value struct {
	Def    Def
	Value  string
	Source string // "flag --x", "env X", "file F:L", "default"
}

// Config is the effective configuration.
type Config struct {
	DatabaseURL     string
	DataDir         string
	PluginPath      []string
	PluginTimeout   time.Duration
	PluginChecksums map[string]string
	JobsDir         string
	QueriesDir      string
	LogFormat       string
	LogLevel        string
	// WorkerRescueAfter is worker.rescue_after.
	WorkerRescueAfter time.Duration
	// APITokens, ServeCORSOrigins, ServeMaxRows and ServeStatementTimeout
	// configure hdi serve.
	APITokens             []string
	ServeCORSOrigins      []string
	ServeMaxRows          int64
	ServeStatementTimeout time.Duration
	// ServeTokenCache, ServeTokenRateLimit, ServeAddressRateLimit and
	// ServeTokenQueries are hdi serve's token cache and limits.
	ServeTokenCache       time.Duration
	ServeTokenRateLimit   int
	ServeAddressRateLimit int
	ServeTokenQueries     int
	// Providers holds provider configuration from the file, by provider name.
	Providers map[string]map[string]string

	// File is the config file that was read ("" when none).
	File string

	values    map[string]Value
	nestedSrc map[string]fileEntry // "providers.name.key", "providers.name" -> where in the file
	// public holds, per provider, the keys it declares not secret
	// (CheckProviders): the only provider values Show prints in clear.
	public map[string]map[string]bool
}

// Flags are the values given on the command line; only the ones in Set count.
type Flags struct {
	Values map[string]string // flag name -> value
	Set    map[string]bool   // flag name -> given explicitly
}

// Env looks up environment variables (os.LookupEnv in production).
type Env func(string) (string, bool)

// Load resolves the configuration. configFile is the --config flag ("" to
// search ./hdi.yaml, then $XDG_CONFIG_HOME/hdi/config.yaml).
func Load(flags Flags, env Env, configFile string) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	path, explicit := configFile, configFile != ""
	if !explicit {
		path = findConfigFile(env)
	}
	var fv *fileValues
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			if explicit || !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("read config file: %w", err)
			}
		} else {
			fv, err = parseFile(path, data)
			if err != nil {
				return nil, err
			}
		}
	}
	c := &Config{values: map[string]Value{}, nestedSrc: map[string]fileEntry{}, public: map[string]map[string]bool{}, PluginChecksums: map[string]string{}, Providers: map[string]map[string]string{}}
	if fv != nil {
		c.File = path
	}
	for _, d := range Defs {
		v := Value{Def: d, Value: d.Default, Source: "default"}
		switch d.Kind {
		case KindMap:
			if fv != nil {
				for k, e := range fv.maps[d.Key] {
					c.PluginChecksums[k] = e.value
					c.nestedSrc[d.Key+"."+k] = e
				}
			}
			c.values[d.Key] = v
			continue
		case KindNested:
			if fv != nil {
				for p, m := range fv.nested {
					c.Providers[p] = map[string]string{}
					c.nestedSrc[d.Key+"."+p] = fv.named[p]
					for k, e := range m {
						c.Providers[p][k] = e.value
						c.nestedSrc[d.Key+"."+p+"."+k] = e
					}
				}
			}
			c.values[d.Key] = v
			continue
		}
		if fv != nil {
			if e, ok := fv.scalars[d.Key]; ok {
				v.Value, v.Source = e.value, e.source
			}
		}
		for i := len(d.Env) - 1; i >= 0; i-- { // first listed wins
			if s, ok := env(d.Env[i]); ok && s != "" {
				v.Value, v.Source = s, "env "+d.Env[i]
			}
		}
		if d.Flag != "" && flags.Set[d.Flag] {
			v.Value, v.Source = flags.Values[d.Flag], "flag --"+d.Flag
		}
		if err := checkValue(d, v.Value); err != nil {
			return nil, fmt.Errorf("%s (from %s): %w", d.Key, v.Source, err)
		}
		c.values[d.Key] = v
	}
	c.DatabaseURL = c.values["database_url"].Value
	c.DataDir = c.values["data_dir"].Value
	if c.DataDir == "" {
		c.DataDir = defaultDataDir(env)
	}
	c.PluginPath = splitPath(c.values["plugin_path"].Value)
	c.PluginTimeout, _ = time.ParseDuration(c.values["plugin_timeout"].Value)
	c.JobsDir = c.values["jobs_dir"].Value
	c.QueriesDir = c.values["queries_dir"].Value
	c.LogFormat = c.values["log_format"].Value
	c.LogLevel = c.values["log_level"].Value
	c.WorkerRescueAfter, _ = time.ParseDuration(c.values["worker.rescue_after"].Value)
	c.APITokens = splitList(c.values["api_tokens"].Value)
	c.ServeCORSOrigins = splitList(c.values["serve.cors_origins"].Value)
	c.ServeMaxRows, _ = strconv.ParseInt(c.values["serve.max_rows"].Value, 10, 64)
	c.ServeStatementTimeout, _ = time.ParseDuration(c.values["serve.statement_timeout"].Value)
	c.ServeTokenCache, _ = time.ParseDuration(c.values["serve.token_cache"].Value)
	c.ServeTokenRateLimit, _ = strconv.Atoi(c.values["serve.token_rate_limit"].Value)
	c.ServeAddressRateLimit, _ = strconv.Atoi(c.values["serve.address_rate_limit"].Value)
	c.ServeTokenQueries, _ = strconv.Atoi(c.values["serve.token_queries"].Value)
	return c, nil
}

func checkValue(d Def, s string) error {
	switch d.Kind {
	case KindDuration:
		if dur, err := time.ParseDuration(s); err != nil || dur <= 0 {
			return fmt.Errorf("%q is not a positive duration (use e.g. 30s, 2m)", s)
		}
	case KindCount:
		if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 1 {
			return fmt.Errorf("%q is not a whole number of 1 or more", s)
		}
	case KindWhole:
		if n, err := strconv.ParseInt(s, 10, 32); err != nil || n < 0 {
			return fmt.Errorf("%q is not a whole number of 0 or more (0: off)", s)
		}
	case KindLevel:
		switch strings.ToLower(s) {
		case "debug", "info", "warn", "error":
		default:
			return fmt.Errorf("%q is not a log level (use debug, info, warn or error)", s)
		}
	case KindFormat:
		switch s {
		case "text", "json":
		default:
			return fmt.Errorf("%q is not a log format (use text or json)", s)
		}
	}
	return nil
}

// splitList splits a comma-separated setting, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func splitPath(s string) []string {
	var out []string
	for _, p := range filepath.SplitList(s) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func findConfigFile(env Env) string {
	if _, err := os.Stat("hdi.yaml"); err == nil {
		return "hdi.yaml"
	}
	if dir := xdgDir(env, "XDG_CONFIG_HOME", ".config"); dir != "" {
		return filepath.Join(dir, "hdi", "config.yaml")
	}
	return ""
}

func defaultDataDir(env Env) string {
	if dir := xdgDir(env, "XDG_DATA_HOME", filepath.Join(".local", "share")); dir != "" {
		return filepath.Join(dir, "hdi")
	}
	return filepath.Join(os.TempDir(), "hdi")
}

func xdgDir(env Env, name, homeRel string) string {
	if v, ok := env(name); ok && v != "" {
		return v
	}
	home, ok := env("HOME")
	if !ok || home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		home = h
	}
	return filepath.Join(home, homeRel)
}

// ProviderConfig returns the file configuration of one provider (never nil).
func (c *Config) ProviderConfig(name string) map[string]string {
	out := map[string]string{}
	for k, v := range c.Providers[name] {
		out[k] = v
	}
	return out
}

// Shown is one line of `hdi config show`.
type Shown struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Show lists every effective setting with its source, secrets masked: the
// passwords of database_url (RedactURL), api_tokens, and every provider
// value but those of the keys its provider declares not secret
// (CheckProviders).
func (c *Config) Show() []Shown {
	var out []Shown
	for _, d := range Defs {
		switch d.Kind {
		case KindMap:
			keys := sortedKeys(c.PluginChecksums)
			if len(keys) == 0 {
				out = append(out, Shown{Key: d.Key, Value: "{}", Source: "default"})
			}
			for _, k := range keys {
				out = append(out, Shown{Key: d.Key + "." + k, Value: c.PluginChecksums[k], Source: c.nestedSrc[d.Key+"."+k].source})
			}
			continue
		case KindNested:
			names := sortedKeys(c.Providers)
			if len(names) == 0 {
				out = append(out, Shown{Key: d.Key, Value: "{}", Source: "default"})
			}
			for _, p := range names {
				for _, k := range sortedKeys(c.Providers[p]) {
					v := c.Providers[p][k]
					if !c.public[p][k] {
						v = Mask(v)
					}
					out = append(out, Shown{Key: d.Key + "." + p + "." + k, Value: v, Source: c.nestedSrc[d.Key+"."+p+"."+k].source})
				}
			}
			continue
		}
		v := c.values[d.Key]
		s := v.Value
		switch {
		case d.Key == "database_url":
			s = RedactURL(s)
			if s == "" {
				s = "(local cluster in " + filepath.Join(c.DataDir, "postgres") + ")"
			}
		case d.Key == "data_dir" && s == "":
			s = c.DataDir
		case d.Secret:
			s = Mask(s)
		}
		out = append(out, Shown{Key: d.Key, Value: s, Source: v.Source})
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
