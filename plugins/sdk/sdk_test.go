package sdk

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	pb "github.com/hdi-dev/hdi/plugins/sdk/providerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: arrow.PrimitiveTypes.Int64},
	{Name: "sym", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

type memProvider struct{ rows int }

func (memProvider) Describe(context.Context) (*Description, error) {
	return &Description{Name: "mem", Version: "1", Streams: []Stream{{Name: "s", Schema: testSchema}}}, nil
}

func (memProvider) Check(_ context.Context, cfg map[string]string) (*CheckResult, error) {
	if cfg["key"] == "" {
		return nil, errors.New("key is missing: set key")
	}
	return &CheckResult{}, nil
}

func (memProvider) Plan(_ context.Context, j *Job) (*Plan, error) {
	return &Plan{Units: []Unit{{Key: "k", EstimatedRows: Int64(0)}}, Warnings: []string{"w"}}, nil
}

func (m memProvider) Fetch(_ context.Context, req *FetchRequest, out Sender) error {
	w := NewBatchWriter(out, "s", testSchema, req.BatchRows)
	defer w.Release()
	ts := w.Field(0).(*array.Int64Builder)
	sym := w.Field(1).(*array.StringBuilder)
	for i := range m.rows {
		ts.Append(int64(i))
		if i%3 == 0 {
			sym.AppendNull()
		} else {
			sym.Append("X")
		}
		if err := w.EndRow(); err != nil {
			return err
		}
	}
	return w.Flush()
}

// dial runs p behind a real gRPC server over an in-memory connection.
func dial(t *testing.T, p Provider) *Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := NewGRPCServer(nil)
	pb.RegisterProviderServer(srv, NewServer(p))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///mem",
		append(DialOptions(),
			grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) { return lis.Dial() }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return NewClient(conn, ClientOptions{})
}

func TestRoundTrip(t *testing.T) {
	c := dial(t, memProvider{rows: 1000})
	ctx := context.Background()
	d, err := c.Describe(ctx)
	if err != nil || d.ProtocolVersion != ProtocolVersion || SchemaMismatch(testSchema, d.Streams[0].Schema) != "" {
		t.Fatalf("describe %+v %v", d, err)
	}
	_, err = c.Check(ctx, nil)
	if err == nil || err.Error() != "key is missing: set key" {
		t.Fatalf("check error %v, want the provider's message", err)
	}
	plan, err := c.Plan(ctx, &Job{})
	if err != nil || plan.Units[0].EstimatedRows == nil || *plan.Units[0].EstimatedRows != 0 || plan.Units[0].EstimatedBytes != nil {
		t.Fatalf("plan %+v %v: unknown and zero estimates must stay distinct", plan, err)
	}
	var col Collector
	defer col.Release()
	if err := c.Fetch(ctx, &FetchRequest{Job: &Job{}, BatchRows: 300}, &col); err != nil {
		t.Fatal(err)
	}
	if col.Rows["s"] != 1000 || len(col.Batches["s"]) != 4 {
		t.Fatalf("%d rows in %d batches", col.Rows["s"], len(col.Batches["s"]))
	}
	if !col.Batches["s"][0].Column(1).IsNull(0) {
		t.Error("null lost in transit")
	}
}

type failingSender struct{ Collector }

func (*failingSender) Batch(string, arrow.RecordBatch) error { return errors.New("disk full") }

func TestReceiverError(t *testing.T) {
	c := dial(t, memProvider{rows: 10})
	err := c.Fetch(context.Background(), &FetchRequest{Job: &Job{}}, &failingSender{})
	var re *ReceiverError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v, want a ReceiverError", err)
	}
}

func TestBatchWriterCatchesUnevenColumns(t *testing.T) {
	var col Collector
	w := NewBatchWriter(&col, "s", testSchema, 10)
	defer w.Release()
	w.Field(0).(*array.Int64Builder).Append(1)
	if err := w.EndRow(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), `column "sym"`) {
		t.Fatalf("flush error %v", err)
	}
}

func TestDecodeGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("garbage"), {0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2}} {
		if _, err := DecodeBatches(b, func(arrow.RecordBatch) error { return nil }); err == nil {
			t.Errorf("DecodeBatches(%q) accepted garbage", b)
		}
	}
}
