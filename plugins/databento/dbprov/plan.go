package dbprov

import (
	"context"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// perUnitEstimateLimit is the largest plan whose units are estimated one by
// one (three metadata calls each); larger plans are estimated once per
// symbol group and apportioned.
const perUnitEstimateLimit = 48

// estimateConcurrency bounds the metadata calls in flight during Plan.
const estimateConcurrency = 4

// Plan implements sdk.Provider.
func (*Provider) Plan(ctx context.Context, job *sdk.Job) (*sdk.Plan, error) {
	cfg, err := parseConfig(job.Config)
	if err != nil {
		return nil, err
	}
	r, err := parseJob(job, cfg)
	if err != nil {
		return nil, err
	}
	if r.Source == "files" {
		return planFiles(r)
	}
	if !job.Offline {
		if err := cfg.needKey(); err != nil {
			return nil, err
		}
	}
	plan := &sdk.Plan{}
	groups := symbolGroups(r.Symbols, job.Chunking.SymbolsPerUnit)
	ranges := timerange.Split(r.Range, r.Chunk)
	for _, g := range groups {
		for _, rg := range ranges {
			plan.Units = append(plan.Units, sdk.Unit{
				Key: unitKey(r, g, rg), Stream: r.Schema.String(), Dataset: r.Dataset,
				Start: rg.Start.UnixNano(), End: rg.End.UnixNano(), Symbols: g,
				Params: map[string]string{"source": "api", "schema": r.Schema.String()},
			})
		}
	}
	if r.Limit > 0 && len(plan.Units) > 1 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("databento: limit %d applies to each of the %d units, not to the job as a whole (use chunk: none for one request)", r.Limit, len(plan.Units)))
	}
	if len(groups) > 1 {
		plan.Warnings = append(plan.Warnings, fmt.Sprintf("databento: %d symbols split into %d groups (at most %d symbols per request)", len(r.Symbols), len(groups), len(groups[0])))
	}
	if job.Offline {
		chooseDelivery(r, plan) // estimates need the API
		return plan, nil
	}
	c := newClient(cfg)
	if job.DryRun {
		c = newDryRunClient(cfg)
	}
	warn, err := estimate(ctx, c, r, plan.Units, groups)
	if err != nil {
		return nil, err
	}
	if warn != "" {
		plan.Warnings = append(plan.Warnings, warn)
	}
	if !r.ChunkSet && r.Limit == 0 && len(plan.Units) < job.Parallelism && r.Delivery != "batch" {
		if n := splitForStreams(r, plan, job.Parallelism); n > 0 {
			plan.Warnings = append(plan.Warnings, fmt.Sprintf("databento: %d large units split by time into %d, so that %d streams load in parallel (estimates shared out by time; set chunk to choose the unit length)",
				n, len(plan.Units), job.Parallelism))
		}
	}
	if chooseDelivery(r, plan) > 0 {
		if err := cfg.checkDownloadDir(); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// chooseDelivery marks the units to fetch by batch job (Params delivery
// batch) and says why in each unit's note; it returns how many.
func chooseDelivery(r *request, plan *sdk.Plan) int {
	n := 0
	for i := range plan.Units {
		u := &plan.Units[i]
		switch {
		case r.Delivery == "batch":
			u.Note = "batch delivery (delivery batch)"
		case r.Delivery == "stream":
			u.Note = "stream (delivery stream)"
			continue
		case u.EstimatedBytes == nil:
			u.Note = "stream: size unknown (delivery auto needs the estimate)"
			continue
		case *u.EstimatedBytes >= r.BatchMinBytes:
			u.Note = fmt.Sprintf("batch delivery: %s estimated, at least batch_min_bytes %s", humanBytes(*u.EstimatedBytes), humanBytes(r.BatchMinBytes))
		default:
			u.Note = fmt.Sprintf("stream: %s estimated, under batch_min_bytes %s", humanBytes(*u.EstimatedBytes), humanBytes(r.BatchMinBytes))
			continue
		}
		u.Params["delivery"] = "batch"
		n++
	}
	return n
}

// humanBytes writes a size in decimal units: 512 B, 3.2 MB, 5.1 GB.
func humanBytes(n int64) string {
	v, unit := float64(n), "B"
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		if v < 1000 {
			break
		}
		v, unit = v/1000, u
	}
	if unit == "B" {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// minSplitRows is the smallest estimated unit worth splitting for
// parallelism: smaller ones load in seconds anyway.
const minSplitRows = 1_000_000

// splitForStreams cuts each unit estimated at minSplitRows or more into
// equal time pieces (whole seconds), so a job planned into fewer units than
// the host loads at once uses every COPY stream. The pieces depend only on
// the unit and parallelism, so their keys are stable between runs of the
// same job. It returns how many units it split.
func splitForStreams(r *request, plan *sdk.Plan, parallelism int) int {
	k := (parallelism + len(plan.Units) - 1) / len(plan.Units)
	if k < 2 {
		return 0
	}
	var out []sdk.Unit
	split := 0
	for _, u := range plan.Units {
		span := (u.End - u.Start) / int64(k) / 1e9 * 1e9
		if u.EstimatedRows == nil || *u.EstimatedRows < minSplitRows || span < int64(time.Minute) {
			out = append(out, u)
			continue
		}
		split++
		for i := range k {
			p := u
			p.Params = maps.Clone(u.Params)
			p.Start = u.Start + int64(i)*span
			if i < k-1 {
				p.End = p.Start + span
			}
			rg := timerange.Range{Start: nsTime(p.Start), End: nsTime(p.End)}
			p.Key = unitKey(r, u.Symbols, rg)
			frac := float64(p.End-p.Start) / float64(u.End-u.Start)
			share := func(v int64) *int64 { return sdk.Int64(int64(math.Round(float64(v) * frac))) }
			p.EstimatedRows = share(*u.EstimatedRows)
			if u.EstimatedBytes != nil {
				p.EstimatedBytes = share(*u.EstimatedBytes)
			}
			if u.EstimatedCostUSD != nil {
				p.EstimatedCostUSD = sdk.Float64(*u.EstimatedCostUSD * frac)
			}
			out = append(out, p)
		}
	}
	plan.Units = out
	return split
}

// estimates of one request.
type est struct {
	rows  int64
	bytes int64
	cost  float64
}

func apiForm(r *request, syms []string, rg timerange.Range) url.Values {
	f := url.Values{
		"dataset":  {r.Dataset},
		"schema":   {r.Schema.String()},
		"symbols":  {strings.Join(syms, ",")},
		"stype_in": {r.StypeIn.String()},
		"start":    {timerange.Format(rg.Start)},
		"end":      {timerange.Format(rg.End)},
	}
	if r.Limit > 0 {
		f.Set("limit", strconv.FormatInt(r.Limit, 10))
	}
	return f
}

// estimateOne asks the three metadata endpoints about one request.
func estimateOne(ctx context.Context, c *client, r *request, syms []string, rg timerange.Range) (est, error) {
	f := apiForm(r, syms, rg)
	var e est
	if err := c.getJSON(ctx, http.MethodPost, "metadata.get_record_count", f, &e.rows); err != nil {
		return e, err
	}
	fb := apiForm(r, syms, rg)
	fb.Set("stype_out", "instrument_id")
	if err := c.getJSON(ctx, http.MethodPost, "metadata.get_billable_size", fb, &e.bytes); err != nil {
		return e, err
	}
	if err := c.getJSON(ctx, http.MethodPost, "metadata.get_cost", fb, &e.cost); err != nil {
		return e, err
	}
	return e, nil
}

// estimate fills the units' estimates. A non-retryable API error (bad key,
// bad parameters) fails the plan; a retryable one leaves the estimates
// unknown and returns a warning.
func estimate(ctx context.Context, c *client, r *request, units []sdk.Unit, groups [][]string) (string, error) {
	type job struct {
		syms []string
		rg   timerange.Range
		idx  []int // units it covers
	}
	var jobs []job
	if len(units) <= perUnitEstimateLimit {
		for i := range units {
			u := &units[i]
			jobs = append(jobs, job{syms: u.Symbols, rg: unitRange(u), idx: []int{i}})
		}
	} else {
		for _, g := range groups {
			j := job{syms: g, rg: r.Range}
			tag := symbolsTag(g)
			for i := range units {
				if symbolsTag(units[i].Symbols) == tag {
					j.idx = append(j.idx, i)
				}
			}
			jobs = append(jobs, j)
		}
	}
	results := make([]est, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, estimateConcurrency)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = estimateOne(ctx, c, r, j.syms, j.rg)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !retryable(err) {
			return "", err
		}
	}
	failed := 0
	for i, j := range jobs {
		if errs[i] != nil {
			failed++
			continue
		}
		res := results[i]
		if len(j.idx) == 1 {
			u := &units[j.idx[0]]
			u.EstimatedRows, u.EstimatedBytes, u.EstimatedCostUSD = sdk.Int64(res.rows), sdk.Int64(res.bytes), sdk.Float64(res.cost)
			continue
		}
		total := float64(j.rg.Duration())
		for _, k := range j.idx {
			u := &units[k]
			share := float64(u.End-u.Start) / total
			u.EstimatedRows = sdk.Int64(int64(math.Round(float64(res.rows) * share)))
			u.EstimatedBytes = sdk.Int64(int64(math.Round(float64(res.bytes) * share)))
			u.EstimatedCostUSD = sdk.Float64(res.cost * share)
		}
	}
	if failed > 0 {
		for _, err := range errs {
			if err != nil {
				return fmt.Sprintf("databento: estimates unknown for some units (%d of %d metadata requests failed): %s", failed, len(jobs), c.redact(err.Error())), nil
			}
		}
	}
	return "", nil
}

func unitRange(u *sdk.Unit) timerange.Range {
	return timerange.Range{Start: nsTime(u.Start), End: nsTime(u.End)}
}
