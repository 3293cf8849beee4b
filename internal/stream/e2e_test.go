package stream_test

// The user's journey through `hdi stream`, with real processes: hdi and its
// Databento provider plugin, against the fake Live gateway (and the fake
// historical API for backfills), into a real database.

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/localpg"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/testbin"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// live is one test's world: a database, the fake gateway, the fake
// historical API, and hdi's binaries.
type live struct {
	t    *testing.T
	bin  string
	dir  string
	url  string
	pool *pgxpool.Pool
	gw   *dbfake.LiveGateway
	hist *dbfake.Server
	env  []string
}

func newLive(t *testing.T, opts dbfake.LiveOptions, history ...*dbfake.Dataset) *live {
	t.Helper()
	l := &live{t: t, bin: testbin.Dir(t), dir: t.TempDir(), url: pgtest.NewMigratedDB(t)}
	l.pool = pgtest.Connect(t, l.url)
	gw, err := dbfake.NewLive(dbfake.Generate(dbfake.GenOptions{Schemas: []dbn.Schema{}, Futures: []string{"ES", "NQ"}, Equities: []string{}}), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	l.gw = gw
	if len(history) == 0 {
		history = []*dbfake.Dataset{dbfake.Generate(dbfake.GenOptions{Schemas: []dbn.Schema{}})}
	}
	l.hist = dbfake.New(history...)
	t.Cleanup(l.hist.Close)
	l.env = append(os.Environ(), "DATABASE_URL="+l.url, "HOME="+l.dir, "XDG_CONFIG_HOME="+l.dir,
		"DATABENTO_API_KEY="+gw.Key(), "DATABENTO_LIVE_GATEWAY="+gw.Addr(), "DATABENTO_BASE_URL="+l.hist.URL,
		"HDI_LOG_FORMAT=json")
	return l
}

// job writes a live job file and returns its path.
func (l *live) job(name, extra string) string {
	l.t.Helper()
	p := filepath.Join(l.dir, name+".yaml")
	body := fmt.Sprintf(`name: %s
mode: live
provider:
  name: databento
source:
  dataset: GLBX.MDP3
  schema: trades
  symbols: [ES.FUT]
  stype_in: parent
  start: -2h          # replay the feed's last two hours first (the records are an hour old)
  params:
    heartbeat_interval_s: "5"
live:
  commit_rows: 2000
  commit_interval: 100ms
%s`, name, extra)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		l.t.Fatal(err)
	}
	return p
}

// proc is a running hdi.
type proc struct {
	cmd *exec.Cmd
	log *testbin.Buffer
}

func (l *live) start(args ...string) *proc {
	l.t.Helper()
	c := exec.Command(filepath.Join(l.bin, "hdi"), args...)
	c.Dir, c.Env = l.dir, l.env
	p := &proc{cmd: c, log: &testbin.Buffer{}}
	c.Stdout, c.Stderr = p.log, p.log
	if err := c.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() {
		if c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
		if l.t.Failed() {
			l.t.Logf("hdi %s (pid %d):\n%s", strings.Join(args, " "), c.Process.Pid, p.log.String())
		}
	})
	return p
}

// wait waits for the process to end and returns its exit code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-done
		t.Fatalf("hdi did not end within %s:\n%s", within, p.log.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// stop sends SIGTERM and requires exit 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("hdi stream exited %d on SIGTERM, want 0:\n%s", code, p.log.String())
	}
}

func (l *live) count(sql string, args ...any) int64 {
	l.t.Helper()
	return pgtest.Scalar[int64](l.t, l.pool, sql, args...)
}

