package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/query"
	sqlfiles "github.com/hdi-dev/hdi/sql"
)

// AnalyticsConfig is the benchmark of the indicator queries
// (sql/queries/indicators.sql) over one-minute bars: Symbols symbols of a
// year's weekday bars each (23 hours a day, about 360k bars a symbol).
type AnalyticsConfig struct {
	AdminURL, BinDir string
	Symbols          []int // symbol counts, one data set each
	Repeat           int
	Queries          []string // default: all of analyticsQueries
	NoJIT            bool     // SET jit = off for every timed statement
	TradesPerBar     int      // trades a minute, Vwap's input (default 1)
	Log              io.Writer
}

// AnalyticsResult is one query at one size: the query, a plain SELECT of
// its input rows, and the same rows pulled and computed in Go, each the
// median of the rounds (wall time until the last row is read). SQLCPU and
// SelectCPU are the server backend's CPU time (user + system, procCPU) for
// the query and the SELECT, medians too; 0 when the server's processes
// cannot be read (not on this machine). On a shared
// machine CPU time is steadier than wall time.
type AnalyticsResult struct {
	Query, Size           string
	Rows, InputRows       int64
	SQL, Select, GoClient time.Duration
	SQLCPU, SelectCPU     time.Duration
}

// The queries and their parameters; every bar query reads ohlcv_1m.
var analyticsQueries = []struct {
	name   string
	trades bool
	params map[string]string
}{
	{"Vwap", true, nil},
	{"Returns", false, map[string]string{"interval": "'1m'"}},
	{"RealizedVol", false, map[string]string{"interval": "'1m'", "n": "20"}},
	{"MovingAverages", false, map[string]string{"interval": "'1m'", "n": "20"}},
	{"RsiAtr", false, map[string]string{"interval": "'1m'", "n": "14"}},
}

const (
	anDataset = "BENCH"
	anStart   = "2023-01-01T00:00:00Z"
	anEnd     = "2024-01-01T00:00:00Z"
)

