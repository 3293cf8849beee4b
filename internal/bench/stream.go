package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// StreamConfig is the benchmark of `hdi stream` against the fake Databento
// Live gateway (dbfake.NewLive), in three parts:
//
//   - replay: N records per schema replayed by the gateway into a fresh
//     database, against `hdi ingest` of a DBN file of the same records (the
//     same run, Repeat rounds, medians);
//   - paced: trades published at Rate records/s for Paced, the connection
//     cut by the gateway half-way: the commit latency of each record
//     (published to committed) and the time from the cut to the first new
//     committed row;
//   - memory: a replay of RSSN trades, the RSS of hdi and of its provider
//     sampled every second.
type StreamConfig struct {
	N       int
	Repeat  int
	Schemas []dbn.Schema
	Rate    int // 0: no paced run
	Paced   time.Duration
	RSSN    int // 0: no memory run
	// StreamArgs are extra arguments of hdi stream (--param replay_margin=1s).
	StreamArgs []string

	AdminURL, BinDir, WorkDir string
	Log                       io.Writer
}

// StreamReplay is one schema's replay against its file.
type StreamReplay struct {
	Schema dbn.Schema
	Rows   int64
	// Each round's wall times: hdi ingest of the file (its default parts:
	// two COPY streams from 8 MiB), of the file in one part (one COPY
	// stream, as a live stream has), and hdi stream.
	Files, OnePart, Stream []time.Duration
}

// StreamPaced is the paced run's figures.
type StreamPaced struct {
	Rate      int
	Published int64
	// P50, P99 and Max are the commit latencies of the records published
	// before the cut; AllP99 is the p99 over the whole run, the cut's
	// records included.
	P50, P99, Max, AllP99 time.Duration
	Measured              int64
	// CutRecords is about how many records the gateway sent before it cut
	// the connection (it counts them every 1024); Reconnect and FirstRow
	// are the times from the cut to the provider's next session and to the
	// first committed row of that session.
	CutRecords          int
	Reconnect, FirstRow time.Duration
}

// RSSSample is one sample of the memory run.
type RSSSample struct {
	At            time.Duration
	Rows          int64
	HDI, Provider int64
}

// StreamRSS is the memory run's figures.
type StreamRSS struct {
	Rows                  int64
	Wall                  time.Duration
	HDIPeak, ProviderPeak int64 // VmHWM at the end
	Samples               []RSSSample
}

// StreamResult holds what ran.
type StreamResult struct {
	Replay []StreamReplay
	Paced  *StreamPaced
	RSS    *StreamRSS
}

