package stream

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/load"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// feed runs one session of the live feed: one Fetch of the provider's live
// unit, resumed from positions, with a committer per stream. It returns
// when the feed ends (cut, stopped, failed) once every committer has
// committed what it held, with the rows the session committed.
func (s *session) feed(ctx context.Context, n int, positions []sdk.LivePosition) (int64, error) {
	if s.o.OnSession != nil {
		s.o.OnSession(n, positions)
	}
	prov, err := s.o.Open(ctx, s.job.Provider.Name) // a provider that died starts again
	if err != nil {
		return 0, err
	}
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	snd := &sender{s: s, byStream: map[string]*committer{}, cancel: cancel}
	for _, p := range s.planned {
		c, err := s.newCommitter(p, n)
		if err != nil {
			return 0, err
		}
		snd.byStream[p.Stream.Name] = c
	}
	var wg sync.WaitGroup
	for _, c := range snd.byStream {
		wg.Add(1)
		go func() { defer wg.Done(); c.run(cancel) }()
	}
	// Batches of the runner's size (in bytes: the narrowest fit of the
	// feed's streams), as history loads them: one COPY and one savepoint
	// each. A quiet feed is flushed sooner by the provider's own interval.
	batch := 0
	for _, p := range s.planned {
		if n := p.BatchRows(); n > 0 && (batch == 0 || n < batch) {
			batch = n
		}
	}
	p0 := s.planned[0]
	req := &sdk.FetchRequest{Job: p0.SDKJob, Unit: p0.Units[0], Resume: positions, BatchRows: batch}
	ferr := prov.Fetch(fctx, req, snd)
	for _, c := range snd.byStream {
		close(c.items) // the committers commit what they hold and stop
	}
	wg.Wait()
	var rows int64
	var cerr error
	for _, c := range snd.byStream {
		rows += c.sessionRows
		if c.err != nil && cerr == nil {
			cerr = c.err
		}
	}
	switch {
	case cerr != nil: // the root cause: the provider only saw it echoed
		return rows, cerr
	case ctx.Err() != nil:
		return rows, nil
	case ferr == nil:
		return rows, errFeedEnded
	}
	var recv *sdk.ReceiverError
	if errors.As(ferr, &recv) {
		return rows, recv.Err
	}
	return rows, ferr
}

// sender receives the provider's messages (sdk.Sender) and hands each
// stream's to its committer, in order.
type sender struct {
	s        *session
	byStream map[string]*committer
	cancel   context.CancelCauseFunc
	warned   map[string]bool
}

func (snd *sender) committer(stream string) *committer {
	c := snd.byStream[stream]
	if c == nil {
		if snd.warned == nil {
			snd.warned = map[string]bool{}
		}
		if !snd.warned[stream] {
			snd.warned[stream] = true
			snd.s.log.Warn("the provider sent a stream this live job does not load; it is ignored", "schema", stream)
		}
	}
	return c
}

func (snd *sender) Batch(stream string, rec arrow.RecordBatch) error {
	c := snd.committer(stream)
	if c == nil {
		return nil
	}
	rec.Retain()
	return c.put(item{rec: rec, at: time.Now()})
}

func (snd *sender) LiveCheckpoint(lc sdk.LiveCheckpoint) error {
	moved := map[string]bool{}
	for _, p := range lc.Positions {
		if c := snd.committer(p.Stream); c != nil {
			moved[p.Stream] = true
			if err := c.put(item{pos: &p, source: lc.SourceTime}); err != nil {
				return err
			}
		}
	}
	for name, c := range snd.byStream {
		if !moved[name] && lc.SourceTime != 0 {
			if err := c.put(item{source: lc.SourceTime}); err != nil {
				return err
			}
		}
	}
	if lc.Behind {
		snd.s.log.Warn("the source says hdi reads too slowly: the database is behind the feed")
	}
	return nil
}

func (snd *sender) RowError(e sdk.RowError) error {
	c := snd.committer(e.Stream)
	if c == nil {
		c = snd.byStream[snd.s.planned[0].Stream.Name]
	}
	return c.put(item{rowErr: &e})
}

// Mappings stores symbol mappings at once, in their own transaction: they
// say what a symbol meant, whether or not the rows that use them are
// committed yet, and storing one again changes nothing.
func (snd *sender) Mappings(ms []sdk.SymbolMapping) error {
	err := pgx.BeginFunc(snd.s.dbCtx, snd.s.o.Pool, func(tx pgx.Tx) error {
		return runner.WriteMappings(snd.s.dbCtx, tx, snd.s.runID, ms)
	})
	if err != nil {
		return fmt.Errorf("store %d symbol mappings: %w", len(ms), err)
	}
	return nil
}