// RunAnalytics creates a fresh database per size, fills it with synthetic
// bars and trades (INSERT ... SELECT generate_series), and times each query.
func RunAnalytics(ctx context.Context, cfg AnalyticsConfig) ([]AnalyticsResult, error) {
	log := Config{Log: cfg.Log}
	if cfg.Log == nil {
		log.Log = io.Discard
	}
	if cfg.Repeat < 1 {
		cfg.Repeat = 1
	}
	cat, err := query.Load(sqlfiles.Queries, "")
	if err != nil {
		return nil, err
	}
	var out []AnalyticsResult
	for _, nsym := range cfg.Symbols {
		_, err := withDB(ctx, WorkersConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir}, "analytics", func(h *hdiEnv) (time.Duration, error) {
			t0 := time.Now()
			bars, err := fillAnalytics(ctx, h.conn, nsym, cfg.TradesPerBar)
			if err != nil {
				return 0, err
			}
			log.logf("analytics: %d symbols, %d bars and %d trades a bar, generated in %s", nsym, bars, cfg.TradesPerBar, time.Since(t0).Round(time.Second))
			symbols := make([]string, nsym)
			for i := range symbols {
				symbols[i] = fmt.Sprintf("S%02d", i+1)
			}
			size := fmt.Sprintf("%d × 1y 1m", nsym)
			if cfg.TradesPerBar > 1 {
				size += fmt.Sprintf(", %d trades/bar", cfg.TradesPerBar)
			}
			if cfg.NoJIT {
				if _, err := h.conn.Exec(ctx, "SET jit = off"); err != nil {
					return 0, err
				}
				size += ", jit off"
			}
			var pid int
			if err := h.conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				return 0, err
			}
			for _, aq := range analyticsQueries {
				if len(cfg.Queries) > 0 && !slices.Contains(cfg.Queries, aq.name) {
					continue
				}
				q, err := cat.Lookup(aq.name, "")
				if err != nil {
					return 0, err
				}
				sql := bindLiterals(q.SQL, symbols, aq.params)
				cols, table := "high, low, close", "ohlcv_1m"
				if aq.trades {
					cols, table = "price, size", "trades"
				}
				input := fmt.Sprintf(`SELECT instrument_id, ts, %s FROM %s
					WHERE dataset = '%s' AND instrument_id BETWEEN 1001 AND %d AND ts >= '%s' AND ts < '%s'
					ORDER BY instrument_id, ts`, cols, table, anDataset, 1000+nsym, anStart, anEnd)
				r := AnalyticsResult{Query: aq.name, Size: size}
				var ts, ss, cs, tcpu, scpu []time.Duration
				for range cfg.Repeat {
					c0 := procCPU(pid)
					d, n, err := timeRows(ctx, h.conn, sql)
					if err != nil {
						return 0, fmt.Errorf("%s: %w", aq.name, err)
					}
					c1 := procCPU(pid)
					ts, r.Rows, tcpu = append(ts, d), n, append(tcpu, c1-c0)
					if d, r.InputRows, err = timeRows(ctx, h.conn, input); err != nil {
						return 0, err
					}
					ss, scpu = append(ss, d), append(scpu, procCPU(pid)-c1)
					t0 := time.Now()
					n, err = clientCompute(ctx, h.conn, aq.name, input)
					if err != nil {
						return 0, err
					}
					if n != r.InputRows {
						return 0, fmt.Errorf("%s: the Go client read %d rows, the SELECT %d", aq.name, n, r.InputRows)
					}
					cs = append(cs, time.Since(t0))
				}
				r.SQL, r.Select, r.GoClient = median(ts), median(ss), median(cs)
				if c0 := procCPU(pid); c0 > 0 {
					r.SQLCPU, r.SelectCPU = median(tcpu), median(scpu)
				}
				log.logf("analytics: %s %s: query %s, SELECT %s, Go client %s; backend CPU: query %s, SELECT %s", size, aq.name, r.SQL.Round(time.Millisecond),
					r.Select.Round(time.Millisecond), r.GoClient.Round(time.Millisecond), r.SQLCPU, r.SelectCPU)
				out = append(out, r)
			}
			return 0, nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// fillAnalytics maps S01..Sn to instruments 1001.. for 2023 and stores a
// bar and perBar trades (evenly spaced) for every minute of every weekday
// but 21:00-22:00 UTC (CME's daily break): prices on a 0.25 tick that
// wander with two sines.
func fillAnalytics(ctx context.Context, conn *pgx.Conn, nsym, perBar int) (int64, error) {
	perBar = max(perBar, 1)
	stmts := []string{
		fmt.Sprintf(`INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
			SELECT '%s', 'raw_symbol', 'S' || lpad(i::text, 2, '0'), 'instrument_id', (1000 + i)::text, '2023-01-01', '2024-01-01', 'bench'
			FROM generate_series(1, %d) i`, anDataset, nsym),
		fmt.Sprintf(`CREATE TEMP TABLE an_px AS
			SELECT 1000 + i AS id, t AS ts,
			       (round((4000 + 200 * sin(extract(epoch FROM t) / 2e6 + i) + 5 * sin(extract(epoch FROM t) / 611 + 3 * i)) * 4) * 250000000)::bigint AS px,
			       (extract(epoch FROM t) / 60)::bigint %% 7 AS k
			FROM generate_series(1, %d) i,
			     generate_series(timestamptz '%s', timestamptz '%s' - interval '1 minute', interval '1 minute') t
			WHERE extract(isodow FROM t AT TIME ZONE 'UTC') < 6 AND extract(hour FROM t AT TIME ZONE 'UTC') <> 21`, nsym, anStart, anEnd),
		fmt.Sprintf(`INSERT INTO ohlcv_1m (dataset, ts, ts_event, rtype, publisher_id, instrument_id, open, high, low, close, volume)
			SELECT '%s', ts, (extract(epoch FROM ts) * 1e9)::bigint, 33, 1, id, px, px + (1 + k) * 250000000, px - (7 - k) * 250000000, px + (k - 3) * 250000000, 1 + k
			FROM an_px`, anDataset),
		fmt.Sprintf(`INSERT INTO trades (dataset, ts, ts_recv, ts_event, rtype, publisher_id, instrument_id, action, side, depth, price, size, flags, ts_in_delta, sequence)
			SELECT '%s', t, (extract(epoch FROM t) * 1e9)::bigint, (extract(epoch FROM t) * 1e9)::bigint, 0, 1, id, 'T', 'N', 0, px + ((k + j) %% 7 - 3) * 250000000, 1 + (k + j) %% 7, 0, 0, 0
			FROM an_px, generate_series(0, %d) j, LATERAL (SELECT ts + j * interval '%d microseconds' AS t) x`, anDataset, perBar-1, 60_000_000/perBar),
		`DROP TABLE an_px`,
		`VACUUM ANALYZE ohlcv_1m`,
		`VACUUM ANALYZE trades`,
		`VACUUM ANALYZE symbol_mappings`,
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return 0, fmt.Errorf("bench data: %w\n%s", err, s)
		}
	}
	var n int64
	err := conn.QueryRow(ctx, `SELECT count(*) FROM ohlcv_1m`).Scan(&n)
	return n, err
}

var paramRef = regexp.MustCompile(`sqlc\.narg\('?(\w+)'?\)|@(\w+)`)

// bindLiterals puts the benchmark's values into a catalog query's SQL as
// literals (a parameter not given is NULL, its default).
func bindLiterals(sql string, symbols []string, params map[string]string) string {
	vals := map[string]string{
		"dataset":  "'" + anDataset + "'",
		"symbols":  "'{" + strings.Join(symbols, ",") + "}'",
		"start_ts": "'" + anStart + "'",
		"end_ts":   "'" + anEnd + "'",
	}
	for k, v := range params {
		vals[k] = v
	}
	return paramRef.ReplaceAllStringFunc(sql, func(m string) string {
		sub := paramRef.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if v, ok := vals[name]; ok {
			return v
		}
		return "NULL"
	})
}

// timeRows runs sql and reads every row as it arrives (no decoding).
func timeRows(ctx context.Context, conn *pgx.Conn, sql string) (time.Duration, int64, error) {
	t0 := time.Now()
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return 0, 0, err
	}
	var n int64
	for rows.Next() {
		n++
	}
	rows.Close()
	return time.Since(t0), n, rows.Err()
}

// clientCompute pulls the input rows (ordered by instrument and time) and
// computes the query's values in Go, in float64: the work a client does
// instead of the query. It returns the rows computed.
func clientCompute(ctx context.Context, conn *pgx.Conn, name, input string) (int64, error) {
	rows, err := conn.Query(ctx, input)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		id, prevID int64
		ts         time.Time
		a, b, c    *int64
		n          int64
		st         clientState
	)
	for rows.Next() {
		if name == "Vwap" {
			err = rows.Scan(&id, &ts, &a, &b)
		} else {
			var cl *int64
			err = rows.Scan(&id, &ts, &a, &b, &cl)
			c = cl
		}
		if err != nil {
			return n, err
		}
		if id != prevID {
			st, prevID = clientState{}, id
		}
		st.step(name, ts, a, b, c)
		n++
	}
	if rows.Err() != nil {
		return n, rows.Err()
	}
	if math.IsNaN(st.sink) {
		return n, fmt.Errorf("%s: the Go client computed NaN", name)
	}
	return n, nil
}

// clientState is one instrument's running state in the Go client.
type clientState struct {
	count            int
	day, bar         time.Time
	pv, vol          float64
	prev             float64
	closes, rets, hl []float64
	ema, ag, al, atr float64
	sink             float64
}

const clientN = 20