// RunStream runs the parts cfg asks for.
func RunStream(ctx context.Context, cfg StreamConfig) (*StreamResult, error) {
	log := Config{Log: cfg.Log}
	if cfg.Log == nil {
		log.Log = io.Discard
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	ds := dbfake.Generate(dbfake.GenOptions{Days: 1, PerDay: 1, Schemas: []dbn.Schema{dbn.SchemaTrades}})
	res := &StreamResult{}
	for _, s := range cfg.Schemas {
		if cfg.N <= 0 {
			break
		}
		r, err := streamReplay(ctx, cfg, log, ds, s)
		if err != nil {
			return res, fmt.Errorf("replay %s: %w", s, err)
		}
		res.Replay = append(res.Replay, r)
	}
	if cfg.Rate > 0 {
		p, err := streamPaced(ctx, cfg, log, ds)
		if err != nil {
			return res, fmt.Errorf("paced run: %w", err)
		}
		res.Paced = p
	}
	if cfg.RSSN > 0 {
		r, err := streamMemory(ctx, cfg, log, ds)
		if err != nil {
			return res, fmt.Errorf("memory run: %w", err)
		}
		res.RSS = r
	}
	return res, nil
}

// streamArgs are hdi stream's arguments for an ad-hoc feed of schema over
// every instrument, replayed from start when it is set.
func streamArgs(cfg StreamConfig, ds *dbfake.Dataset, schema dbn.Schema, start time.Time) []string {
	args := []string{"stream", "--provider", "databento", "--dataset", ds.Code, "--schema", schema.String(),
		"--symbols", "ALL_SYMBOLS", "--stype-in", "raw_symbol"}
	if !start.IsZero() {
		args = append(args, "--start", start.UTC().Format(time.RFC3339Nano))
	}
	return append(args, cfg.StreamArgs...)
}

func gatewayEnv(h *hdiEnv, gw *dbfake.LiveGateway) {
	h.env = append(h.env, "DATABENTO_API_KEY="+gw.Key(), "DATABENTO_LIVE_GATEWAY="+gw.Addr())
}

// streamReplay times N records of schema through hdi ingest of a file and
// through hdi stream replaying them from the gateway, round after round.
func streamReplay(ctx context.Context, cfg StreamConfig, log Config, ds *dbfake.Dataset, schema dbn.Schema) (StreamReplay, error) {
	res := StreamReplay{Schema: schema, Rows: int64(cfg.N)}
	gw, err := dbfake.NewLive(ds, dbfake.LiveOptions{Heartbeat: time.Second})
	if err != nil {
		return res, err
	}
	defer gw.Close()
	// The last hour: inside the gateway's replay window, so nothing is
	// backfilled from history.
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	gw.Fill(schema, cfg.N, start, time.Hour/time.Duration(2*cfg.N))
	path := filepath.Join(cfg.WorkDir, fmt.Sprintf("stream-%s-%d.dbn.zst", schema, cfg.N))
	log.logf("%s: writing the gateway's %d records to %s", schema, cfg.N, path)
	if err := writeFeed(path, ds.Code, schema, gw.Feed(schema), start, start.Add(time.Hour)); err != nil {
		return res, err
	}
	defer os.Remove(path)
	table := strings.ReplaceAll(schema.String(), "-", "_")
	wcfg := WorkersConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir}
	for round := 1; round <= max(cfg.Repeat, 1); round++ {
		var fileSum, streamSum tableDigest
		for _, parts := range []string{"", "1"} {
			d, err := withDB(ctx, wcfg, "stream", func(h *hdiEnv) (time.Duration, error) {
				args := []string{"ingest", "--provider", "databento", "--file", path}
				if parts != "" {
					args = append(args, "--param", "parts="+parts)
				}
				log.logf("%s round %d: hdi %s", schema, round, strings.Join(args, " "))
				m, err := runMeasured(ctx, h.env, h.hdi, args...)
				if err != nil {
					return 0, err
				}
				fileSum, err = digest(ctx, h.conn, table)
				return m.wall, err
			})
			if err != nil {
				return res, err
			}
			if parts == "" {
				res.Files = append(res.Files, d)
			} else {
				res.OnePart = append(res.OnePart, d)
			}
		}
		d, err := withDB(ctx, wcfg, "stream", func(h *hdiEnv) (time.Duration, error) {
			gatewayEnv(h, gw)
			log.logf("%s round %d: hdi stream (replay)", schema, round)
			p, err := startStream(h, streamArgs(cfg, ds, schema, start.Add(-time.Minute)))
			if err != nil {
				return 0, err
			}
			defer p.stop()
			if err := p.waitRows(h, res.Rows, 10*time.Minute, nil); err != nil {
				return 0, err
			}
			d := time.Since(p.started)
			if err := p.stop(); err != nil {
				return 0, err
			}
			streamSum, err = digest(ctx, h.conn, table)
			return d, err
		})
		if err != nil {
			return res, err
		}
		if fileSum.rows != res.Rows || streamSum != fileSum {
			return res, fmt.Errorf("the file loaded %d rows (hash %d), the stream %d rows (hash %d): want the same %d rows",
				fileSum.rows, fileSum.sum, streamSum.rows, streamSum.sum, res.Rows)
		}
		res.Stream = append(res.Stream, d)
	}
	return res, nil
}

// writeFeed writes records of schema over [start, end) as one zstd DBN
// file of dataset, as Databento would deliver them.
func writeFeed(path, dataset string, schema dbn.Schema, recs [][]byte, start, end time.Time) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	meta := &dbn.Metadata{Dataset: dataset, Schema: schema, STypeIn: dbn.STypeRawSymbol, STypeOut: dbn.STypeInstrumentID,
		Start: uint64(start.UnixNano()), End: uint64(end.UnixNano()), Symbols: []string{"ALL_SYMBOLS"}}
	enc, err := dbn.NewEncoder(f, meta, &dbn.EncoderOptions{Zstd: true})
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := enc.WriteRecordBytes(r); err != nil {
			return err
		}
	}
	return enc.Close()
}