func (snd *sender) Progress(sdk.Progress) error { return nil }

func (snd *sender) Warn(msg string) error {
	snd.s.log.Warn("provider: " + msg)
	return nil
}

// Checkpoint (a historical unit's state) means nothing to a live feed.
func (snd *sender) Checkpoint([]byte, string) error { return nil }

// item is one message for a committer: a batch (retained), a row error, a
// position (with the source's clock), or the source's clock alone.
type item struct {
	rec    arrow.RecordBatch
	at     time.Time // when the batch arrived
	rowErr *sdk.RowError
	pos    *sdk.LivePosition
	source int64
}

// itemQueue is how many items wait for a committer: with the batch being
// loaded, memory stays bounded by a few batches per stream, and a slow
// database slows the provider down (and, through it, the source's socket)
// instead of filling memory.
const itemQueue = 4

// committer loads one stream of the feed: each batch into an open
// transaction as it arrives, committed with the stream's position at the
// first position after commitRows rows, or every commitInterval.
//
// A provider sends a stream's position after the batches it covers. So a
// commit for commitRows waits for that position, and commits the rows
// together with the position that covers exactly them; a position that
// arrives once its rows are committed (the interval struck in between) is
// written on its own at the next tick. Committing at the batch instead left
// every commit's position one batch behind its rows, and the last position
// of a feed unwritten: a restart replayed rows already stored.
type committer struct {
	s      *session
	p      *runner.Planned
	stream string
	table  string
	key    string
	items  chan item
	failed chan struct{} // closed when the committer failed
	err    error

	loader *runner.StreamLoader
	tx     *load.UnitTx
	rows   int64     // rows in tx
	oldest time.Time // arrival of tx's first batch
	pos    *sdk.LivePosition
	// posDue: pos is not written yet (the rows it covers may all be).
	posDue bool
	source int64 // the source's clock, latest seen
	// committedSource is the source clock last written, and when.
	committedSource int64
	touchedAt       time.Time
	sessionRows     int64
}

func (s *session) newCommitter(p *runner.Planned, n int) (*committer, error) {
	key := fmt.Sprintf("live/%s/%s", s.job.Name, p.Stream.Name)
	loader, err := s.o.Runner.NewStreamLoader(p, key, s.job.Source.Dataset, time.Time{}, time.Time{})
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", p.Stream.Name, err)
	}
	return &committer{
		s: s, p: p, stream: p.Stream.Name, table: p.Table.Plain(), key: key,
		items: make(chan item, itemQueue), failed: make(chan struct{}), loader: loader,
	}, nil
}

// put hands an item to the committer; it blocks while the queue is full,
// and fails once the committer has failed.
func (c *committer) put(it item) error {
	select {
	case <-c.failed:
		if it.rec != nil {
			it.rec.Release()
		}
		return c.err
	default:
	}
	select {
	case c.items <- it:
		return nil
	case <-c.failed:
		if it.rec != nil {
			it.rec.Release()
		}
		return c.err
	}
}

// run loads items until the queue is closed, then commits what it holds.
// On a failure it rolls back, drops what follows, and cancels the feed.
func (c *committer) run(cancel context.CancelCauseFunc) {
	ctx := c.s.dbCtx
	every := c.s.commitInterval()
	timer := time.NewTimer(every)
	defer timer.Stop()
	fail := func(err error) {
		if c.tx != nil {
			_ = c.tx.Rollback(ctx)
			c.tx = nil
		}
		c.err = err
		close(c.failed)
		cancel(err)
		for it := range c.items { // drain, so the sender never blocks
			if it.rec != nil {
				it.rec.Release()
			}
		}
	}
	for {
		select {
		case it, ok := <-c.items:
			if !ok {
				if err := c.commit(ctx); err != nil {
					fail(err)
				}
				return
			}
			opened := c.tx == nil
			if err := c.handle(ctx, it); err != nil {
				fail(err)
				return
			}
			if opened && c.tx != nil {
				timer.Reset(every)
			}
			if it.pos != nil && c.rows >= int64(c.s.commitRows()) {
				if err := c.commit(ctx); err != nil {
					fail(err)
					return
				}
			}
		case <-timer.C:
			// A batch waits at most about every: the timer restarts when
			// a transaction opens (see begin).
			if err := c.commit(ctx); err != nil {
				fail(err)
				return
			}
			timer.Reset(every)
		}
	}
}

