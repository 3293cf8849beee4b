package runner

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Retryable reports whether a unit that failed with err may succeed if
// tried again, and how long the source asked to wait (0: the runner's own
// backoff). It decides from types alone, never from message text:
//   - the database: a lost connection, a server restart, a serialization
//     failure or deadlock (SQLSTATE classes);
//   - the plugin process: it crashed, hung, or its stream broke off (it is
//     restarted for the retry);
//   - the provider's own error: its kind on the wire (retryable,
//     rate_limited with its delay; permanent, auth and not_found are not
//     retried).
func Retryable(err error) (bool, time.Duration) {
	if err == nil || errors.Is(err, ErrInterrupted) || errors.Is(err, context.Canceled) {
		return false, 0
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03", // shutdown, crash, cannot connect now
			pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return true, 0
		}
		return false, 0
	}
	var fe *pluginhost.FetchError
	if errors.As(err, &fe) {
		switch fe.Kind {
		case pluginhost.FailCrashed, pluginhost.FailHung, pluginhost.FailIncomplete, pluginhost.FailTransport:
			return true, 0
		case pluginhost.FailReceiver:
			return Retryable(fe.Err) // our own (database) error, raised while loading
		case pluginhost.FailProvider:
			kind, after := sdk.KindOf(fe.Err)
			return kind.Retry(), after
		}
		return false, 0
	}
	var se *sdk.Error
	if errors.As(err, &se) { // an in-process provider
		kind, after := sdk.KindOf(se)
		return kind.Retry(), after
	}
	var netErr net.Error
	if errors.As(err, &netErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true, 0
	}
	return false, 0
}