// until waits for cond, checking every 50ms.
func (l *live) until(what string, within time.Duration, cond func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			l.t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exact checks the trades table holds each record of the gateway's trades
// feed for the instruments of ES.FUT exactly once, and nothing else.
func (l *live) exact(want int) {
	l.t.Helper()
	keys := map[string]bool{}
	for _, rec := range l.gw.Feed(dbn.SchemaTrades) {
		id := binary.LittleEndian.Uint32(rec[4:])
		if id != 1001 && id != 1002 { // ESH4, ESM4: the children of ES.FUT
			continue
		}
		r := dbn.LookupRType(dbn.RType(rec[1]))
		// TradeMsg: ts_recv at the index offset, sequence at byte 44.
		keys[fmt.Sprintf("%d/%d/%d", id, binary.LittleEndian.Uint64(rec[r.IndexTsOffset:]), binary.LittleEndian.Uint32(rec[44:]))] = true
	}
	if len(keys) != want {
		l.t.Fatalf("the feed holds %d ES trades, the test expected %d", len(keys), want)
	}
	rows, err := l.pool.Query(context.Background(), "SELECT instrument_id, ts_recv, sequence FROM trades")
	if err != nil {
		l.t.Fatal(err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var id, tsRecv, seq int64
		if err := rows.Scan(&id, &tsRecv, &seq); err != nil {
			l.t.Fatal(err)
		}
		k := fmt.Sprintf("%d/%d/%d", id, tsRecv, seq)
		if !keys[k] {
			l.t.Fatalf("the table holds %s, which the feed never sent (or twice)", k)
		}
		delete(keys, k)
		got++
	}
	if len(keys) > 0 {
		l.t.Fatalf("%d records of the feed are missing (of %d); one is %v", len(keys), want, firstKey(keys))
	}
}

func firstKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

// providerPID finds the Databento plugin process hdi (pid) started.
func providerPID(t *testing.T, pid int) int {
	t.Helper()
	if child := childProvider(pid); child != 0 {
		return child
	}
	t.Fatalf("no hdi-provider-databento child of pid %d", pid)
	return 0
}

// childProvider is the pid of hdi's (pid) Databento plugin, 0 while none.
func childProvider(pid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && strings.Contains(s[:i], "hdi-provider-da") {
			return child
		}
	}
	return 0
}

// peakRSS is a process's peak resident memory, in bytes (VmHWM).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM for pid %d", pid)
	return 0
}

// TestStreamThroughCutsAndKills is the stream's promise: through a cut in
// the middle of a record, a clean hang-up, a SIGKILL of hdi and a SIGKILL
// of the provider, every record of the feed is stored exactly once, and
// each reconnect asks the gateway to replay (start=).
func TestStreamThroughCutsAndKills(t *testing.T) {
	l := newLive(t, dbfake.LiveOptions{Heartbeat: 100 * time.Millisecond})
	const n = 40_000 // per instrument: ESH4, ESM4, NQH4, NQM4 in turn
	l.gw.Fill(dbn.SchemaTrades, 4*n, time.Now().Add(-time.Hour), 10*time.Microsecond)
	l.gw.Inject(
		dbfake.LiveFault{CutAfterBytes: 123_457}, // mid-record
		dbfake.LiveFault{AfterRecords: 20_000, HangUp: true},
	)
	job := l.job("es-live", "")
	p := l.start("stream", "--job", job)
	l.until("three sessions", 60*time.Second, func() bool { return len(l.gw.Sessions()) >= 3 })
	l.until("rows after the reconnects", 60*time.Second, func() bool { return l.count("SELECT count(*) FROM trades") > 0 })
	// SIGKILL hdi mid-feed: its provider dies with it.
	_ = p.cmd.Process.Kill()
	p.wait(t, 30*time.Second)
	mid := l.count("SELECT count(*) FROM trades")
	p = l.start("stream", "--job", job)
	l.until("the restarted stream's session", 60*time.Second, func() bool { return len(l.gw.Sessions()) >= 4 })
	// SIGKILL the provider: hdi starts it again and resumes.
	time.Sleep(200 * time.Millisecond)
	_ = syscall.Kill(providerPID(t, p.cmd.Process.Pid), syscall.SIGKILL)
	l.until("a session of the restarted provider", 60*time.Second, func() bool { return len(l.gw.Sessions()) >= 5 })
	l.until("every ES trade", 120*time.Second, func() bool { return l.count("SELECT count(*) FROM trades") >= 2*n })
	p.stop(t)
	l.exact(2 * n)
	sessions := l.gw.Sessions()
	if len(sessions) < 5 {
		t.Fatalf("%d sessions, want at least 5 (cut, hang-up, kill of hdi, kill of the provider)", len(sessions))
	}
	for i, s := range sessions[1:] {
		if len(s.Subscriptions) == 0 || s.Subscriptions[0]["start"] == "" {
			t.Fatalf("session %d subscribed without start= (a resume must replay): %v", i+2, s.Lines)
		}
	}
	if got := l.count("SELECT reconnects FROM live_streams WHERE name = 'es-live'"); got < 3 {
		t.Fatalf("%d reconnects counted, want at least 3", got)
	}
	if l.count("SELECT count(*) FROM runs WHERE kind = 'live' AND live_stream = 'es-live'") != 2 {
		t.Fatal("want one live run per hdi stream process")
	}
	t.Logf("%d rows before the kill of hdi, %d sessions", mid, len(sessions))
}

