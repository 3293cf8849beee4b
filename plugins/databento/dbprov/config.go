package dbprov

import (
	"fmt"
	"net/url"
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
	EnvAPIKey  = "DATABENTO_API_KEY"
	EnvBaseURL = "DATABENTO_BASE_URL"
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
}

// config is the parsed provider configuration.
type config struct {
	BaseURL        string
	APIKey         string
	Source         string // "", "api" or "files"
	Timeout        time.Duration
	ConnectTimeout time.Duration
	MaxRetries     int
	RetryBackoff   time.Duration
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
	}{{"timeout", c.Timeout}, {"connect_timeout", c.ConnectTimeout}, {"retry_backoff", c.RetryBackoff}} {
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
