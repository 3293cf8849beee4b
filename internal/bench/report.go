package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
)

// Targets the report checks (see docs/BENCHMARKS.md).
const (
	TargetVsBare = 1.2 // hdi rows/s at least this multiple of bare CopyFrom
	TargetVsPsql = 1.2 // and of psql \copy
	TargetRSS    = 300 << 20
)

// TargetVsServer is the share of two sessions of server-side COPY (the
// database's own limit) hdi reaches at least: all of it, but for mbp-10,
// whose wide rows (76 columns) cost the client most, 0.9.
func TargetVsServer(s dbn.Schema) float64 {
	if s == dbn.SchemaMbp10 {
		return 0.9
	}
	return 1.0
}

// Print writes the results as a table, with the ratios and whether each
// target is met.
func Print(w io.Writer, results []Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "schema\trows\thdi rows/s\tbare CopyFrom rows/s\tpsql \\copy rows/s\tserver COPY x2 rows/s\thdi/bare\thdi/psql\thdi/server\thdi CPU s\thdi peak RSS\tplugin peak RSS\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t\n", r.Schema, r.Rows,
			rate(r, r.HDI), rate(r, r.Bare), rate(r, r.Psql), rate(r, r.Server),
			ratio(r.Bare, r.HDI, TargetVsBare), ratio(r.Psql, r.HDI, TargetVsPsql), ratio(r.Server, r.HDI, TargetVsServer(r.Schema)),
			r.HDICPU.Seconds(), mb(r.HDIPeakRSS), mb(r.PluginPeakRSS))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "CPU µs/row\thdi + plugin\thdi's backends\tbare's backend\tpsql's backend\tserver COPY x2 backends\thdi's backends / server's\tCPU-bound hdi/server\t")
	for _, r := range results {
		// CPU-bound hdi/server: the server's backends' CPU over all of
		// hdi's (client and backends), the ratio a machine whose cores are
		// the limit allows (on 2 cores the measured hdi/server follows it).
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Schema, perRow(r, r.HDICPU), perRow(r, r.HDIDBCPU), perRow(r, r.BareDBCPU),
			perRow(r, r.PsqlDBCPU), perRow(r, r.ServerDBCPU), ratio(r.HDIDBCPU, r.ServerDBCPU, 0), ratio(r.ServerDBCPU, r.HDICPU+r.HDIDBCPU, 0))
	}
	tw.Flush()
	for _, r := range results {
		if r.HDIPeakRSS > TargetRSS || r.PluginPeakRSS > TargetRSS {
			fmt.Fprintf(w, "%s: peak RSS over the %d MB target\n", r.Schema, TargetRSS>>20)
		}
	}
}

func rate(r Result, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", r.Rate(d))
}

// ratio is base/d (rows/s of d over rows/s of base), marked when under target.
func ratio(base, d time.Duration, target float64) string {
	if base <= 0 || d <= 0 {
		return "-"
	}
	x := base.Seconds() / d.Seconds()
	mark := ""
	if x < target {
		mark = " (<" + fmt.Sprint(target) + ")"
	}
	return fmt.Sprintf("%.2f%s", x, mark)
}

// perRow is d per row in µs.
func perRow(r Result, d time.Duration) string {
	if d <= 0 || r.Rows <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", d.Seconds()*1e6/float64(r.Rows))
}

func mb(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
}