// streamProc is a running hdi stream.
type streamProc struct {
	cmd     *exec.Cmd
	stderr  *strings.Builder
	started time.Time
	exited  chan struct{}
	err     error
}

func startStream(h *hdiEnv, args []string) (*streamProc, error) {
	c := exec.Command(h.hdi, args...)
	p := &streamProc{cmd: c, stderr: &strings.Builder{}, exited: make(chan struct{})}
	c.Env, c.Stdout, c.Stderr = h.env, io.Discard, p.stderr
	p.started = time.Now()
	if err := c.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = c.Wait(); close(p.exited) }()
	return p, nil
}

// stop sends SIGTERM and waits; hdi stream exits 0 when stopped. A second
// call does nothing.
func (p *streamProc) stop() error {
	select {
	case <-p.exited:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("hdi stream did not stop within a minute of SIGTERM")
	}
	if p.err != nil {
		return fmt.Errorf("hdi stream: %v\n%s", p.err, p.stderr)
	}
	return nil
}

// committed is the rows the stream has committed (its positions' tally).
func committed(h *hdiEnv) (int64, error) {
	var n int64
	err := h.conn.QueryRow(h.ctx, `SELECT coalesce(sum(rows_total), 0)::bigint FROM live_positions`).Scan(&n)
	return n, err
}

// waitRows polls the committed rows every 20ms until want, calling each
// (when set) with every poll's count.
func (p *streamProc) waitRows(h *hdiEnv, want int64, within time.Duration, each func(int64)) error {
	deadline := time.Now().Add(within)
	for {
		n, err := committed(h)
		if err != nil {
			return err
		}
		if each != nil {
			each(n)
		}
		if n >= want {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("hdi stream exited after %d of %d rows: %v\n%s", n, want, p.err, p.stderr)
		case <-h.ctx.Done():
			return h.ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hdi stream committed %d of %d rows in %s", n, want, within)
		}
	}
}

// tradeTemplate stamps trades for the paced run: copies of the dataset's
// trades with ts_event and ts_recv set to the publication time and a
// sequence that keeps each one distinct.
type tradeTemplate struct {
	recs                 [][]byte
	tsEvent, tsRecv, seq *dbn.Field
}

func newTradeTemplate(ds *dbfake.Dataset) (*tradeTemplate, error) {
	rt := dbn.SchemaTrades.RecordType()
	t := &tradeTemplate{recs: ds.Records[dbn.SchemaTrades], tsEvent: rt.Field("ts_event"), tsRecv: rt.Field("ts_recv"), seq: rt.Field("sequence")}
	if len(t.recs) == 0 || t.tsEvent == nil || t.tsRecv == nil || t.seq == nil {
		return nil, errors.New("the generated dataset has no trades to stamp")
	}
	return t, nil
}

func (t *tradeTemplate) make(k int, now time.Time) []byte {
	rec := slices.Clone(t.recs[k%len(t.recs)])
	ts := uint64(now.UnixNano())
	binary.LittleEndian.PutUint64(rec[t.tsEvent.Offset:], ts)
	binary.LittleEndian.PutUint64(rec[t.tsRecv.Offset:], ts+1000)
	binary.LittleEndian.PutUint32(rec[t.seq.Offset:], uint32(k))
	return rec
}

// poll is one observation of the paced run.
type poll struct {
	at   time.Time
	rows int64
}