// TestStreamZstd: a compressed session cut mid-frame resumes exactly.
func TestStreamZstd(t *testing.T) {
	l := newLive(t, dbfake.LiveOptions{Heartbeat: 100 * time.Millisecond})
	const n = 10_000
	l.gw.Fill(dbn.SchemaTrades, 4*n, time.Now().Add(-time.Hour), 10*time.Microsecond)
	l.gw.Inject(dbfake.LiveFault{CutAfterBytes: 50_001})
	p := l.start("stream", "--job", l.job("es-zstd", ""), "--param", "compression=zstd")
	l.until("every ES trade", 90*time.Second, func() bool { return l.count("SELECT count(*) FROM trades") >= 2*n })
	p.stop(t)
	l.exact(2 * n)
	if s := l.gw.Sessions(); len(s) < 2 || s[0].Auth["compression"] != "zstd" {
		t.Fatalf("sessions %d, first compression %q: want a zstd session and a resume", len(s), s[0].Auth["compression"])
	}
}

// TestStreamWrongKey: a refused key is one line, exit 1, no retry, no key.
func TestStreamWrongKey(t *testing.T) {
	l := newLive(t, dbfake.LiveOptions{})
	bad := "db-WRONGwrongWRONGwrongWRONGwrong"
	l.env = append(l.env, "DATABENTO_API_KEY="+bad)
	p := l.start("stream", "--job", l.job("es-badkey", ""))
	if code := p.wait(t, 60*time.Second); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, p.log.String())
	}
	out := p.log.String()
	if !strings.Contains(out, "authentication failed") || strings.Contains(out, bad) || strings.Contains(out, bad[len(bad)-5:]+"\"") {
		t.Fatalf("want one line saying authentication failed, without the key:\n%s", out)
	}
	if n := len(l.gw.Sessions()); n != 1 {
		t.Fatalf("%d sessions: a refused key must not be retried", n)
	}
}

// TestStreamStalledGateway: a gateway that stops sending anything, heartbeats
// too, is taken for dead after twice the heartbeat interval: the stream
// reconnects and loads the rest.
func TestStreamStalledGateway(t *testing.T) {
	l := newLive(t, dbfake.LiveOptions{Heartbeat: 100 * time.Millisecond})
	const n = 5_000
	l.gw.Fill(dbn.SchemaTrades, 4*n, time.Now().Add(-time.Hour), 10*time.Microsecond)
	l.gw.Inject(dbfake.LiveFault{AfterRecords: 3_000, Stall: true})
	p := l.start("stream", "--job", l.job("es-stall", ""))
	l.until("every ES trade after the stall", 90*time.Second, func() bool { return l.count("SELECT count(*) FROM trades") >= 2*n })
	p.stop(t)
	l.exact(2 * n)
	if s := l.gw.Sessions(); len(s) < 2 || s[0].End != "client closed" {
		t.Fatalf("want the stalled session closed by hdi and a second one; sessions: %d, first ended %q", len(s), s[0].End)
	}
}

// TestStreamOneProcessPerStream: a second hdi stream of the same job
// refuses to start while the first runs.
func TestStreamOneProcessPerStream(t *testing.T) {
	l := newLive(t, dbfake.LiveOptions{Heartbeat: 100 * time.Millisecond})
	job := l.job("es-once", "")
	p := l.start("stream", "--job", job)
	l.until("the first stream streaming", 60*time.Second, func() bool {
		return l.count("SELECT count(*) FROM live_streams WHERE state = 'streaming'") == 1
	})
	second := l.start("stream", "--job", job)
	if code := second.wait(t, 60*time.Second); code != 1 {
		t.Fatalf("second stream exit %d, want 1:\n%s", code, second.log.String())
	}
	if out := second.log.String(); !strings.Contains(out, "already running") || !strings.Contains(out, "pid "+strconv.Itoa(p.cmd.Process.Pid)) {
		t.Fatalf("the refusal should name the process that holds the stream:\n%s", out)
	}
	p.stop(t)
}

