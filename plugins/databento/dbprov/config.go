package dbprov

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
	"google.golang.org/grpc/codes"
)

// Defaults of the configuration keys.
const (
	DefaultBaseURL        = "https://hist.databento.com"
	DefaultTimeout        = 100 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultMaxRetries     = 5
	DefaultRetryBackoff   = 500 * time.Millisecond
)

// Environment variables read when the config does not set the key.
const (
	EnvAPIKey  = "DATABENTO_API_KEY"
	EnvBaseURL = "DATABENTO_BASE_URL"
)

// configKeys is what Describe declares.
var configKeys = []sdk.ConfigKey{
	{Name: "api_key", Type: sdk.ConfigString, Secret: true, Description: "Databento API key (default: $" + EnvAPIKey + ")"},
	{Name: "base_url", Type: sdk.ConfigString, Default: DefaultBaseURL, HasDefault: true, Description: "historical API base URL (or $" + EnvBaseURL + ")"},
	{Name: "source", Type: sdk.ConfigString, Description: "api or files (default: files when the job names files, else api)"},
	{Name: "timeout", Type: sdk.ConfigDuration, Default: DefaultTimeout.String(), HasDefault: true, Description: "response timeout of a metadata call; longest silence inside a data stream"},
	{Name: "connect_timeout", Type: sdk.ConfigDuration, Default: DefaultConnectTimeout.String(), HasDefault: true, Description: "TCP connect and TLS handshake timeout"},
	{Name: "max_retries", Type: sdk.ConfigInt, Default: strconv.Itoa(DefaultMaxRetries), HasDefault: true, Description: "retries of a request after 429, 5xx or a connection error"},
	{Name: "retry_backoff", Type: sdk.ConfigDuration, Default: DefaultRetryBackoff.String(), HasDefault: true, Description: "first retry delay; doubles per attempt (with jitter) up to 30s; Retry-After wins"},
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

// parseConfig reads the provider config, falling back to the environment.
// Errors never include the key.
func parseConfig(m map[string]string) (*config, error) {
	c, _, err := parseConfigWarn(m)
	return c, err
}

// parseConfigWarn is parseConfig that also returns warnings about unknown
// keys (which are ignored).
func parseConfigWarn(m map[string]string) (*config, []string, error) {
	var warns []string
	c := &config{
		BaseURL: DefaultBaseURL, Timeout: DefaultTimeout, ConnectTimeout: DefaultConnectTimeout,
		MaxRetries: DefaultMaxRetries, RetryBackoff: DefaultRetryBackoff,
	}
	known := map[string]bool{}
	for _, k := range configKeys {
		known[k.Name] = true
	}
	for k := range m {
		if !known[k] {
			warns = append(warns, fmt.Sprintf("databento config: unknown key %q ignored (known: api_key, base_url, source, timeout, connect_timeout, max_retries, retry_backoff)", k))
		}
	}
	c.APIKey = strings.TrimSpace(m["api_key"])
	if c.APIKey == "" {
		c.APIKey = strings.TrimSpace(os.Getenv(EnvAPIKey))
	}
	base := strings.TrimSpace(m["base_url"])
	if base == "" {
		base = strings.TrimSpace(os.Getenv(EnvBaseURL))
	}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, nil, invalidArg("databento config: base_url %q: want an http(s) URL such as %s", base, DefaultBaseURL)
		}
		base = strings.TrimRight(base, "/")
		base = strings.TrimSuffix(base, "/v0")
		c.BaseURL = base
	}
	switch s := m["source"]; s {
	case "", "api", "files":
		c.Source = s
	default:
		return nil, nil, invalidArg("databento config: source %q: want api or files", s)
	}
	var err error
	if c.Timeout, err = durationKey(m, "timeout", c.Timeout); err != nil {
		return nil, nil, err
	}
	if c.ConnectTimeout, err = durationKey(m, "connect_timeout", c.ConnectTimeout); err != nil {
		return nil, nil, err
	}
	if c.RetryBackoff, err = durationKey(m, "retry_backoff", c.RetryBackoff); err != nil {
		return nil, nil, err
	}
	if v, ok := m["max_retries"]; ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return nil, nil, invalidArg("databento config: max_retries %q: want a whole number 0..100", v)
		}
		c.MaxRetries = n
	}
	return c, warns, nil
}

func durationKey(m map[string]string, key string, def time.Duration) (time.Duration, error) {
	v, ok := m[key]
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, invalidArg("databento config: %s %q: want a positive Go duration such as 30s", key, v)
	}
	return d, nil
}

// needKey returns an error when the API source has no key.
func (c *config) needKey() error {
	if c.APIKey == "" {
		return &Error{Code: codes.Unauthenticated, Msg: fmt.Sprintf("databento: no API key: set $%s or the provider config api_key", EnvAPIKey)}
	}
	return nil
}
