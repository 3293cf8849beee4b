package dbprov

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RetryableCode is the gRPC status code of errors after which the runner
// should retry the whole unit later (rate limits and server errors that
// outlasted the provider's own retries, connection failures, a stream cut
// after rows were sent). The message of such an error also starts with
// RetryablePrefix. Every other error (bad parameters, authentication,
// entitlements) will fail again the same way and must not be retried.
const RetryableCode = codes.Aborted

// RetryablePrefix starts the message of every retryable error.
const RetryablePrefix = "retryable: "

// Error is an error of this provider carrying a gRPC status code, which
// survives the plugin boundary (the host sees it through status.Code).
type Error struct {
	Code codes.Code
	Msg  string
	Err  error // cause, for errors.Is/As inside the plugin
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// GRPCStatus makes the code cross the plugin boundary.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Msg) }

// Retryable reports whether err says the unit may succeed if retried.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Code == RetryableCode
	}
	return status.Code(err) == RetryableCode
}

func retryableErr(cause error, format string, args ...any) error {
	return &Error{Code: RetryableCode, Msg: RetryablePrefix + fmt.Sprintf(format, args...), Err: cause}
}

func invalidArg(format string, args ...any) error {
	return &Error{Code: codes.InvalidArgument, Msg: fmt.Sprintf(format, args...)}
}

// APIError is an HTTP error response from the Databento API.
type APIError struct {
	Endpoint string // e.g. "timeseries.get_range"
	Status   int
	Detail   string // Databento's "detail", verbatim
}

func (e *APIError) Error() string {
	return fmt.Sprintf("databento %s: HTTP %d: %s", e.Endpoint, e.Status, e.Detail)
}

// parseDetail extracts the "detail" of a JSON error body, or the body text.
func parseDetail(body []byte) string {
	var v struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil && len(v.Detail) > 0 {
		var s string
		if json.Unmarshal(v.Detail, &s) == nil {
			return s
		}
		return string(v.Detail)
	}
	t := strings.TrimSpace(string(body))
	if len(t) > 300 {
		t = t[:300] + "..."
	}
	if t == "" {
		return "(no detail in the response)"
	}
	return t
}

var apiParams = []string{"dataset", "symbols", "schema", "stype_in", "stype_out", "start", "end", "limit"}

// fixHint says what the user should change for a non-retryable API error.
func fixHint(e *APIError) string {
	d := strings.ToLower(e.Detail)
	switch e.Status {
	case 401:
		return "check the API key (DATABENTO_API_KEY or the provider config api_key)"
	case 402:
		return "check the payment details of the Databento account"
	case 403:
		return "the API key lacks the entitlement: check the dataset and schema, or the key's permissions in the Databento portal"
	}
	for _, p := range apiParams {
		if strings.Contains(d, p) {
			return "fix the " + p + " parameter"
		}
	}
	switch e.Status {
	case 404:
		return "check the dataset and symbols parameters"
	case 409:
		return "the request conflicts with an existing resource"
	}
	return "fix the job's parameters (dataset, schema, symbols, stype_in, stype_out, start, end, limit)"
}

// classify turns an APIError that will not be retried into an Error with a
// gRPC code and a message that quotes the detail and names what to fix.
func classify(e *APIError) error {
	code := codes.InvalidArgument
	switch e.Status {
	case 401:
		code = codes.Unauthenticated
	case 402, 403:
		code = codes.PermissionDenied
	case 404:
		code = codes.NotFound
	case 409:
		code = codes.AlreadyExists
	}
	return &Error{Code: code, Msg: fmt.Sprintf("databento %s: HTTP %d: %q: %s", e.Endpoint, e.Status, e.Detail, fixHint(e)), Err: e}
}

// retryableStatus reports whether an HTTP status is worth retrying.
func retryableStatus(code int) bool {
	return code == 408 || code == 429 || code >= 500
}