// TestStreamBackfillsAnOldGap: a stream whose start lies beyond the
// gateway's replay window fills the gap from the historical API as an
// ordinary run that names the stream, then resumes the live feed.
func TestStreamBackfillsAnOldGap(t *testing.T) {
	today := dbn.DateOf(time.Now())
	history := dbfake.Generate(dbfake.GenOptions{Start: today.AddDays(-3), Days: 3, PerDay: 20, Schemas: []dbn.Schema{dbn.SchemaTrades}})
	l := newLive(t, dbfake.LiveOptions{Heartbeat: 100 * time.Millisecond}, history)
	const n = 1_000
	l.gw.Fill(dbn.SchemaTrades, 4*n, time.Now().Add(-time.Minute), 10*time.Microsecond)
	start := today.AddDays(-3).Time().Format(time.RFC3339)
	p := l.start("stream", "--job", l.job("es-gap", ""), "--start", start)
	l.until("the backfill and the live feed", 120*time.Second, func() bool {
		return l.count("SELECT count(*) FROM runs WHERE kind = 'backfill' AND status = 'succeeded'") == 1 &&
			l.count("SELECT count(*) FROM trades WHERE ts > now() - interval '1 hour'") >= 2*n
	})
	p.stop(t)
	if got := pgtest.Scalar[string](t, l.pool, "SELECT live_stream FROM runs WHERE kind = 'backfill'"); got != "es-gap" {
		t.Fatalf("the backfill run names %q, want es-gap", got)
	}
	backfilled := l.count("SELECT rows_inserted FROM runs WHERE kind = 'backfill'")
	older := l.count("SELECT count(*) FROM trades WHERE ts < now() - interval '23 hours'")
	if backfilled == 0 || older != backfilled {
		t.Fatalf("backfill run inserted %d rows; %d rows are older than the replay window: want them equal and > 0", backfilled, older)
	}
	if l.count("SELECT gaps_backfilled FROM live_streams WHERE name = 'es-gap'") != 1 {
		t.Fatal("gaps_backfilled not counted")
	}
	for _, s := range l.gw.Sessions() {
		for _, sub := range s.Subscriptions {
			ns, _ := strconv.ParseInt(sub["start"], 10, 64)
			if sub["start"] == "" || time.Since(time.Unix(0, ns)) > 24*time.Hour {
				t.Fatalf("a session asked the gateway for start=%q: the gap beyond its window is the backfill's", sub["start"])
			}
		}
	}
}

// TestStreamBoundedMemory: a replay of a million records goes through in
// bounded memory in hdi and in its provider: the database sets the pace.
func TestStreamBoundedMemory(t *testing.T) {
	l := newLive(t, dbfake.LiveOptions{Heartbeat: 100 * time.Millisecond})
	const n = 1_000_000
	l.gw.Fill(dbn.SchemaTrades, n, time.Now().Add(-time.Hour), time.Microsecond)
	p := l.start("stream", "--job", l.job("es-big", ""), "--commit-rows", "10000")
	var provRSS int64
	prov := 0
	l.until("a million trades", 10*time.Minute, func() bool {
		if prov == 0 {
			prov = childProvider(p.cmd.Process.Pid)
		}
		if prov != 0 {
			provRSS = max(provRSS, peakRSS(t, prov))
		}
		return l.count("SELECT count(*) FROM trades") >= n/2 // ES: half the instruments
	})
	hdiRSS := peakRSS(t, p.cmd.Process.Pid)
	p.stop(t)
	t.Logf("peak RSS: hdi %d MB, provider %d MB", hdiRSS>>20, provRSS>>20)
	const bound = 300 << 20
	if hdiRSS > bound || provRSS > bound {
		t.Fatalf("peak RSS hdi %d MB, provider %d MB: want both under %d MB", hdiRSS>>20, provRSS>>20, bound>>20)
	}
}

// TestStreamRidesOutADatabaseRestart: the database stops under a running
// stream and comes back; the stream waits, reconnects, and the table ends
// up holding every record of the feed exactly once.
func TestStreamRidesOutADatabaseRestart(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := localpg.Throwaway(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Remove(context.Background()) })
	l := newLive(t, dbfake.LiveOptions{Heartbeat: 100 * time.Millisecond})
	l.url = c.DatabaseURL("postgres")
	l.env = append(l.env, "DATABASE_URL="+l.url)
	if code := l.start("migrate", "up").wait(t, 2*time.Minute); code != 0 {
		t.Fatal("migrate up on the throwaway cluster failed")
	}
	l.pool = pgtest.Connect(t, l.url)
	feed, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	go l.gw.Run(feed, 10*time.Millisecond, dbn.SchemaTrades)
	p := l.start("stream", "--job", l.job("es-restart", ""))
	l.until("rows", 60*time.Second, func() bool { return l.count("SELECT count(*) FROM trades") > 100 })
	l.pool.Close()
	if _, err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the feed goes on; the stream cannot commit
	if _, err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	l.pool = pgtest.Connect(t, l.url)
	before := l.count("SELECT count(*) FROM trades")
	l.until("rows after the restart", 90*time.Second, func() bool { return l.count("SELECT count(*) FROM trades") > before+100 })
	stopFeed()
	time.Sleep(200 * time.Millisecond)
	want := 0
	for _, rec := range l.gw.Feed(dbn.SchemaTrades) {
		if id := binary.LittleEndian.Uint32(rec[4:]); id == 1001 || id == 1002 {
			want++
		}
	}
	l.until("every ES trade of the feed", 90*time.Second, func() bool { return l.count("SELECT count(*) FROM trades") >= int64(want) })
	p.stop(t)
	l.exact(want)
	if l.count("SELECT reconnects FROM live_streams") < 1 {
		t.Fatal("the restart did not count as a reconnect")
	}
}
