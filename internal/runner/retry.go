package runner

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/hdi-dev/hdi/internal/pluginhost"
)

// Retryable reports whether a unit that failed with err may succeed if tried
// again: the database connection was lost or the server restarted, or the
// provider's stream was cut or the provider says the failure is transient.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, ErrInterrupted) || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutdown, crash, cannot connect now
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return true
		}
		return false
	}
	// A provider's failure: transient when the plugin process crashed or
	// hung or its stream broke off (it is restarted for the retry), or when the provider marks it so
	// with gRPC code Aborted (a stream cut, a 429 or 5xx that outlasted its
	// own retries). Its message text is not evidence: a truncated file says
	// "unexpected EOF" too, and retrying it cannot help.
	var fe *pluginhost.FetchError
	if errors.As(err, &fe) {
		switch fe.Kind {
		case pluginhost.FailCrashed, pluginhost.FailHung, pluginhost.FailIncomplete, pluginhost.FailTransport:
			return true
		case pluginhost.FailReceiver:
			return Retryable(fe.Err) // our own (database) error, raised while loading
		}
		return status.Code(fe.Err) == codes.Aborted
	}
	if status.Code(err) == codes.Aborted {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"unexpected EOF", "connection reset", "broken pipe", "conn closed", "(retryable)"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
