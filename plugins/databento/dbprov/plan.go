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

// estimateWindows is how many spans of consecutive units each symbol
// group's estimate is asked for (three metadata calls each): a group of
// up to this many units is estimated unit by unit, a larger one span by
// span, each span's figures shared out to its units by duration. So a
// plan costs at most 3 * estimateWindows calls per symbol group, however
// many units it has.
const estimateWindows = 8

// estimateConcurrency bounds the metadata calls in flight during Plan.
const estimateConcurrency = 4

// Plan implements sdk.Provider.
func (*Provider) Plan(ctx context.Context, job *sdk.Job) (*sdk.Plan, error) {
	cfg, err := parseConfig(job.Config)
	if err != nil {
		return nil, err
	}
	if job.Live {
		return planLive(job, cfg)
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
	groups := symbolGroups(r.Symbols, job.Chunking.SymbolsPerUnit)
	// Count before building: a long range in short chunks is refused
	// without allocating its units.
	if n := int64(len(groups)) * timerange.Count(r.Range, r.Chunk); job.MaxUnits > 0 && n > job.MaxUnits {
		return nil, &sdk.TooManyUnits{Units: n, UnitsPerChunk: int64(len(groups)), Chunk: r.Chunk}
	}
	ranges := timerange.Split(r.Range, r.Chunk)
	plan := &sdk.Plan{Units: make([]sdk.Unit, 0, len(groups)*len(ranges))}
	for _, g := range groups {
		tag := symbolsTag(g)
		for i, rg := range ranges {
			if i%4096 == 0 && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// No params: Fetch reads the source and schema from the job.
			plan.Units = append(plan.Units, sdk.Unit{
				Key: unitKey(r, tag, rg), Stream: r.Schema.String(), Dataset: r.Dataset,
				Start: rg.Start.UnixNano(), End: rg.End.UnixNano(), Symbols: g,
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
	warn, err := estimate(ctx, c, r, plan.Units, len(groups))
	if err != nil {
		return nil, err
	}
	if warn != "" {
		plan.Warnings = append(plan.Warnings, warn)
	}
	if !r.ChunkSet && r.Limit == 0 && len(plan.Units) < job.Parallelism && r.Delivery != "batch" {
		if n := splitForStreams(r, plan, job.Parallelism, job.MaxUnits); n > 0 {
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
		if u.Params == nil {
			u.Params = map[string]string{}
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
// same job. It returns how many units it split. The plan stays within
// maxUnits (0: no cap).
func splitForStreams(r *request, plan *sdk.Plan, parallelism int, maxUnits int64) int {
	k := (parallelism + len(plan.Units) - 1) / len(plan.Units)
	if maxUnits > 0 {
		k = min(k, int(maxUnits)/len(plan.Units))
	}
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
			p.Key = unitKey(r, symbolsTag(u.Symbols), rg)
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

// estimate fills the units' estimates, for each symbol group (the units of
// group g are units[g*len/groups:][:len/groups], consecutive in time) in at
// most estimateWindows spans. A limit applies to each unit, so a span of
// several is asked about without it and each unit's share capped at it. A
// non-retryable API error (bad key, bad parameters) fails the plan; a
// retryable one leaves the estimates unknown and returns a warning.
func estimate(ctx context.Context, c *client, r *request, units []sdk.Unit, groups int) (string, error) {
	var spans [][]sdk.Unit // consecutive units of one group
	per := len(units) / groups
	for g := range groups {
		gu := units[g*per : (g+1)*per]
		k := min(estimateWindows, len(gu))
		for w := range k {
			spans = append(spans, gu[w*len(gu)/k:(w+1)*len(gu)/k])
		}
	}
	results := make([]est, len(spans))
	errs := make([]error, len(spans))
	sem := make(chan struct{}, estimateConcurrency)
	var wg sync.WaitGroup
	for i, sp := range spans {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return "", ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rg := timerange.Range{Start: nsTime(sp[0].Start), End: nsTime(sp[len(sp)-1].End)}
			rs := r
			if len(sp) > 1 && r.Limit > 0 {
				unlimited := *r
				unlimited.Limit = 0
				rs = &unlimited
			}
			results[i], errs[i] = estimateOne(ctx, c, rs, sp[0].Symbols, rg)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return "", err
	}
	for _, err := range errs {
		if err != nil && !retryable(err) {
			return "", err
		}
	}
	failed := 0
	for i, sp := range spans {
		if errs[i] != nil {
			failed++
			continue
		}
		res := results[i]
		total := float64(sp[len(sp)-1].End - sp[0].Start)
		for k := range sp {
			u := &sp[k]
			share := float64(u.End-u.Start) / total
			if rows := float64(res.rows) * share; r.Limit > 0 && rows > float64(r.Limit) {
				share *= float64(r.Limit) / rows // the unit fetches limit rows at most
			}
			u.EstimatedRows = sdk.Int64(int64(math.Round(float64(res.rows) * share)))
			u.EstimatedBytes = sdk.Int64(int64(math.Round(float64(res.bytes) * share)))
			u.EstimatedCostUSD = sdk.Float64(res.cost * share)
		}
	}
	if failed > 0 {
		for _, err := range errs {
			if err != nil {
				return fmt.Sprintf("databento: estimates unknown for some units (%d of %d metadata requests failed): %s", failed, len(spans), c.redact(err.Error())), nil
			}
		}
	}
	return "", nil
}
