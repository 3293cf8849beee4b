package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	pb "github.com/hdi-dev/hdi/plugins/sdk/providerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ClientOptions configures the host-side adapter.
type ClientOptions struct {
	// HangTimeout bounds the wait for each message of a Fetch stream and for
	// each unary call. Zero means no bound.
	HangTimeout time.Duration
}

// Client is the host side of the contract: it implements Provider by calling
// a plugin over gRPC. Fetch decodes and validates each record batch before
// handing it on: bytes that are not Arrow IPC, or a schema that differs from
// the stream's declared one, fail the fetch with ErrMalformedBatch. A Client
// is safe for concurrent use.
type Client struct {
	rpc  pb.ProviderClient
	opts ClientOptions

	mu   sync.Mutex
	desc *Description // cached Describe, for schema validation
}

var _ Provider = (*Client)(nil)

// NewClient returns a Client over conn.
func NewClient(conn grpc.ClientConnInterface, opts ClientOptions) *Client {
	return &Client{rpc: pb.NewProviderClient(conn), opts: opts}
}

// remoteErr turns a gRPC error into the provider's *Error: with the kind
// and field of its ProviderError detail (a *TooManyUnits when it carries
// one), or permanent without one.
// Transport failures (Unavailable, cancellation) keep their gRPC form, so
// the host can tell a dead plugin from a provider's own error.
func remoteErr(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	if e, ok := fromStatus(st); ok {
		return e
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.Unimplemented:
		return err
	}
	return &Error{Kind: ErrorPermanent, Msg: strings.TrimSpace(st.Message())}
}

func (c *Client) unaryCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.opts.HangTimeout > 0 {
		return context.WithTimeoutCause(ctx, c.opts.HangTimeout, ErrNoMessage)
	}
	return context.WithCancel(ctx)
}

// unaryErr explains a failed unary call.
func (c *Client) unaryErr(ctx, callCtx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(context.Cause(callCtx), ErrNoMessage) {
		return fmt.Errorf("%w (%s)", ErrNoMessage, c.opts.HangTimeout)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", context.Cause(ctx), err)
	}
	return remoteErr(err)
}

// Describe implements Provider. The result is cached for schema validation.
func (c *Client) Describe(ctx context.Context) (*Description, error) {
	cctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	r, err := c.rpc.Describe(cctx, &pb.DescribeRequest{})
	if err != nil {
		return nil, c.unaryErr(ctx, cctx, err)
	}
	d, err := descriptionFromPB(r)
	if err != nil {
		return nil, fmt.Errorf("%w: describe: %w", ErrMalformedBatch, err)
	}
	c.mu.Lock()
	c.desc = d
	c.mu.Unlock()
	return d, nil
}

func (c *Client) description(ctx context.Context) (*Description, error) {
	c.mu.Lock()
	d := c.desc
	c.mu.Unlock()
	if d != nil {
		return d, nil
	}
	return c.Describe(ctx)
}

// Check implements Provider.
func (c *Client) Check(ctx context.Context, config map[string]string) (*CheckResult, error) {
	cctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	r, err := c.rpc.Check(cctx, &pb.CheckRequest{Config: config})
	if err != nil {
		return nil, c.unaryErr(ctx, cctx, err)
	}
	return &CheckResult{Warnings: r.GetWarnings()}, nil
}

// Plan implements Provider. It returns as soon as ctx is done: decoding a
// plan of a million units takes seconds and cannot be interrupted, so it
// finishes in the background and its result is dropped.
func (c *Client) Plan(ctx context.Context, job *Job) (*Plan, error) {
	type result struct {
		p   *Plan
		err error
	}
	done := make(chan result, 1)
	go func() {
		p, err := c.plan(ctx, job)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		return r.p, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("plan: %w", context.Cause(ctx))
	}
}

func (c *Client) plan(ctx context.Context, job *Job) (*Plan, error) {
	cctx, cancel := c.unaryCtx(ctx)
	defer cancel()
	r, err := c.rpc.Plan(cctx, jobToPB(job))
	if err != nil {
		return nil, c.unaryErr(ctx, cctx, err)
	}
	p, err := planFromPB(r)
	if err != nil {
		return nil, fmt.Errorf("plan: invalid schema from plugin: %w", err)
	}
	return p, nil
}

