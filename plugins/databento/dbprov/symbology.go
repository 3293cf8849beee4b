package dbprov

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// metadataMappings turns DBN metadata symbol mappings into host mappings.
func metadataMappings(meta *dbn.Metadata, r *request) []sdk.SymbolMapping {
	dataset := firstOf(meta.Dataset, r.Dataset)
	in, out := meta.STypeIn, meta.STypeOut
	if !in.Valid() {
		in = r.StypeIn
	}
	if !out.Valid() {
		out = r.StypeOut
	}
	var ms []sdk.SymbolMapping
	for _, m := range meta.Mappings {
		for _, iv := range m.Intervals {
			if iv.Symbol == "" || !iv.StartDate.Before(iv.EndDate) {
				continue
			}
			ms = append(ms, sdk.SymbolMapping{
				Dataset: dataset, StypeIn: in.String(), InSymbol: m.RawSymbol,
				StypeOut: out.String(), OutSymbol: iv.Symbol,
				StartDate: iv.StartDate.String(), EndDate: iv.EndDate.String(),
			})
		}
	}
	return ms
}

// resolveResponse is the JSON of symbology.resolve.
type resolveResponse struct {
	Result map[string][]struct {
		D0 string `json:"d0"`
		D1 string `json:"d1"`
		S  string `json:"s"`
	} `json:"result"`
	Symbols   []string `json:"symbols"`
	StypeIn   string   `json:"stype_in"`
	StypeOut  string   `json:"stype_out"`
	StartDate string   `json:"start_date"`
	EndDate   string   `json:"end_date"`
	Partial   []string `json:"partial"`
	NotFound  []string `json:"not_found"`
	Message   string   `json:"message"`
	Status    int      `json:"status"`
}

// dateRange returns the UTC dates covering [start, end): start's date and
// the date after the last nanosecond.
func dateRange(start, end time.Time) (string, string) {
	d0 := dbn.DateOf(start)
	d1 := dbn.DateOf(end.Add(-1)).AddDays(1)
	return d0.String(), d1.String()
}

// resolve calls symbology.resolve for symbols over [start, end).
func (c *client) resolve(ctx context.Context, dataset string, symbols []string, in, out dbn.SType, start, end time.Time) ([]sdk.SymbolMapping, []string, error) {
	d0, d1 := dateRange(start, end)
	form := url.Values{
		"dataset": {dataset}, "symbols": {strings.Join(symbols, ",")},
		"stype_in": {in.String()}, "stype_out": {out.String()},
		"start_date": {d0}, "end_date": {d1},
	}
	var res resolveResponse
	if err := c.getJSON(ctx, http.MethodPost, "symbology.resolve", form, &res); err != nil {
		return nil, nil, err
	}
	var ms []sdk.SymbolMapping
	for sym, ivs := range res.Result {
		for _, iv := range ivs {
			if iv.S == "" {
				continue
			}
			ms = append(ms, sdk.SymbolMapping{
				Dataset: dataset, StypeIn: in.String(), InSymbol: sym, StypeOut: out.String(), OutSymbol: iv.S,
				StartDate: iv.D0, EndDate: iv.D1,
			})
		}
	}
	var warns []string
	if len(res.NotFound) > 0 {
		warns = append(warns, "databento symbology.resolve: not found: "+strings.Join(res.NotFound, ", "))
	}
	if len(res.Partial) > 0 {
		warns = append(warns, "databento symbology.resolve: resolved for part of the range only: "+strings.Join(res.Partial, ", "))
	}
	return ms, warns, nil
}
