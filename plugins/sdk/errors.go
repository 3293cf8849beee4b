package sdk

import (
	"errors"
	"fmt"
	"time"

	pb "github.com/hdi-dev/hdi/plugins/sdk/providerpb"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorKind tells the host what a provider's failure means for a retry. It
// crosses the plugin boundary as the ProviderError detail of the gRPC
// status; the host decides from it alone, never from the message text.
type ErrorKind int

// Error kinds. The zero kind reads as ErrorPermanent.
const (
	// ErrorPermanent: trying again cannot help (bad parameters, a malformed
	// source file).
	ErrorPermanent ErrorKind = iota + 1
	// ErrorRetryable: transient (a cut stream, a server error that outlasted
	// the provider's own retries); the host retries the unit.
	ErrorRetryable
	// ErrorAuth: the credentials are missing, wrong or not entitled.
	ErrorAuth
	// ErrorNotFound: the requested data or resource does not exist.
	ErrorNotFound
	// ErrorRateLimited: the source asks to slow down; the host retries
	// after Error.RetryAfter.
	ErrorRateLimited
)

// String returns the kind's name as the proto writes it, lower case.
func (k ErrorKind) String() string {
	switch k {
	case ErrorRetryable:
		return "retryable"
	case ErrorAuth:
		return "auth"
	case ErrorNotFound:
		return "not_found"
	case ErrorRateLimited:
		return "rate_limited"
	}
	return "permanent"
}

// Retry reports whether a failure of this kind may succeed when tried again.
func (k ErrorKind) Retry() bool { return k == ErrorRetryable || k == ErrorRateLimited }

// Error is a provider's error with its kind. Return one (or wrap one) from
// any Provider method; the SDK sends the kind, the retry delay and the field
// to the host, and the host's client gives back an *Error with the same.
type Error struct {
	Kind ErrorKind
	// RetryAfter is how long to wait before retrying (ErrorRateLimited).
	RetryAfter time.Duration
	// Field names the job field the error is about ("dataset", "symbols",
	// "stype_in", "start", "params.parts", "config.api_key", ...), or "".
	// The host shows it as the user wrote it: a job file's key and line, or
	// a flag. Messages of field errors should not name the field again.
	Field string
	// Msg is the message; when empty, Err's message is used.
	Msg string
	// Err is the cause (inside the provider; it does not cross the wire).
	Err error
}

// Error returns the message.
func (e *Error) Error() string {
	if e.Msg == "" && e.Err != nil {
		return e.Err.Error()
	}
	return e.Msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus is how the error crosses the wire: a status code that fits the
// kind, the message, and a ProviderError detail.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(kindCode(e.Kind, e.Field), e.Error())
	detail := &pb.ProviderError{Kind: pb.ErrorKind(e.kind()), RetryAfterMs: e.RetryAfter.Milliseconds(), Field: e.Field}
	if with, err := st.WithDetails(detail); err == nil {
		return with
	}
	return st
}

func (e *Error) kind() ErrorKind {
	if e.Kind == 0 {
		return ErrorPermanent
	}
	return e.Kind
}

// kindCode is the gRPC code sent with an error of kind k. Only the detail
// counts for the host; the code is for generic gRPC tools.
func kindCode(k ErrorKind, field string) codes.Code {
	switch k {
	case ErrorRetryable:
		return codes.Aborted
	case ErrorAuth:
		return codes.Unauthenticated
	case ErrorNotFound:
		return codes.NotFound
	case ErrorRateLimited:
		return codes.ResourceExhausted
	}
	if field != "" {
		return codes.InvalidArgument
	}
	return codes.FailedPrecondition
}

func newError(kind ErrorKind, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Kind, c.Msg, c.Err = kind, err.Error(), err
		return &c
	}
	return &Error{Kind: kind, Err: err}
}

// Permanent marks err as a failure that a retry cannot mend.
func Permanent(err error) error { return newError(ErrorPermanent, err) }

// Retryable marks err as transient: the host retries the unit.
func Retryable(err error) error { return newError(ErrorRetryable, err) }

// AuthError marks err as a credentials problem.
func AuthError(err error) error { return newError(ErrorAuth, err) }

// NotFound marks err as data or a resource that does not exist.
func NotFound(err error) error { return newError(ErrorNotFound, err) }

// RateLimited marks err as the source asking to slow down; the host retries
// after the given delay (0: its own backoff).
func RateLimited(err error, after time.Duration) error {
	e := newError(ErrorRateLimited, err)
	e.RetryAfter = after
	return e
}

// FieldError is a permanent error about one job field (see Error.Field).
// The message should say what is wrong and what to write instead, without
// naming the field: the host prefixes it as the user wrote it.
func FieldError(field, format string, args ...any) error {
	return &Error{Kind: ErrorPermanent, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// KindOf returns the kind of err and, for ErrorRateLimited, the delay: from
// the first *Error in its chain, else ErrorPermanent.
func KindOf(err error) (ErrorKind, time.Duration) {
	var e *Error
	if errors.As(err, &e) {
		return e.kind(), e.RetryAfter
	}
	return ErrorPermanent, 0
}

// FieldOf returns the job field err is about, or "".
func FieldOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// TooManyUnits is Plan's refusal of a job whose plan would have more units
// than Job.MaxUnits. A provider counts its units first (timerange.Count
// times its symbol groups) and returns this instead of building them; the
// host turns it into one line that names the chunk length that would fit.
type TooManyUnits struct {
	// Units is how many units the plan would have.
	Units int64
	// UnitsPerChunk is how many units each chunk of time makes (one per
	// symbol group, say): a chunk length that cuts the job's range into C
	// chunks makes UnitsPerChunk * C units. 0 when the count does not
	// follow the chunk length (files).
	UnitsPerChunk int64
	// Chunk is the chunk length the plan used: the job's, or the
	// provider's default when the job sets none.
	Chunk timerange.Chunk
}

func (e *TooManyUnits) Error() string {
	return fmt.Sprintf("the plan would have %d units, more than the job's max_units", e.Units)
}

// GRPCStatus carries the refusal as a permanent ProviderError with its
// too_many_units detail.
func (e *TooManyUnits) GRPCStatus() *status.Status {
	st := status.New(codes.FailedPrecondition, e.Error())
	detail := &pb.ProviderError{Kind: pb.ErrorKind(ErrorPermanent), TooManyUnits: &pb.TooManyUnits{
		Units: e.Units, UnitsPerChunk: e.UnitsPerChunk, Chunk: chunkToPB(e.Chunk),
	}}
	if with, err := st.WithDetails(detail); err == nil {
		return with
	}
	return st
}

// fromStatus rebuilds a provider's error from a gRPC status that carries a
// ProviderError detail: a *TooManyUnits, else an *Error. ok is false
// without the detail.
func fromStatus(st *status.Status) (error, bool) {
	for _, d := range st.Details() {
		if pe, isPE := d.(*pb.ProviderError); isPE {
			if tm := pe.GetTooManyUnits(); tm != nil {
				chunk, _ := chunkFromPB(tm.GetChunk()) // only for the message: an odd length reads as unset
				return &TooManyUnits{Units: tm.GetUnits(), UnitsPerChunk: tm.GetUnitsPerChunk(), Chunk: chunk}, true
			}
			return &Error{
				Kind:       ErrorKind(pe.GetKind()),
				RetryAfter: time.Duration(pe.GetRetryAfterMs()) * time.Millisecond,
				Field:      pe.GetField(),
				Msg:        st.Message(),
			}, true
		}
	}
	return nil, false
}