// streamPaced publishes trades at cfg.Rate for cfg.Paced to a running hdi
// stream, the gateway cutting the connection half-way, and measures when
// each record is committed: the committed rows are always a prefix of the
// feed (one stream, committed in order), so record k is committed at the
// first poll that counts k rows.
func streamPaced(ctx context.Context, cfg StreamConfig, log Config, ds *dbfake.Dataset) (*StreamPaced, error) {
	tpl, err := newTradeTemplate(ds)
	if err != nil {
		return nil, err
	}
	gw, err := dbfake.NewLive(ds, dbfake.LiveOptions{Heartbeat: time.Second})
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	recSize := int64(dbn.SchemaTrades.RecordType().Size)
	gw.Inject(dbfake.LiveFault{CutAfterBytes: recSize*int64(float64(cfg.Rate)*cfg.Paced.Seconds()/2) + 7}) // mid-record
	res := &StreamPaced{Rate: cfg.Rate}
	var polls []poll
	var ticks []poll // publication times: rows = records published so far
	// The cut falls between two polls: cutAt is the one before it.
	var cutAt, reconnectAt, lastPoll time.Time
	var firstSession int64
	_, err = withDB(ctx, WorkersConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir}, "stream_paced", func(h *hdiEnv) (time.Duration, error) {
		gatewayEnv(h, gw)
		log.logf("paced: hdi stream, %d trades/s for %s", cfg.Rate, cfg.Paced)
		p, err := startStream(h, streamArgs(cfg, ds, dbn.SchemaTrades, time.Time{}))
		if err != nil {
			return 0, err
		}
		defer p.stop()
		// Publish once the session has subscribed (live, from now on).
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			if ss := gw.Sessions(); len(ss) > 0 && ss[0].Started {
				break
			}
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("hdi stream never subscribed:\n%s", p.stderr)
			}
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			t0 := time.Now()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			k := 0
			// time.Now, not the tick's time: the monotonic clock.
			for now := t0; now.Sub(t0) < cfg.Paced; <-tick.C {
				now = time.Now()
				due := int(now.Sub(t0).Seconds() * float64(cfg.Rate))
				if due <= k {
					continue
				}
				recs := make([][]byte, 0, due-k)
				for ; k < due; k++ {
					recs = append(recs, tpl.make(k, now))
				}
				gw.Publish(dbn.SchemaTrades, recs...)
				ticks = append(ticks, poll{at: now, rows: int64(k)})
			}
		}()
		// Poll the committed rows and the gateway's sessions every 5ms.
		var finished time.Time
		for {
			n, err := committed(h)
			if err != nil {
				return 0, err
			}
			now := time.Now()
			polls = append(polls, poll{at: now, rows: n})
			ss := gw.Sessions()
			if cutAt.IsZero() && len(ss) > 0 && ss[0].End != "" {
				cutAt, res.CutRecords = lastPoll, ss[0].Records
			}
			lastPoll = now
			if reconnectAt.IsZero() && len(ss) > 1 && ss[1].Started {
				// The first session's committers have committed what they
				// held: rows beyond these come from the second.
				reconnectAt, firstSession = now, n
			}
			// Until every published record is committed (ticks is the
			// publisher's until done).
			if isDone(done) {
				if n >= lastRows(ticks) {
					return 0, p.stop()
				}
				if finished.IsZero() {
					finished = now
				} else if now.Sub(finished) > 2*time.Minute {
					return 0, fmt.Errorf("hdi stream committed %d of %d rows 2 minutes after the last was published", n, lastRows(ticks))
				}
			}
			select {
			case <-p.exited:
				return 0, fmt.Errorf("hdi stream exited: %v\n%s", p.err, p.stderr)
			case <-time.After(5 * time.Millisecond):
			}
		}
	})
	if err != nil {
		return res, err
	}
	if cutAt.IsZero() {
		return res, errors.New("the gateway never cut the connection")
	}
	res.Published = lastRows(ticks)
	res.Reconnect = reconnectAt.Sub(cutAt)
	for _, q := range polls {
		if q.at.After(reconnectAt) && q.rows > max(firstSession, int64(res.CutRecords)) {
			res.FirstRow = q.at.Sub(cutAt)
			break
		}
	}
	before, all := latencies(ticks, polls, cutAt)
	res.Measured = int64(len(before))
	res.P50, res.P99, res.Max = quantile(before, 0.5), quantile(before, 0.99), quantile(before, 1)
	res.AllP99 = quantile(all, 0.99)
	return res, nil
}

func lastRows(t []poll) int64 {
	if len(t) == 0 {
		return 0
	}
	return t[len(t)-1].rows
}

