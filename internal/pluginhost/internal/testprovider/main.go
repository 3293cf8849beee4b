// Command testprovider is a provider plugin for hdi's own tests and
// benchmarks (built as hdi-provider-test). It generates trades-like rows and
// misbehaves on demand, chosen by the job parameter "mode":
//
//	ok         rows of the "trades" stream (default)
//	full       ok, plus a mapping, progress, a warning and a row error
//	crash      sends half the rows, then the process exits with status 3
//	exit0      sends half the rows, then the process exits with status 0
//	hang       sends one batch, then blocks forever, ignoring cancellation
//	slow       sends a batch every 20ms until cancelled
//	badipc     sends bytes that are not Arrow IPC
//	badschema  sends a batch whose schema differs from the declared one
//	undeclared sends a batch on a stream Describe does not list
//	error      returns an error after one batch
//	panic      panics inside Fetch
//	big        sends one batch of "rows" rows (use a size above 4 MiB)
//	log        logs through sdk.Logger and writes a raw stderr line, then ok
//
// Other parameters: rows (default 1000), batch (rows per batch, default
// sdk.DefaultBatchRows), units (Plan's unit count, default 1).
// The environment variable HDI_TESTPROVIDER_PROTOCOL overrides the protocol
// version announced at the handshake.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hashicorp/go-plugin"
	"github.com/hdi-dev/hdi/plugins/sdk"
	pb "github.com/hdi-dev/hdi/plugins/sdk/providerpb"
	"google.golang.org/grpc"
)

// TradesSchema is the schema of the "trades" stream.
var TradesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts_recv", Type: arrow.PrimitiveTypes.Int64},
	{Name: "ts_event", Type: arrow.PrimitiveTypes.Int64},
	{Name: "rtype", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "publisher_id", Type: arrow.PrimitiveTypes.Uint16},
	{Name: "instrument_id", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "action", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64},
	{Name: "size", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "flags", Type: arrow.PrimitiveTypes.Uint8},
	{Name: "ts_in_delta", Type: arrow.PrimitiveTypes.Int32},
	{Name: "sequence", Type: arrow.PrimitiveTypes.Uint32},
}, nil)

type provider struct{}

func (provider) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{
		Name:        "test",
		Version:     "0.0.1-test",
		Description: "generates trades-like rows and misbehaves on demand (tests only)",
		Streams: []sdk.Stream{
			{Name: "trades", Description: "generated trades", Schema: TradesSchema},
			{Name: "dyn", Description: "schema declared by the job"},
		},
		Config: []sdk.Param{
			{Name: "token", Type: sdk.ParamString, Description: "any value but \"bad\"", Secret: true},
			{Name: "seed", Type: sdk.ParamInt, Default: "1", HasDefault: true, Description: "generator seed"},
		},
	}, nil
}

func (provider) Check(_ context.Context, cfg map[string]string) (*sdk.CheckResult, error) {
	if cfg["token"] == "bad" {
		return nil, errors.New("token rejected: set a valid token")
	}
	return &sdk.CheckResult{Warnings: []string{"test provider: nothing checked"}}, nil
}

func (provider) Plan(_ context.Context, job *sdk.Job) (*sdk.Plan, error) {
	n := intParam(job.Params, "units", 1)
	rows := int64(intParam(job.Params, "rows", 1000))
	p := &sdk.Plan{}
	for i := range n {
		p.Units = append(p.Units, sdk.Unit{
			Key:           fmt.Sprintf("test:%d", i),
			Stream:        "trades",
			Start:         job.Start,
			End:           job.End,
			Symbols:       job.Symbols,
			EstimatedRows: sdk.Int64(rows),
		})
	}
	return p, nil
}

func intParam(m map[string]string, k string, def int) int {
	if v, err := strconv.Atoi(m[k]); err == nil {
		return v
	}
	return def
}

func (provider) Fetch(ctx context.Context, req *sdk.FetchRequest, out sdk.Sender) error {
	params := req.Job.Params
	mode := params["mode"]
	rows := intParam(params, "rows", 1000)
	batch := intParam(params, "batch", req.BatchRows)
	if batch <= 0 {
		batch = sdk.DefaultBatchRows
	}
	switch mode {
	case "big":
		batch = rows
	case "log":
		sdk.Logger().Info("hello from the test provider", "unit", req.Unit.Key)
		fmt.Fprintln(os.Stderr, "raw stderr line from the test provider")
	case "panic":
		panic("test provider panics on demand")
	case "badipc":
		return errors.New("badipc is handled by the raw server")
	case "badschema", "undeclared":
		return sendOther(out, mode)
	case "full":
		if err := out.Mappings([]sdk.SymbolMapping{{Dataset: "TEST", StypeIn: "raw_symbol", InSymbol: "ESH4", StypeOut: "instrument_id", OutSymbol: "5482", StartDate: "2024-01-02", EndDate: "2024-01-03"}}); err != nil {
			return err
		}
		if err := out.Warn("test warning"); err != nil {
			return err
		}
		if err := out.RowError(sdk.RowError{File: "gen", Line: 7, Message: "bad row on demand", Raw: "x,y,z", Stream: "trades"}); err != nil {
			return err
		}
	}
	w := sdk.NewBatchWriter(out, "trades", TradesSchema, batch)
	defer w.Release()
	g := newGen(w)
	sent := 0
	for sent < rows {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(batch, rows-sent)
		if err := g.rows(n); err != nil {
			return err
		}
		sent += n
		if err := out.Progress(sdk.Progress{Done: int64(sent), Total: int64(rows), HasTotal: true, Unit: sdk.ProgressRecords}); err != nil {
			return err
		}
		switch mode {
		case "crash", "exit0":
			if sent >= rows/2 {
				time.Sleep(50 * time.Millisecond) // let the batches reach the host
				if mode == "crash" {
					os.Exit(3)
				}
				os.Exit(0)
			}
		case "hang":
			select {} // ignore cancellation on purpose
		case "slow":
			rows = sent + batch + 1 // never finish
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		case "error":
			return errors.New("test provider fails on demand")
		}
	}
	return w.Flush()
}

