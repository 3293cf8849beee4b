package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
)

// TestPrintCPUBound: the CPU table gives the server's backends' CPU over all
// of hdi's (plugin and hdi, and their backends), the hdi/server ratio that a
// machine whose cores are the limit allows.
func TestPrintCPUBound(t *testing.T) {
	r := Result{Schema: dbn.SchemaTrades, Rows: 1_000_000,
		HDI: 2 * time.Second, Server: 1600 * time.Millisecond,
		HDICPU: 500 * time.Millisecond, HDIDBCPU: 2500 * time.Millisecond, ServerDBCPU: 2400 * time.Millisecond}
	var b bytes.Buffer
	Print(&b, []Result{r})
	lines := strings.Split(b.String(), "\n")
	var head, row string
	for i, l := range lines {
		if strings.Contains(l, "CPU µs/row") && i+1 < len(lines) {
			head, row = l, lines[i+1]
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(head), "CPU-bound hdi/server") {
		t.Fatalf("CPU table header %q: no CPU-bound hdi/server column last", head)
	}
	f := strings.Fields(row)
	// hdi + plugin 0.50, backends 2.50 µs/row; 2.4 / (0.5 + 2.5) = 0.80;
	// hdi's backends / server's 2.5 / 2.4 = 1.04.
	if len(f) < 2 || f[1] != "0.50" || f[2] != "2.50" || f[len(f)-2] != "1.04" || f[len(f)-1] != "0.80" {
		t.Fatalf("CPU row %q: want hdi + plugin 0.50, backends 2.50, backends/server 1.04 and CPU-bound 0.80", row)
	}
}
