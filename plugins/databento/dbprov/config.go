package dbprov

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Defaults of the configuration keys.
const (
	DefaultBaseURL        = "https://hist.databento.com"
	DefaultTimeout        = 100 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxRetries     = 5
	DefaultRetryBackoff   = 500 * time.Millisecond
)

// Environment variables the host reads for api_key and base_url when
// neither the job nor hdi's config sets them (declared in Describe).
const (
	EnvAPIKey      = "DATABENTO_API_KEY"
	EnvBaseURL     = "DATABENTO_BASE_URL"
	EnvLiveGateway = "DATABENTO_LIVE_GATEWAY"
)

// configKeys is what Describe declares.
var configKeys = []sdk.Param{
	{Name: "api_key", Type: sdk.ParamString, Secret: true, Env: EnvAPIKey, Description: "Databento API key"},
	{Name: "base_url", Type: sdk.ParamString, Default: DefaultBaseURL, HasDefault: true, Env: EnvBaseURL, Description: "historical API base URL"},
	{Name: "source", Type: sdk.ParamString, Allowed: []string{"api", "files"}, Description: "api or files (default: files when the job names files, else api)"},
	{Name: "timeout", Type: sdk.ParamDuration, Default: DefaultTimeout.String(), HasDefault: true, Description: "response timeout of a metadata call; longest silence inside a data stream"},
	{Name: "connect_timeout", Type: sdk.ParamDuration, Default: DefaultConnectTimeout.String(), HasDefault: true, Description: "TCP connect and TLS handshake timeout"},
	{Name: "max_retries", Type: sdk.ParamInt, Default: strconv.Itoa(DefaultMaxRetries), HasDefault: true, Description: "retries of a request after 429, 5xx or a connection error (0..100)"},
	{Name: "retry_backoff", Type: sdk.ParamDuration, Default: DefaultRetryBackoff.String(), HasDefault: true, Description: "first retry delay; doubles per attempt (with jitter) up to 30s; Retry-After wins"},
	{Name: "download_dir", Type: sdk.ParamString, Description: "where batch delivery downloads a job's files, in <download_dir>/<job id>/ (default $XDG_CACHE_HOME/hdi/databento)"},
	{Name: "poll_interval", Type: sdk.ParamDuration, Default: DefaultPollInterval.String(), HasDefault: true, Description: "first wait between polls of a batch job's state; doubles up to a minute"},
	{Name: "live_gateway", Type: sdk.ParamString, Env: EnvLiveGateway, Description: "live feeds: the Live API gateway as host:port (default DATASET.lsg.databento.com:13000, the dataset in lower case with dots as dashes)"},
}

// DefaultPollInterval is the first wait between polls of a batch job.
const DefaultPollInterval = 5 * time.Second

// config is the parsed provider configuration.
type config struct {
	BaseURL        string
	APIKey         string
	Source         string // "", "api" or "files"
	Timeout        time.Duration
	ConnectTimeout time.Duration
	MaxRetries     int
	RetryBackoff   time.Duration
	DownloadDir    string
	PollInterval   time.Duration
	LiveGateway    string // host:port, "" for the dataset's own
}

// parseConfig reads the provider configuration. The host has already
// filled api_key and base_url from the environment when they are unset.
// Errors never include the key.
func parseConfig(m map[string]string) (*config, error) {
	v, err := sdk.ParseParams("config", configKeys, m)
	if err != nil {
		return nil, err
	}
	c := &config{
		APIKey: v.String("api_key"), Source: v.String("source"),
		Timeout: v.Duration("timeout"), ConnectTimeout: v.Duration("connect_timeout"),
		MaxRetries: int(v.Int("max_retries")), RetryBackoff: v.Duration("retry_backoff"),
		DownloadDir: v.String("download_dir"), PollInterval: v.Duration("poll_interval"),
		LiveGateway: strings.TrimSpace(v.String("live_gateway")),
	}
	if c.LiveGateway != "" {
		if h, p, err := net.SplitHostPort(c.LiveGateway); err != nil || h == "" || p == "" {
			return nil, sdk.FieldError("config.live_gateway", "%q: want host:port, such as glbx-mdp3.lsg.databento.com:13000", c.LiveGateway)
		}
	}
	if c.DownloadDir == "" {
		c.DownloadDir = defaultDownloadDir()
	}
	base := v.String("base_url")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, sdk.FieldError("config.base_url", "%q: want an http(s) URL such as %s", base, DefaultBaseURL)
	}
	c.BaseURL = strings.TrimSuffix(strings.TrimRight(base, "/"), "/v0")
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"timeout", c.Timeout}, {"connect_timeout", c.ConnectTimeout}, {"retry_backoff", c.RetryBackoff}, {"poll_interval", c.PollInterval}} {
		if d.v <= 0 {
			return nil, sdk.FieldError("config."+d.key, "%q: want a positive duration such as 30s", v.String(d.key))
		}
	}
	if c.MaxRetries < 0 || c.MaxRetries > 100 {
		return nil, sdk.FieldError("config.max_retries", "%d: want a whole number 0..100", c.MaxRetries)
	}
	return c, nil
}

// needKey returns an error when the API source has no key.
func (c *config) needKey() error {
	if c.APIKey == "" {
		return &sdk.Error{Kind: sdk.ErrorAuth, Field: "config.api_key", Msg: fmt.Sprintf("no Databento API key: set $%s, or api_key under providers.databento in hdi's config", EnvAPIKey)}
	}
	return nil
}

// defaultDownloadDir is $XDG_CACHE_HOME/hdi/databento, else
// ~/.cache/hdi/databento, else under the temporary directory.
func defaultDownloadDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "hdi", "databento")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "hdi", "databento")
	}
	return filepath.Join(os.TempDir(), "hdi", "databento")
}

// checkDownloadDir makes sure batch delivery can write its files.
func (c *config) checkDownloadDir() error {
	if err := os.MkdirAll(c.DownloadDir, 0o755); err != nil {
		return sdk.FieldError("config.download_dir", "%s cannot be created (%v): batch delivery downloads there; set download_dir to a writable directory", c.DownloadDir, err)
	}
	f, err := os.CreateTemp(c.DownloadDir, ".hdi-write-test-*")
	if err != nil {
		return sdk.FieldError("config.download_dir", "%s is not writable (%v): batch delivery downloads there; set download_dir to a writable directory", c.DownloadDir, err)
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	return nil
}
