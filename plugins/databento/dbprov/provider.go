package dbprov

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Version is the provider's version.
const Version = "0.1.0"

// Provider implements sdk.Provider for Databento. It is safe for
// concurrent use.
type Provider struct{}

var _ sdk.Provider = (*Provider)(nil)

// New returns the provider.
func New() *Provider { return &Provider{} }

// Streams returns the provider's streams: one per schema.
func Streams() []sdk.Stream {
	var out []sdk.Stream
	for _, s := range dbn.Schemas() {
		st := sdk.Stream{Name: s.String(), Description: "Databento " + s.String() + " records", Schema: ArrowSchema(s)}
		if s == dbn.SchemaDefinition {
			st.Kind = sdk.KindDefinition
			st.Description = "Databento instrument definitions"
		}
		out = append(out, st)
	}
	return out
}

// Describe implements sdk.Provider. It does no I/O and never shows the key.
func (*Provider) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{
		Name:        "databento",
		Version:     Version,
		Description: "Databento historical API and DBN files",
		Streams:     Streams(),
		Config:      configKeys,
	}, nil
}

// Check implements sdk.Provider: it validates the config and, when a key
// is available, checks it with metadata.list_datasets.
func (*Provider) Check(ctx context.Context, cfgMap map[string]string) (*sdk.CheckResult, error) {
	cfg, warns, err := parseConfigWarn(cfgMap)
	if err != nil {
		return nil, err
	}
	res := &sdk.CheckResult{Warnings: warns}
	if cfg.APIKey == "" {
		// Fine for local files; an API job fails in Plan saying how to set the key.
		return res, nil
	}
	cfg.MaxRetries = min(cfg.MaxRetries, 1)
	c := newClient(cfg)
	var ds []string
	if err := c.getJSON(ctx, http.MethodGet, "metadata.list_datasets", url.Values{}, &ds); err != nil {
		var e *Error
		if errors.As(err, &e) && !Retryable(err) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		res.Warnings = append(res.Warnings, "databento: could not reach the API to check the key: "+c.redact(err.Error()))
	}
	return res, nil
}