func isDone(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// latencies pairs each record's publication (ticks) with its commit (the
// first poll counting it): those published before cut, and all.
func latencies(ticks, polls []poll, cut time.Time) (before, all []time.Duration) {
	j := 0
	var prev int64
	for _, t := range ticks {
		for k := prev + 1; k <= t.rows; k++ {
			for j < len(polls) && polls[j].rows < k {
				j++
			}
			if j == len(polls) {
				return before, all
			}
			d := polls[j].at.Sub(t.at)
			all = append(all, d)
			if t.at.Before(cut) {
				before = append(before, d)
			}
		}
		prev = t.rows
	}
	return before, all
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

// streamMemory replays cfg.RSSN trades and samples the RSS of hdi and of
// its provider every second.
func streamMemory(ctx context.Context, cfg StreamConfig, log Config, ds *dbfake.Dataset) (*StreamRSS, error) {
	gw, err := dbfake.NewLive(ds, dbfake.LiveOptions{Heartbeat: time.Second})
	if err != nil {
		return nil, err
	}
	defer gw.Close()
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	gw.Fill(dbn.SchemaTrades, cfg.RSSN, start, time.Hour/time.Duration(2*cfg.RSSN))
	res := &StreamRSS{Rows: int64(cfg.RSSN)}
	_, err = withDB(ctx, WorkersConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir}, "stream_rss", func(h *hdiEnv) (time.Duration, error) {
		gatewayEnv(h, gw)
		log.logf("memory: hdi stream replaying %d trades", cfg.RSSN)
		p, err := startStream(h, streamArgs(cfg, ds, dbn.SchemaTrades, start.Add(-time.Minute)))
		if err != nil {
			return 0, err
		}
		defer p.stop()
		pid := p.cmd.Process.Pid
		prov := 0
		last := time.Time{}
		err = p.waitRows(h, res.Rows, 30*time.Minute, func(n int64) {
			if prov == 0 {
				if c := ChildPIDs(pid); len(c) > 0 {
					prov = c[0]
				}
			}
			if time.Since(last) < time.Second {
				return
			}
			last = time.Now()
			res.Samples = append(res.Samples, RSSSample{At: time.Since(p.started), Rows: n, HDI: procStatus(pid, "VmRSS"), Provider: procStatus(prov, "VmRSS")})
		})
		if err != nil {
			return 0, err
		}
		res.Wall = time.Since(p.started)
		res.HDIPeak, res.ProviderPeak = procStatus(pid, "VmHWM"), procStatus(prov, "VmHWM")
		return 0, p.stop()
	})
	return res, err
}

// PrintStream writes the figures.
func PrintStream(w io.Writer, r *StreamResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(r.Replay) > 0 {
		fmt.Fprintln(tw, "schema\trows\tfile s (rounds)\tfile, 1 part s\tstream s\tfile rows/s\tstream rows/s\tstream/file\tstream/1 part\t")
		for _, x := range r.Replay {
			f, o, s := median(x.Files), median(x.OnePart), median(x.Stream)
			fmt.Fprintf(tw, "%s\t%d\t%.2f (%s)\t%.2f (%s)\t%.2f (%s)\t%.0f\t%.0f\t%s\t%s\t\n", x.Schema, x.Rows, f.Seconds(), secs(x.Files),
				o.Seconds(), secs(x.OnePart), s.Seconds(), secs(x.Stream),
				float64(x.Rows)/f.Seconds(), float64(x.Rows)/s.Seconds(), ratio(f, s, 0.8), ratio(o, s, 0.8))
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if p := r.Paced; p != nil {
		fmt.Fprintf(w, "paced: %d trades/s, %d published; commit latency (published -> committed) of the %d before the cut: p50 %s, p99 %s, max %s; p99 of all %s\n",
			p.Rate, p.Published, p.Measured, ms(p.P50), ms(p.P99), ms(p.Max), ms(p.AllP99))
		fmt.Fprintf(w, "cut after %d records: next session %s later, first new committed row %s after the cut\n\n", p.CutRecords, ms(p.Reconnect), ms(p.FirstRow))
	}
	if m := r.RSS; m != nil {
		fmt.Fprintf(w, "memory: %d trades replayed in %.1f s (%.0f rows/s); peak RSS hdi %s, provider %s\n", m.Rows, m.Wall.Seconds(), float64(m.Rows)/m.Wall.Seconds(), mb(m.HDIPeak), mb(m.ProviderPeak))
		fmt.Fprintln(tw, "s\trows\thdi RSS\tprovider RSS\t")
		step := max(len(m.Samples)/12, 1)
		for i, s := range m.Samples {
			if i%step == 0 || i == len(m.Samples)-1 {
				fmt.Fprintf(tw, "%.0f\t%d\t%s\t%s\t\n", s.At.Seconds(), s.Rows, mb(s.HDI), mb(s.Provider))
			}
		}
		tw.Flush()
	}
}

func secs(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, fmt.Sprintf("%.2f", d.Seconds()))
	}
	return strings.Join(s, " ")
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }
