package dbn

import (
	"errors"
	"fmt"
)

// Error kinds, for errors.Is on a *DecodeError.
var (
	ErrBadMagic           = errors.New("not a DBN stream")
	ErrUnsupportedVersion = errors.New("unsupported DBN version")
	ErrTruncatedMetadata  = errors.New("truncated metadata")
	ErrCorruptMetadata    = errors.New("corrupt metadata")
	ErrTruncatedRecord    = errors.New("truncated record")
	ErrBadRecordLength    = errors.New("bad record length")
	ErrCorruptZstd        = errors.New("corrupt zstd stream")
)

// DecodeError reports malformed input: where (the byte offset in the
// decompressed DBN stream), what kind of problem, and what was expected.
type DecodeError struct {
	// Offset is the byte offset in the (decompressed) DBN stream.
	Offset int64
	// Kind is one of the Err* values above.
	Kind error
	// Msg says what was found and what was expected.
	Msg string
	// Err is an underlying error, if any (e.g. from the zstd decoder).
	Err error
}

func (e *DecodeError) Error() string {
	s := fmt.Sprintf("dbn: %v at byte offset %d: %s", e.Kind, e.Offset, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches the error's kind.
func (e *DecodeError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }
