package sdk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	pb "github.com/hdi-dev/hdi/plugins/sdk/providerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ProtocolVersion is the version of the provider protocol this SDK speaks. It
// is the go-plugin handshake's ProtocolVersion and the N in the proto package
// hdi.provider.vN. It changes only when old hosts and old plugins cannot
// understand each other; adding fields does not change it.
const ProtocolVersion = 1

// PluginName is the name under which the provider is registered in the
// go-plugin plugin set.
const PluginName = "provider"

// Handshake is the go-plugin handshake shared by hdi and every provider. The
// magic cookie only tells a plugin it was started by hdi; it is not security.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "HDI_PROVIDER_MAGIC_COOKIE",
	MagicCookieValue: "hdi-provider-plugin",
}

// MaxMessageBytes is the largest gRPC message either side accepts (gRPC's
// default is 4 MiB). Senders split batches well below it (MaxBatchBytes).
const MaxMessageBytes = 512 << 20

// MaxBatchBytes is the size above which the SDK's Sender splits a record
// batch into smaller ones before sending.
const MaxBatchBytes = 64 << 20

const (
	windowBytes   = 16 << 20
	ioBufferBytes = 1 << 20
)

// DialOptions are the gRPC options a host should use to talk to a plugin:
// message limits raised to MaxMessageBytes and transfer windows sized for
// bulk data.
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes)),
		grpc.WithInitialWindowSize(windowBytes), grpc.WithInitialConnWindowSize(windowBytes),
		grpc.WithReadBufferSize(ioBufferBytes), grpc.WithWriteBufferSize(ioBufferBytes),
	}
}

// GRPCPlugin is the go-plugin glue for a Provider. Plugins set Impl (Serve
// does it); hosts set ClientOptions and dispense PluginName to get a *Client.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	// Impl is the provider served (plugin side).
	Impl Provider
	// Client configures the host-side adapter.
	ClientOptions ClientOptions
}

// GRPCServer registers the provider service (plugin side).
func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterProviderServer(s, NewServer(p.Impl))
	return nil
}

// GRPCClient returns a *Client talking to the plugin (host side).
func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return NewClient(conn, p.ClientOptions), nil
}

// Serve runs p as a plugin: it performs the go-plugin handshake on stdout and
// serves the provider over gRPC until hdi stops it. Call it from main; it does
// not return. Run directly (not by hdi), the binary prints a notice and exits 1.
// A plugin whose hdi is gone (killed, crashed) exits within a second: see
// WatchParent.
func Serve(p Provider) {
	go WatchParent(parentPollInterval, func() {
		fmt.Fprintln(processStderr, "hdi provider: the hdi process that started this plugin is gone; exiting")
		os.Exit(1)
	})
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         plugin.PluginSet{PluginName: &GRPCPlugin{Impl: p}},
		GRPCServer:      NewGRPCServer,
		Logger: hclog.New(&hclog.LoggerOptions{
			Name:       "sdk",
			Level:      hclog.Info,
			Output:     processStderr,
			JSONFormat: true,
		}),
	})
}

// parentPollInterval is how often WatchParent looks at the parent process.
const parentPollInterval = 250 * time.Millisecond

// WatchParent calls gone once the process that started this one has exited,
// and returns. It compares the parent process ID with the one at start: a
// process whose parent dies is handed to another (init or a subreaper), so
// the ID changes. hdi also asks Linux to kill its plugins when it dies (the
// parent-death signal); this covers other systems and any gap in that.
func WatchParent(every time.Duration, gone func()) {
	parent := os.Getppid()
	t := time.NewTicker(every)
	defer t.Stop()
	for range t.C {
		if os.Getppid() != parent {
			gone()
			return
		}
	}
}

// NewGRPCServer creates the gRPC server a plugin serves on, with the message
// size limits raised to MaxMessageBytes. It fits plugin.ServeConfig.GRPCServer.
func NewGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts,
		grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes),
		// Bulk transfer over a local socket: big windows and buffers mean
		// fewer flow-control round trips and system calls per batch.
		grpc.InitialWindowSize(windowBytes), grpc.InitialConnWindowSize(windowBytes),
		grpc.WriteBufferSize(ioBufferBytes), grpc.ReadBufferSize(ioBufferBytes))
	return grpc.NewServer(opts...)
}

// NewServer returns the gRPC service implementation backed by p. Serve uses
// it; it is exported for plugins that assemble their own go-plugin server.
func NewServer(p Provider) pb.ProviderServer { return &grpcServer{impl: p} }

// processStderr is the process's real stderr. go-plugin's Serve swaps
// os.Stderr for a pipe it streams to the host; the logger writes to the
// original so the host can parse levels and attributes.
var processStderr = os.Stderr

// Logger returns a logger for use inside a plugin. Records go to the process's
// stderr as JSON lines in hclog's format, which hdi parses and forwards to its
// own log tagged with the plugin's name. Lines written to os.Stderr or
// os.Stdout after Serve starts also reach hdi's log (at info level), so
// fmt.Fprintln(os.Stderr, ...) is not lost either.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(processStderr, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{} // hdi stamps the time itself
			case slog.MessageKey:
				a.Key = "@message"
			case slog.LevelKey:
				a.Key = "@level"
				lvl, _ := a.Value.Any().(slog.Level)
				a.Value = slog.StringValue(hclogLevel(lvl))
			}
			return a
		},
	}))
}

func hclogLevel(l slog.Level) string {
	switch {
	case l < slog.LevelDebug:
		return "trace"
	case l < slog.LevelInfo:
		return "debug"
	case l < slog.LevelWarn:
		return "info"
	case l < slog.LevelError:
		return "warn"
	}
	return "error"
}

