// Command hdi-provider-example is the smallest complete hdi provider: it
// makes up one price tick per symbol per hour, one work unit per day. Read it
// with docs/providers.md; copy it to start a provider of your own.
package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// ticks is the schema of the one stream this provider offers.
var ticks = arrow.NewSchema([]arrow.Field{
	{Name: "ts_event", Type: arrow.PrimitiveTypes.Int64}, // ns since the epoch
	{Name: "symbol", Type: arrow.BinaryTypes.String},     // as asked for
	{Name: "price", Type: arrow.PrimitiveTypes.Int64},    // fixed-point, 1e-9 units
	{Name: "size", Type: arrow.PrimitiveTypes.Uint32},    // quantity
}, nil)

type example struct{}

// oneDay is the length of a unit.
var oneDay, _ = timerange.ParseChunk("1d")

// Describe says who we are, what we produce and what we accept.
func (example) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{
		Name:        "example",
		Version:     "1.0.0",
		Description: "made-up hourly ticks, to show how a provider works",
		Streams:     []sdk.Stream{{Name: "ticks", Description: "one tick per symbol per hour", Schema: ticks}},
		Config: []sdk.Param{{
			Name: "base_price", Type: sdk.ParamInt, Default: "100", HasDefault: true,
			Description: "price of the first tick, in whole units",
		}},
	}, nil
}

// Check validates the configuration without fetching anything.
func (example) Check(_ context.Context, cfg map[string]string) (*sdk.CheckResult, error) {
	if _, err := basePrice(cfg); err != nil {
		return nil, err
	}
	return &sdk.CheckResult{}, nil
}

func basePrice(cfg map[string]string) (int64, error) {
	v, ok := cfg["base_price"]
	if !ok {
		return 100, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("base_price %q: want a positive whole number", v)
	}
	return n, nil
}

// Plan cuts the job into one unit per UTC day. Keys depend only on the job,
// so planning the same job twice gives the same keys. It counts the days
// before it builds them: a plan of more than the host's cap is refused.
func (example) Plan(_ context.Context, job *sdk.Job) (*sdk.Plan, error) {
	rg, ok := job.Range() // start 0 is 1970-01-01, not "unset"
	if !ok {
		return nil, errors.New("the example provider needs a start and an end (end after start)")
	}
	if len(job.Symbols) == 0 {
		return nil, errors.New("the example provider needs at least one symbol")
	}
	if n := timerange.Count(rg, oneDay); job.MaxUnits > 0 && n > job.MaxUnits {
		return nil, &sdk.TooManyUnits{Units: n, UnitsPerChunk: 1, Chunk: oneDay}
	}
	p := &sdk.Plan{}
	day := int64(24 * time.Hour)
	for start := job.Start - job.Start%day; start < job.End; start += day {
		u := sdk.Unit{
			Key:     fmt.Sprintf("example:ticks:%s", time.Unix(0, start).UTC().Format("2006-01-02")),
			Stream:  "ticks",
			Start:   max(start, job.Start),
			End:     min(start+day, job.End),
			Symbols: job.Symbols,
		}
		rows := int64(len(job.Symbols)) * ((u.End - u.Start + int64(time.Hour) - 1) / int64(time.Hour))
		u.EstimatedRows = sdk.Int64(rows)
		u.EstimatedCostUSD = sdk.Float64(0)
		p.Units = append(p.Units, u)
	}
	return p, nil
}

// Fetch produces the unit's rows with typed Arrow builders; the BatchWriter
// sends a record batch every req.BatchRows rows.
func (example) Fetch(ctx context.Context, req *sdk.FetchRequest, out sdk.Sender) error {
	base, err := basePrice(req.Job.Config)
	if err != nil {
		return err
	}
	w := sdk.NewBatchWriter(out, "ticks", ticks, req.BatchRows)
	defer w.Release()
	ts := w.Field(0).(*array.Int64Builder)
	sym := w.Field(1).(*array.StringBuilder)
	price := w.Field(2).(*array.Int64Builder)
	size := w.Field(3).(*array.Uint32Builder)

	hour := int64(time.Hour)
	first := (req.Unit.Start + hour - 1) / hour * hour
	for t := first; t < req.Unit.End; t += hour {
		if err := ctx.Err(); err != nil {
			return err // cancelled: stop promptly
		}
		for i, s := range req.Unit.Symbols {
			ts.Append(t)
			sym.Append(s)
			price.Append((base + int64(i) + t/hour%7) * 1_000_000_000)
			size.Append(uint32(1 + t/hour%5))
			if err := w.EndRow(); err != nil {
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Progress(sdk.Progress{Done: w.Rows(), Total: w.Rows(), HasTotal: true, Unit: sdk.ProgressRecords})
}

func main() { sdk.Serve(example{}) }