func (c *committer) begin(ctx context.Context) error {
	if c.tx != nil {
		return nil
	}
	info := load.UnitInfo{
		Key: c.key, RunID: c.s.runID, Provider: c.s.job.Provider.Name, Dataset: c.s.job.Source.Dataset,
		Schema: c.stream, Table: c.table, ConflictUpdate: c.p.ConflictUpdate(), TableInfo: &c.p.Table,
	}
	tx, err := load.BeginLive(ctx, c.s.o.Pool, info)
	if err != nil {
		return err
	}
	c.tx, c.rows, c.oldest = tx, 0, time.Now()
	return nil
}

func (c *committer) handle(ctx context.Context, it item) error {
	if it.source != 0 {
		c.source = max(c.source, it.source)
	}
	switch {
	case it.rec != nil:
		defer it.rec.Release()
		if err := c.begin(ctx); err != nil {
			return err
		}
		if c.rows == 0 {
			c.oldest = it.at
		}
		if err := c.loader.Load(ctx, c.tx, it.rec); err != nil {
			return err
		}
		c.rows += it.rec.NumRows()
	case it.rowErr != nil:
		if err := c.begin(ctx); err != nil {
			return err
		}
		if err := c.loader.RowError(ctx, c.tx, *it.rowErr); err != nil {
			return err
		}
	case it.pos != nil:
		c.pos, c.posDue = it.pos, true
	}
	return nil
}

// commit commits the open transaction with the stream's latest position:
// every batch the provider sent before that position is in it, or in an
// earlier commit. Without a transaction, it writes a position not written
// yet (its rows are committed), else it records the source's clock.
func (c *committer) commit(ctx context.Context) error {
	if c.tx == nil && !c.posDue {
		return c.touch(ctx)
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	tx := c.tx
	c.tx = nil
	counts := tx.Counts()
	params := dbq.CommitLivePositionParams{Name: c.s.job.Name, Stream: c.stream, TargetTable: c.table, Rows: counts.Inserted}
	if c.pos != nil { // else rows before any position: the committed one stays
		params.TsNs, params.Sequence = &c.pos.Time, ptr(strconv.FormatUint(c.pos.Sequence, 10))
	}
	if c.source != 0 {
		params.SourceTs = ptr(time.Unix(0, c.source).UTC())
	}
	err := tx.CommitWith(ctx, func(tx pgx.Tx) error {
		q := dbq.New(tx)
		if n, err := q.CommitLivePosition(ctx, params); err != nil || n != 1 {
			return fmt.Errorf("write the stream's position (%d rows): %w", n, err)
		}
		return q.AddLiveRunRows(ctx, dbq.AddLiveRunRowsParams{
			RunID: c.s.runID, RowsInserted: counts.Inserted, RowsDeduplicated: counts.Deduplicated,
			RowsQuarantined: counts.Quarantined, RowsWarned: counts.Warned,
		})
	})
	if err != nil {
		return fmt.Errorf("stream %s: commit: %w", c.stream, err)
	}
	c.committedSource, c.touchedAt, c.posDue = c.source, time.Now(), false
	c.sessionRows += counts.Inserted
	c.s.committed.Add(counts.Inserted)
	sc := &c.s.counts
	sc.mu.Lock()
	sc.inserted += counts.Inserted
	sc.deduplicated += counts.Deduplicated
	sc.quarantined += counts.Quarantined
	sc.warn += counts.Warned
	sc.mu.Unlock()
	if c.s.o.OnCommit != nil && counts.Seen() > 0 {
		c.s.o.OnCommit(c.stream, counts.Seen(), time.Since(c.oldest))
	}
	return nil
}

// touch records the source's clock when nothing new arrived for the stream
// (a quiet feed stays on time), at most once per commit interval.
func (c *committer) touch(ctx context.Context) error {
	if c.source == 0 || c.source == c.committedSource || time.Since(c.touchedAt) < c.s.commitInterval() {
		return nil
	}
	if err := dbq.New(c.s.o.Pool).TouchLivePosition(ctx, dbq.TouchLivePositionParams{
		Name: c.s.job.Name, Stream: c.stream, SourceTs: ptr(time.Unix(0, c.source).UTC()),
	}); err != nil {
		return fmt.Errorf("stream %s: record the source's clock: %w", c.stream, err)
	}
	c.committedSource, c.touchedAt = c.source, time.Now()
	return nil
}

// parseSeq reads a numeric(20) sequence.
func parseSeq(s string) uint64 {
	v, ok := new(big.Int).SetString(s, 10)
	if !ok || !v.IsUint64() {
		return 0
	}
	return v.Uint64()
}