// grpcServer adapts a Provider to the generated gRPC server interface.
type grpcServer struct {
	pb.UnimplementedProviderServer
	impl Provider
}

// guard turns a provider panic into an error so one bad call does not take
// the whole plugin process (and every other fetch) down.
func guard(method string, err *error) {
	if r := recover(); r != nil {
		fmt.Fprintf(processStderr, "provider panicked in %s: %v\n%s", method, r, debug.Stack())
		*err = status.Errorf(codes.Internal, "provider panicked in %s: %v (this is a bug in the provider)", method, r)
	}
}

func toStatus(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return status.FromContextError(ctx.Err()).Err()
	}
	return status.Error(codes.Unknown, err.Error())
}

func (s *grpcServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (resp *pb.DescribeResponse, err error) {
	defer guard("Describe", &err)
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	return descriptionToPB(d)
}

func (s *grpcServer) Check(ctx context.Context, req *pb.CheckRequest) (resp *pb.CheckResponse, err error) {
	defer guard("Check", &err)
	r, err := s.impl.Check(ctx, req.GetConfig())
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	if r == nil {
		r = &CheckResult{}
	}
	return &pb.CheckResponse{Warnings: r.Warnings}, nil
}

func (s *grpcServer) Plan(ctx context.Context, req *pb.PlanRequest) (resp *pb.PlanResponse, err error) {
	defer guard("Plan", &err)
	job, err := jobFromPB(req)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	p, err := s.impl.Plan(ctx, job)
	if err != nil {
		return nil, toStatus(ctx, err)
	}
	if p == nil {
		p = &Plan{}
	}
	return planToPB(p)
}

func (s *grpcServer) Fetch(req *pb.FetchRequest, stream pb.Provider_FetchServer) (err error) {
	defer guard("Fetch", &err)
	ctx := stream.Context()
	snd := &streamSender{stream: stream}
	job, err := jobFromPB(req.GetJob())
	if err != nil {
		return toStatus(ctx, err)
	}
	freq := &FetchRequest{Job: job, Unit: unitFromPB(req.GetUnit()), BatchRows: int(req.GetBatchRows()), Checkpoint: req.GetCheckpoint(), Resume: livePositionsFromPB(req.GetResume())}
	if freq.Unit.Params == nil {
		freq.Unit.Params = map[string]string{}
	}
	if err := s.impl.Fetch(ctx, freq, snd); err != nil {
		return toStatus(ctx, err)
	}
	snd.mu.Lock()
	done := &pb.FetchDone{Rows: snd.rows, RowErrors: snd.rowErrors}
	snd.mu.Unlock()
	return snd.send(&pb.FetchResponse{Msg: &pb.FetchResponse_Done{Done: done}})
}

// streamSender is the plugin-side Sender: it serialises to the gRPC stream.
type streamSender struct {
	mu        sync.Mutex
	stream    pb.Provider_FetchServer
	buf       []byte // reused IPC buffer; gRPC has copied it when Send returns
	rows      int64
	rowErrors int64
}

func (s *streamSender) send(m *pb.FetchResponse) error {
	if err := s.stream.Send(m); err != nil {
		return fmt.Errorf("send to hdi: %w", err)
	}
	return nil
}

func (s *streamSender) Batch(stream string, rec arrow.RecordBatch) error {
	if stream == "" {
		return errors.New("send batch: empty stream name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendBatch(stream, rec)
}

func (s *streamSender) sendBatch(stream string, rec arrow.RecordBatch) error {
	var err error
	s.buf, err = AppendBatch(s.buf[:0], rec)
	if err != nil {
		return fmt.Errorf("stream %q: %w", stream, err)
	}
	if len(s.buf) > MaxBatchBytes && rec.NumRows() > 1 {
		// Too big for one message: send it in two halves (recursively).
		half := rec.NumRows() / 2
		a := rec.NewSlice(0, half)
		defer a.Release()
		if err := s.sendBatch(stream, a); err != nil {
			return err
		}
		b := rec.NewSlice(half, rec.NumRows())
		defer b.Release()
		return s.sendBatch(stream, b)
	}
	m := &pb.FetchResponse{Msg: &pb.FetchResponse_Batch{Batch: &pb.RecordBatch{Stream: stream, ArrowIpc: s.buf, Rows: rec.NumRows()}}}
	if err := s.send(m); err != nil {
		return err
	}
	s.rows += rec.NumRows()
	if cap(s.buf) > 4*MaxBatchBytes {
		s.buf = nil // do not pin a huge buffer for the rest of the fetch
	}
	return nil
}

func (s *streamSender) Mappings(ms []SymbolMapping) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.send(&pb.FetchResponse{Msg: &pb.FetchResponse_Mappings{Mappings: mappingsToPB(ms)}})
}

func (s *streamSender) Progress(p Progress) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.send(&pb.FetchResponse{Msg: &pb.FetchResponse_Progress{Progress: progressToPB(p)}})
}

func (s *streamSender) Warn(msg string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.send(&pb.FetchResponse{Msg: &pb.FetchResponse_Warning{Warning: &pb.Warning{Message: msg}}})
}

func (s *streamSender) Checkpoint(state []byte, note string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.send(&pb.FetchResponse{Msg: &pb.FetchResponse_Checkpoint{Checkpoint: &pb.Checkpoint{State: state, Note: note}}})
}

func (s *streamSender) LiveCheckpoint(c LiveCheckpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.send(&pb.FetchResponse{Msg: &pb.FetchResponse_LiveCheckpoint{LiveCheckpoint: liveCheckpointToPB(c)}})
}

func (s *streamSender) RowError(e RowError) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.send(&pb.FetchResponse{Msg: &pb.FetchResponse_RowError{RowError: rowErrorToPB(e)}}); err != nil {
		return err
	}
	s.rowErrors++
	return nil
}