// gen appends generated trades to a BatchWriter through typed builders, as a
// decoder of fixed-layout records would.
type gen struct {
	w                *sdk.BatchWriter
	tsRecv, tsEv, px *array.Int64Builder
	rtype, act, side *array.Uint8Builder
	flags            *array.Uint8Builder
	pub              *array.Uint16Builder
	iid, size, seq   *array.Uint32Builder
	delta            *array.Int32Builder
	i                int64
}

func newGen(w *sdk.BatchWriter) *gen {
	return &gen{
		w:      w,
		tsRecv: w.Field(0).(*array.Int64Builder),
		tsEv:   w.Field(1).(*array.Int64Builder),
		rtype:  w.Field(2).(*array.Uint8Builder),
		pub:    w.Field(3).(*array.Uint16Builder),
		iid:    w.Field(4).(*array.Uint32Builder),
		act:    w.Field(5).(*array.Uint8Builder),
		side:   w.Field(6).(*array.Uint8Builder),
		px:     w.Field(7).(*array.Int64Builder),
		size:   w.Field(8).(*array.Uint32Builder),
		flags:  w.Field(9).(*array.Uint8Builder),
		delta:  w.Field(10).(*array.Int32Builder),
		seq:    w.Field(11).(*array.Uint32Builder),
	}
}

// rows appends n rows. BatchWriter reserves room for a full batch after each
// flush, so UnsafeAppend (no capacity check) is safe: one value per column
// per row, EndRow after each row.
func (g *gen) rows(n int) error {
	const t0 = int64(1704153600000000000) // 2024-01-02T00:00:00Z
	for range n {
		i := g.i
		g.i++
		ts := t0 + i*1000
		g.tsRecv.UnsafeAppend(ts + 150)
		g.tsEv.UnsafeAppend(ts)
		g.rtype.UnsafeAppend(0)
		g.pub.UnsafeAppend(1)
		g.iid.UnsafeAppend(uint32(5482 + i%4))
		g.act.UnsafeAppend('T')
		g.side.UnsafeAppend("AB"[i%2])
		g.px.UnsafeAppend(4_750_250_000_000 + (i%100)*250_000_000)
		g.size.UnsafeAppend(uint32(1 + i%10))
		g.flags.UnsafeAppend(0x80)
		g.delta.UnsafeAppend(int32(i % 1000))
		g.seq.UnsafeAppend(uint32(i))
		if err := g.w.EndRow(); err != nil {
			return err
		}
	}
	return nil
}

func sendOther(out sdk.Sender, mode string) error {
	schema := arrow.NewSchema([]arrow.Field{{Name: "ts_recv", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append("not a timestamp")
	rec := b.NewRecordBatch()
	defer rec.Release()
	stream := "trades"
	if mode == "undeclared" {
		stream = "nope"
	}
	return out.Batch(stream, rec)
}

// rawServer wraps the SDK's server to send bytes the SDK would never send.
type rawServer struct {
	pb.ProviderServer
}

func (s rawServer) Fetch(req *pb.FetchRequest, stream pb.Provider_FetchServer) error {
	if req.GetJob().GetParams()["mode"] == "badipc" {
		return stream.Send(&pb.FetchResponse{Msg: &pb.FetchResponse_Batch{Batch: &pb.RecordBatch{
			Stream: "trades", ArrowIpc: []byte("this is not arrow ipc at all, not even close"), Rows: 1,
		}}})
	}
	return s.ProviderServer.Fetch(req, stream)
}

type rawPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (rawPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterProviderServer(s, rawServer{sdk.NewServer(provider{})})
	return nil
}

func (rawPlugin) GRPCClient(context.Context, *plugin.GRPCBroker, *grpc.ClientConn) (any, error) {
	return nil, errors.New("plugin side only")
}

func main() {
	hs := sdk.Handshake
	if v, err := strconv.Atoi(os.Getenv("HDI_TESTPROVIDER_PROTOCOL")); err == nil {
		hs.ProtocolVersion = uint(v)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins:         plugin.PluginSet{sdk.PluginName: rawPlugin{}},
		GRPCServer:      sdk.NewGRPCServer,
	})
}
