package dbprov

import (
	"context"

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

// Describe implements sdk.Provider. It does no I/O and never shows the key.
func (*Provider) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{
		Name:        "databento",
		Version:     Version,
		Description: "Databento historical API, DBN files and live feeds (Live API)",
		Streams:     Streams(),
		Config:      configKeys,
		Params:      params,
		LiveReplay:  LiveReplay,
	}, nil
}

// Check implements sdk.Provider: it validates the configuration. It does
// no I/O: a job of local files needs no network, and the key is checked by
// the first API request of a plan (an auth error then says what to fix).
func (*Provider) Check(_ context.Context, cfgMap map[string]string) (*sdk.CheckResult, error) {
	if _, err := parseConfig(cfgMap); err != nil {
		return nil, err
	}
	return &sdk.CheckResult{}, nil
}