// Fetch implements Provider: it streams one unit from the plugin into out.
// It returns nil only when the plugin completed the unit (its FetchDone
// arrived and the row counts agree); any other outcome is an error and the
// caller must discard what out received for the unit.
func (c *Client) Fetch(ctx context.Context, req *FetchRequest, out Sender) error {
	desc, err := c.description(ctx)
	if err != nil {
		return fmt.Errorf("describe before fetch: %w", err)
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var timer *time.Timer
	if c.opts.HangTimeout > 0 {
		timer = time.AfterFunc(c.opts.HangTimeout, func() { cancel(ErrNoMessage) })
		defer timer.Stop()
	}
	preq := &pb.FetchRequest{Job: jobToPB(req.Job), Unit: unitToPB(&req.Unit), BatchRows: int32(req.BatchRows), Checkpoint: req.Checkpoint, Resume: livePositionsToPB(req.Resume)}
	stream, err := c.rpc.Fetch(sctx, preq)
	if err != nil {
		return c.streamErr(ctx, sctx, err)
	}
	st := fetchState{desc: desc, out: out, seen: map[string]*arrow.Schema{}}
	for {
		msg, err := stream.Recv()
		if timer != nil {
			timer.Stop() // the receiver's time does not count as a hang
		}
		if err != nil {
			if err == io.EOF {
				if ctx.Err() == nil && context.Cause(sctx) == nil {
					return fmt.Errorf("%w: the plugin closed the stream without its completion message", ErrIncomplete)
				}
			}
			return c.streamErr(ctx, sctx, err)
		}
		if done := msg.GetDone(); done != nil {
			if done.GetRows() != st.rows || done.GetRowErrors() != st.rowErrors {
				return fmt.Errorf("%w: the plugin reports %d rows and %d row errors, %d and %d arrived",
					ErrIncomplete, done.GetRows(), done.GetRowErrors(), st.rows, st.rowErrors)
			}
			if _, err := stream.Recv(); err != io.EOF {
				if err == nil {
					return fmt.Errorf("%w: message after the completion message", ErrMalformedBatch)
				}
				return c.streamErr(ctx, sctx, err)
			}
			return nil
		}
		if err := st.handle(msg); err != nil {
			return err
		}
		if timer != nil {
			timer.Reset(c.opts.HangTimeout)
		}
	}
}

// streamErr explains why a Fetch stream failed.
func (c *Client) streamErr(ctx, sctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("fetch stopped: %w", context.Cause(ctx))
	case errors.Is(context.Cause(sctx), ErrNoMessage):
		return fmt.Errorf("%w (%s)", ErrNoMessage, c.opts.HangTimeout)
	}
	return remoteErr(err)
}

// ReceiverError wraps an error returned by the host's Sender during a Fetch,
// so callers can tell it from a plugin failure.
type ReceiverError struct{ Err error }

// Error describes the receiver's failure.
func (e *ReceiverError) Error() string { return "receiver: " + e.Err.Error() }

// Unwrap returns the receiver's error.
func (e *ReceiverError) Unwrap() error { return e.Err }

type fetchState struct {
	desc      *Description
	out       Sender
	seen      map[string]*arrow.Schema // schema of each stream so far
	rows      int64
	rowErrors int64
}

func (st *fetchState) handle(msg *pb.FetchResponse) error {
	var err error
	switch m := msg.GetMsg().(type) {
	case *pb.FetchResponse_Batch:
		return st.batch(m.Batch)
	case *pb.FetchResponse_Mappings:
		err = st.out.Mappings(mappingsFromPB(m.Mappings))
	case *pb.FetchResponse_Progress:
		err = st.out.Progress(progressFromPB(m.Progress))
	case *pb.FetchResponse_Warning:
		err = st.out.Warn(m.Warning.GetMessage())
	case *pb.FetchResponse_RowError:
		st.rowErrors++
		err = st.out.RowError(rowErrorFromPB(m.RowError))
	case *pb.FetchResponse_Checkpoint:
		err = st.out.Checkpoint(m.Checkpoint.GetState(), m.Checkpoint.GetNote())
	case *pb.FetchResponse_LiveCheckpoint:
		err = st.out.LiveCheckpoint(liveCheckpointFromPB(m.LiveCheckpoint))
	default:
		// A message type from a newer protocol revision: ignore it.
		return nil
	}
	if err != nil {
		return &ReceiverError{err}
	}
	return nil
}

func (st *fetchState) batch(b *pb.RecordBatch) error {
	name := b.GetStream()
	declared, ok := st.desc.Stream(name)
	if !ok {
		return fmt.Errorf("%w: batch for stream %q, which the provider does not declare in Describe", ErrMalformedBatch, name)
	}
	want := declared.Schema
	if want == nil {
		want = st.seen[name]
	}
	var rows int64
	var recvErr error
	_, err := DecodeBatches(b.GetArrowIpc(), func(rec arrow.RecordBatch) error {
		if want == nil {
			want = rec.Schema()
			st.seen[name] = want
		}
		if d := SchemaMismatch(want, rec.Schema()); d != "" {
			return fmt.Errorf("%w: stream %q: schema differs from the declared one: %s", ErrMalformedBatch, name, d)
		}
		rows += rec.NumRows()
		if err := st.out.Batch(name, rec); err != nil {
			recvErr = &ReceiverError{err}
			return recvErr
		}
		return nil
	})
	if recvErr != nil {
		return recvErr
	}
	if err != nil {
		if errors.Is(err, ErrMalformedBatch) {
			return err
		}
		return fmt.Errorf("%w: stream %q: %w", ErrMalformedBatch, name, err)
	}
	if rows != b.GetRows() {
		return fmt.Errorf("%w: stream %q: message says %d rows, the Arrow data holds %d", ErrMalformedBatch, name, b.GetRows(), rows)
	}
	st.rows += rows
	return nil
}
