package status

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/internal/dbq"
)

// StreamStaleAfter is how old a live stream's heartbeat may be for it to
// count as running: `hdi stream` beats every 5s.
const StreamStaleAfter = 30 * time.Second

// DefaultWorkerStaleAfter is how old a worker's heartbeat may be for it to
// count as alive when worker.rescue_after is not given (its default).
const DefaultWorkerStaleAfter = 30 * time.Second

// Streams reads every live stream with its totals ('dead' when its
// process stopped beating without saying so).
func Streams(ctx context.Context, db dbq.DBTX) ([]dbq.LiveStreamsRow, error) {
	rows, err := dbq.New(db).LiveStreams(ctx, StreamStaleAfter.Seconds())
	if err != nil {
		return nil, fmt.Errorf("read the live streams: %w", err)
	}
	return rows, nil
}

// StreamLine says, on one line, where a live stream is: its state, the
// last committed record's time, the lag behind the source, rows per
// second, reconnects and backfills, and who runs it.
func StreamLine(s dbq.LiveStreamsRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", s.Name, s.State)
	if s.LastTsNs > 0 {
		fmt.Fprintf(&b, ", last record %s", time.Unix(0, s.LastTsNs).UTC().Format(time.RFC3339Nano))
	}
	if s.LagSeconds >= 0 && running(s.State) {
		fmt.Fprintf(&b, ", lag %s", (time.Duration(s.LagSeconds * float64(time.Second))).Round(time.Millisecond))
	}
	if running(s.State) {
		fmt.Fprintf(&b, ", %.0f rows/s", s.RowsPerS)
	}
	fmt.Fprintf(&b, ", %d rows, %d reconnects, %d gaps backfilled", s.RowsTotal, s.Reconnects, s.GapsBackfilled)
	if s.RunID != nil {
		fmt.Fprintf(&b, ", run %d", *s.RunID)
	}
	if s.Pid != nil && s.Host != nil && running(s.State) {
		fmt.Fprintf(&b, ", pid %d on %s", *s.Pid, *s.Host)
	}
	if s.Error != nil && *s.Error != "" {
		fmt.Fprintf(&b, ", error: %s", *s.Error)
	}
	return b.String()
}

func running(state string) bool {
	switch state {
	case "stopped", "failed", "dead":
		return false
	}
	return true
}