func (s *clientState) step(name string, ts time.Time, a, b, c *int64) {
	if name == "Vwap" {
		if a == nil || b == nil || *b == 0 {
			return
		}
		// The session's VWAP at the end of each 1m bar (bar: its minute).
		if m := ts.Truncate(time.Minute); !m.Equal(s.bar) {
			if s.vol > 0 {
				s.sink += s.pv / s.vol
			}
			s.bar = m
		}
		if d := ts.Truncate(24 * time.Hour); !d.Equal(s.day) {
			s.day, s.pv, s.vol = d, 0, 0
		}
		s.pv += float64(*a) / 1e9 * float64(*b)
		s.vol += float64(*b)
		return
	}
	if a == nil || b == nil || c == nil {
		return
	}
	high, low, cl := float64(*a)/1e9, float64(*b)/1e9, float64(*c)/1e9
	s.count++
	hasPrev := s.count > 1
	prev := s.prev
	s.prev = cl
	switch name {
	case "Returns":
		if hasPrev {
			s.sink += (cl-prev)/prev + math.Log(cl/prev)
		}
	case "RealizedVol":
		s.hl = window(s.hl, math.Pow(math.Log(high/low), 2))
		if hasPrev {
			s.rets = window(s.rets, math.Log(cl/prev))
		}
		if len(s.rets) == clientN {
			m, v := meanVar(s.rets, clientN-1)
			s.sink += math.Sqrt(v*252*1440) + m
		}
		if len(s.hl) == clientN {
			var sum float64
			for _, x := range s.hl {
				sum += x
			}
			s.sink += math.Sqrt(sum / (4 * math.Ln2 * clientN) * 252 * 1440)
		}
	case "MovingAverages":
		s.closes = window(s.closes, cl)
		if len(s.closes) == clientN {
			m, v := meanVar(s.closes, clientN)
			if s.count == clientN {
				s.ema = m
			} else {
				s.ema = 2.0/(clientN+1)*cl + (1-2.0/(clientN+1))*s.ema
			}
			s.sink += m + s.ema + 2*math.Sqrt(v)
		}
	case "RsiAtr":
		if !hasPrev {
			return
		}
		const n = 14
		g, l := math.Max(cl-prev, 0), math.Max(prev-cl, 0)
		tr := math.Max(high-low, math.Max(math.Abs(high-prev), math.Abs(low-prev)))
		k := s.count - 1
		switch {
		case k < n:
			s.ag, s.al, s.atr = s.ag+g/n, s.al+l/n, s.atr+tr/n
		default:
			s.ag, s.al, s.atr = (s.ag*(n-1)+g)/n, (s.al*(n-1)+l)/n, (s.atr*(n-1)+tr)/n
		}
		if k >= n && s.al > 0 {
			s.sink += 100 - 100/(1+s.ag/s.al) + s.atr
		}
	}
}

// window appends x and keeps the last clientN values.
func window(w []float64, x float64) []float64 {
	w = append(w, x)
	if len(w) > clientN {
		w = w[1:]
	}
	return w
}

func meanVar(xs []float64, div int) (float64, float64) {
	var m, ss float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return m, ss / float64(div)
}

// PrintAnalytics writes the figures and the ratios of the query to the
// plain SELECT of its input rows (aim: at most 2) and to the Go client, and
// the ratio of their backend CPU times where they were read.
func PrintAnalytics(w io.Writer, rs []AnalyticsResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "query\tsize\tinput rows\trows\tquery s\tSELECT s\tGo client s\tquery/SELECT\tquery/client\tCPU query s\tCPU SELECT s\tCPU query/SELECT\t")
	for _, r := range rs {
		mark := ""
		if r.SQL.Seconds() > 2*r.Select.Seconds() {
			mark = " (aim 2)"
		}
		cpu := "-\t-\t-"
		if r.SelectCPU > 0 {
			cpu = fmt.Sprintf("%.2f\t%.2f\t%.2f", r.SQLCPU.Seconds(), r.SelectCPU.Seconds(), r.SQLCPU.Seconds()/r.SelectCPU.Seconds())
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f%s\t%.2f\t%s\t\n", r.Query, r.Size, r.InputRows, r.Rows,
			r.SQL.Seconds(), r.Select.Seconds(), r.GoClient.Seconds(),
			r.SQL.Seconds()/r.Select.Seconds(), mark, r.SQL.Seconds()/r.GoClient.Seconds(), cpu)
	}
	tw.Flush()
}
