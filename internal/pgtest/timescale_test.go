package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const tickRows = 100_000

var tickBase = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// tickSource yields rows of a 5-column table: one per second from start,
// instrument i%10, price i*1000, size i%100, side B/S.
type tickSource struct {
	start time.Time
	n, i  int
}

func (s *tickSource) Next() bool { s.i++; return s.i <= s.n }
func (s *tickSource) Err() error { return nil }
func (s *tickSource) Values() ([]any, error) {
	i := s.i - 1
	side := "B"
	if i%2 == 1 {
		side = "S"
	}
	return []any{s.start.Add(time.Duration(i) * time.Second), int32(i % 10), int64(i) * 1000, int32(i % 100), side}, nil
}

var tickColumns = []string{"ts", "instrument_id", "price", "size", "side"}

func TestTimescaleDB(t *testing.T) {
	url := NewTimescaleDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)

	exec := func(t *testing.T, sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	// totals checks the row count and sums of ticks between from and to.
	totals := func(t *testing.T, q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}, from, to time.Time) (n, price, size int64) {
		t.Helper()
		err := q.QueryRow(ctx, `SELECT count(*), coalesce(sum(price), 0)::int8, coalesce(sum(size), 0)::int8
			FROM ticks WHERE ts >= $1 AND ts < $2`, from, to).Scan(&n, &price, &size)
		if err != nil {
			t.Fatalf("totals: %v", err)
		}
		return n, price, size
	}
	wantPrice := int64(1000) * int64(tickRows-1) * int64(tickRows) / 2
	wantSize := int64(tickRows/100) * (99 * 100 / 2)
	firstFrom, firstTo := tickBase, tickBase.Add(tickRows*time.Second)
	secondBase := tickBase.Add(10 * 24 * time.Hour)
	secondFrom, secondTo := secondBase, secondBase.Add(tickRows*time.Second)

	t.Run("extension", func(t *testing.T) {
		exec(t, `CREATE EXTENSION IF NOT EXISTS timescaledb`)
		var v string
		if err := conn.QueryRow(ctx, `SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(v, "2.23") {
			t.Fatalf("timescaledb version %q, want 2.23.x", v)
		}
		var tz string
		if err := conn.QueryRow(ctx, `SHOW TimeZone`).Scan(&tz); err != nil || tz != "UTC" {
			t.Fatalf("TimeZone = %q, %v; want UTC", tz, err)
		}
	})

	t.Run("hypertable", func(t *testing.T) {
		exec(t, `CREATE TABLE ticks (
			ts timestamptz NOT NULL, instrument_id int NOT NULL, price bigint NOT NULL,
			size int NOT NULL, side text NOT NULL)`)
		exec(t, `SELECT create_hypertable('ticks', by_range('ts', INTERVAL '1 day'))`)
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'ticks'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("hypertables: %d, %v", n, err)
		}
	})

	t.Run("copy in transaction", func(t *testing.T) {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, err := tx.CopyFrom(ctx, pgx.Identifier{"ticks"}, tickColumns, &tickSource{start: tickBase, n: tickRows})
		if err != nil {
			t.Fatalf("CopyFrom: %v", err)
		}
		elapsed := time.Since(start)
		if got != tickRows {
			t.Fatalf("CopyFrom reported %d rows, want %d", got, tickRows)
		}
		// Visible inside the transaction, before COMMIT.
		if n, _, _ := totals(t, tx, firstFrom, firstTo); n != tickRows {
			t.Fatalf("in transaction: %d rows", n)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("COPY (binary, 5 columns, in a transaction): %d rows in %v = %.0f rows/s",
			got, elapsed.Round(time.Millisecond), float64(got)/elapsed.Seconds())
		n, price, size := totals(t, conn, firstFrom, firstTo)
		if n != tickRows || price != wantPrice || size != wantSize {
			t.Fatalf("after commit: count %d sum(price) %d sum(size) %d; want %d %d %d", n, price, size, tickRows, wantPrice, wantSize)
		}
		var chunks int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM show_chunks('ticks')`).Scan(&chunks); err != nil || chunks != 2 {
			t.Fatalf("chunks: %d, %v; want 2 (100k seconds over 1-day chunks)", chunks, err)
		}
	})

	t.Run("copy via pool", func(t *testing.T) {
		pool, err := pgxpool.New(ctx, url+"&pool_max_conns=1")
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		start := time.Now()
		got, err := pool.CopyFrom(ctx, pgx.Identifier{"ticks"}, tickColumns, &tickSource{start: secondBase, n: tickRows})
		if err != nil {
			t.Fatalf("CopyFrom: %v", err)
		}
		elapsed := time.Since(start)
		t.Logf("COPY (binary, 5 columns, pool, autocommit): %d rows in %v = %.0f rows/s",
			got, elapsed.Round(time.Millisecond), float64(got)/elapsed.Seconds())
		n, price, size := totals(t, pool, secondFrom, secondTo)
		if got != tickRows || n != tickRows || price != wantPrice || size != wantSize {
			t.Fatalf("pool copy: reported %d, count %d sum(price) %d sum(size) %d", got, n, price, size)
		}
		// The other connection sees them too.
		if n, _, _ := totals(t, conn, tickBase, secondTo); n != 2*tickRows {
			t.Fatalf("total rows %d, want %d", n, 2*tickRows)
		}
	})

	t.Run("copy into a plain table", func(t *testing.T) {
		exec(t, `CREATE TABLE plain_ticks (ts timestamptz NOT NULL, instrument_id int NOT NULL,
			price bigint NOT NULL, size int NOT NULL, side text NOT NULL)`)
		start := time.Now()
		got, err := conn.CopyFrom(ctx, pgx.Identifier{"plain_ticks"}, tickColumns, &tickSource{start: tickBase, n: tickRows})
		if err != nil {
			t.Fatalf("CopyFrom: %v", err)
		}
		elapsed := time.Since(start)
		t.Logf("COPY (binary, 5 columns, plain table): %d rows in %v = %.0f rows/s",
			got, elapsed.Round(time.Millisecond), float64(got)/elapsed.Seconds())
		var n, price int64
		if err := conn.QueryRow(ctx, `SELECT count(*), sum(price)::int8 FROM plain_ticks`).Scan(&n, &price); err != nil ||
			got != tickRows || n != tickRows || price != wantPrice {
			t.Fatalf("plain copy: reported %d, count %d, sum %d, %v", got, n, price, err)
		}
		start = time.Now()
		rows, err := conn.Query(ctx, `SELECT ts, instrument_id, price, size, side FROM plain_ticks`)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for rows.Next() {
			var r struct {
				ts       time.Time
				id, size int32
				price    int64
				side     string
			}
			if err := rows.Scan(&r.ts, &r.id, &r.price, &r.size, &r.side); err != nil {
				t.Fatal(err)
			}
			sum += r.price
		}
		if rows.Err() != nil || sum != wantPrice {
			t.Fatalf("read back: sum %d, %v", sum, rows.Err())
		}
		t.Logf("SELECT of all %d rows (extended protocol): %v", tickRows, time.Since(start).Round(time.Millisecond))
	})

	t.Run("copy text and csv, copy to stdout, copy errors", func(t *testing.T) {
		exec(t, `CREATE TABLE notes (id int PRIMARY KEY, body text, at timestamptz)`)
		pc := conn.PgConn()
		tag, err := pc.CopyFrom(ctx, strings.NewReader("1\thello\t2024-01-02 03:04:05+00\n2\t\\N\t\\N\n"), `COPY notes FROM STDIN`)
		if err != nil || tag.RowsAffected() != 2 {
			t.Fatalf("text COPY: %v %v", tag, err)
		}
		tag, err = pc.CopyFrom(ctx, strings.NewReader("id,body\n3,\"a, quoted\"\"\"\n4,\n"), `COPY notes (id, body) FROM STDIN (FORMAT csv, HEADER true)`)
		if err != nil || tag.RowsAffected() != 2 {
			t.Fatalf("csv COPY: %v %v", tag, err)
		}
		var out bytes.Buffer
		tag, err = pc.CopyTo(ctx, &out, `COPY (SELECT id, body FROM notes ORDER BY id) TO STDOUT (FORMAT csv)`)
		if err != nil || tag.RowsAffected() != 4 {
			t.Fatalf("COPY TO: %v %v", tag, err)
		}
		if want := "1,hello\n2,\n3,\"a, quoted\"\"\"\n4,\n"; out.String() != want {
			t.Fatalf("COPY TO wrote %q, want %q", out.String(), want)
		}
		// A bad row fails the COPY; a missing table fails before any data.
		_, err = pc.CopyFrom(ctx, strings.NewReader("5\tok\t\\N\nnot-a-number\tx\t\\N\n"), `COPY notes FROM STDIN`)
		if code := timescaleSQLState(err); code != "22P02" {
			t.Fatalf("bad row: %v (SQLSTATE %q), want 22P02", err, code)
		}
		_, err = pc.CopyFrom(ctx, strings.NewReader("1\n"), `COPY no_such_table FROM STDIN`)
		if code := timescaleSQLState(err); code != "42P01" {
			t.Fatalf("missing table: %v (SQLSTATE %q), want 42P01", err, code)
		}
		// A duplicate key inside a transaction aborts it, like PostgreSQL.
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"notes"}, []string{"id", "body"}, pgx.CopyFromRows([][]any{{int32(9), "new"}, {int32(1), "dup"}}))
		if code := timescaleSQLState(err); code != "23505" {
			t.Fatalf("duplicate: %v (SQLSTATE %q), want 23505", err, code)
		}
		if _, err := tx.Exec(ctx, `SELECT 1`); timescaleSQLState(err) != "25P02" {
			t.Fatalf("after failed COPY in transaction: %v, want 25P02", err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM notes`).Scan(&n); err != nil || n != 4 {
			t.Fatalf("notes: %d rows, %v; want 4", n, err)
		}
	})

	t.Run("extended protocol parameters", func(t *testing.T) {
		at := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
		for _, mode := range []pgx.QueryExecMode{
			pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe,
			pgx.QueryExecModeDescribeExec, pgx.QueryExecModeExec, pgx.QueryExecModeSimpleProtocol,
		} {
			for round := range 3 { // the second round hits pgx's statement cache
				var (
					i8    int64
					s     string
					ts    time.Time
					num   string
					by    []byte
					ints  []int64
					texts []string
					null  *string
				)
				err := conn.QueryRow(ctx, `SELECT $1::int8 + 1, $2::text || '!', $3::timestamptz + interval '1 microsecond',
					($4::numeric * 2)::text, $5::bytea, $6::int8[], $7::text[], $8::text`,
					mode, int64(-9223372036854775807), "héllo 'q'", at, "12345678901234567890.123456789", []byte{0, 1, 254, 255},
					[]int64{1, -2, 3}, []string{"a", "b,c", `d"e`}, nil,
				).Scan(&i8, &s, &ts, &num, &by, &ints, &texts, &null)
				if err != nil {
					t.Fatalf("%v round %d: %v", mode, round, err)
				}
				if i8 != -9223372036854775806 || s != "héllo 'q'!" || !ts.Equal(at.Add(time.Microsecond)) ||
					num != "24691357802469135780.246913578" || !bytes.Equal(by, []byte{0, 1, 254, 255}) ||
					!slices.Equal(ints, []int64{1, -2, 3}) || !slices.Equal(texts, []string{"a", "b,c", `d"e`}) || null != nil {
					t.Fatalf("%v round %d: got %d %q %v %q %v %v %q %v", mode, round, i8, s, ts, num, by, ints, texts, null)
				}
			}
			// Parameters against the hypertable, many rows back.
			rows, err := conn.Query(ctx, `SELECT instrument_id, count(*), sum(price)::int8 FROM ticks
				WHERE ts >= $1 AND ts < $2 AND instrument_id = ANY($3) GROUP BY 1 ORDER BY 1`,
				mode, tickBase, tickBase.Add(time.Hour), []int32{0, 7})
			if err != nil {
				t.Fatalf("%v: %v", mode, err)
			}
			type agg struct{ id, n, px int64 }
			got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (agg, error) {
				var a agg
				return a, r.Scan(&a.id, &a.n, &a.px)
			})
			if err != nil {
				t.Fatalf("%v: %v", mode, err)
			}
			// Seconds 0..3599: instrument k has i = k, k+10, ..., 360 rows.
			want := []agg{{0, 360, 1000 * (10 * 359 * 360 / 2)}, {7, 360, 1000 * (7*360 + 10*359*360/2)}}
			if !slices.Equal(got, want) {
				t.Fatalf("%v: got %v, want %v", mode, got, want)
			}
		}
		// A batch: several queries pipelined before one Sync.
		b := &pgx.Batch{}
		for i := range 5 {
			b.Queue(`SELECT $1::int * 10`, i)
		}
		br := conn.SendBatch(ctx, b)
		for i := range 5 {
			var v int
			if err := br.QueryRow().Scan(&v); err != nil || v != i*10 {
				t.Fatalf("batch %d: %d, %v", i, v, err)
			}
		}
		if err := br.Close(); err != nil {
			t.Fatal(err)
		}
		// Prepared statements by name, deallocated, prepared again.
		if _, err := conn.Prepare(ctx, "twice", `SELECT $1::int * 2`); err != nil {
			t.Fatal(err)
		}
		var v int
		if err := conn.QueryRow(ctx, "twice", 21).Scan(&v); err != nil || v != 42 {
			t.Fatalf("prepared: %d, %v", v, err)
		}
		if err := conn.Deallocate(ctx, "twice"); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Prepare(ctx, "twice", `SELECT $1::int * 3`); err != nil {
			t.Fatal(err)
		}
		if err := conn.QueryRow(ctx, "twice", 21).Scan(&v); err != nil || v != 63 {
			t.Fatalf("prepared again: %d, %v", v, err)
		}
	})

	t.Run("error mid-transaction then rollback", func(t *testing.T) {
		exec(t, `CREATE TABLE flags (id int PRIMARY KEY)`)
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO flags VALUES ($1)`, 1); err != nil {
			t.Fatal(err)
		}
		var x int
		if err := tx.QueryRow(ctx, `SELECT 1 / $1::int`, 0).Scan(&x); timescaleSQLState(err) != "22012" {
			t.Fatalf("division by zero: %v", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO flags VALUES ($1)`, 2); timescaleSQLState(err) != "25P02" {
			t.Fatalf("in failed transaction: %v, want 25P02", err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM flags`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after rollback: %d rows, %v", n, err)
		}
		// A syntax error in the extended protocol leaves the connection usable.
		if _, err := conn.Exec(ctx, `SELEC $1`, 1); timescaleSQLState(err) != "42601" {
			t.Fatalf("syntax error: %v", err)
		}
		if err := conn.QueryRow(ctx, `SELECT 5`).Scan(&n); err != nil || n != 5 {
			t.Fatalf("after syntax error: %d, %v", n, err)
		}
	})

	t.Run("compression", func(t *testing.T) {
		before := [3]int64{}
		before[0], before[1], before[2] = totals(t, conn, tickBase, secondTo)
		exec(t, `ALTER TABLE ticks SET (timescaledb.compress, timescaledb.compress_segmentby = 'instrument_id',
			timescaledb.compress_orderby = 'ts DESC')`)
		start := time.Now()
		var compressed int
		if err := conn.QueryRow(ctx, `SELECT count(compress_chunk(c)) FROM show_chunks('ticks') c`).Scan(&compressed); err != nil {
			t.Fatalf("compress_chunk: %v", err)
		}
		t.Logf("compressed %d chunks (%d rows) in %v", compressed, before[0], time.Since(start).Round(time.Millisecond))
		var done int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM timescaledb_information.chunks
			WHERE hypertable_name = 'ticks' AND is_compressed`).Scan(&done); err != nil || done != compressed || done < 4 {
			t.Fatalf("compressed chunks: %d of %d, %v", done, compressed, err)
		}
		after := [3]int64{}
		after[0], after[1], after[2] = totals(t, conn, tickBase, secondTo)
		if before != after || after[0] != 2*tickRows {
			t.Fatalf("after compression: %v, before %v", after, before)
		}
		// Row-level reads from compressed chunks.
		var price int64
		var side string
		if err := conn.QueryRow(ctx, `SELECT price, side FROM ticks WHERE ts = $1 AND instrument_id = 5`,
			tickBase.Add(12345*time.Second)).Scan(&price, &side); err != nil || price != 12345000 || side != "S" {
			t.Fatalf("row from compressed chunk: %d %q %v", price, side, err)
		}
	})

	t.Run("continuous aggregate", func(t *testing.T) {
		exec(t, `CREATE MATERIALIZED VIEW ticks_1h WITH (timescaledb.continuous) AS
			SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, instrument_id, count(*) AS n, sum(price) AS px
			FROM ticks GROUP BY 1, 2 WITH NO DATA`)
		exec(t, `CALL refresh_continuous_aggregate('ticks_1h', NULL, NULL)`)
		var buckets, n int64
		var px string
		if err := conn.QueryRow(ctx, `SELECT count(*), sum(n)::int8, sum(px)::text FROM ticks_1h`).Scan(&buckets, &n, &px); err != nil {
			t.Fatal(err)
		}
		// 100k seconds = 27h46m40s: 28 hourly buckets per copy, 10 instruments.
		if n != 2*tickRows || buckets != 2*28*10 || px != fmt.Sprint(2*wantPrice) {
			t.Fatalf("cagg: %d buckets, %d rows, sum %s; want 560, %d, %d", buckets, n, px, 2*tickRows, 2*wantPrice)
		}
		var bn int64
		var bpx string
		if err := conn.QueryRow(ctx, `SELECT n, px::text FROM ticks_1h WHERE bucket = $1 AND instrument_id = 7`,
			tickBase).Scan(&bn, &bpx); err != nil || bn != 360 || bpx != fmt.Sprint(1000*(7*360+10*359*360/2)) {
			t.Fatalf("first bucket of instrument 7: %d %s %v", bn, bpx, err)
		}
	})

	t.Run("run_job compression policy", func(t *testing.T) {
		exec(t, `CREATE TABLE bars (ts timestamptz NOT NULL, instrument_id int NOT NULL, close bigint NOT NULL)`)
		exec(t, `SELECT create_hypertable('bars', by_range('ts', INTERVAL '1 day'))`)
		exec(t, `INSERT INTO bars SELECT t, 1, extract(epoch FROM t)::int8
			FROM generate_series(timestamptz '2024-01-01', '2024-01-05 23:00', INTERVAL '1 hour') t`)
		exec(t, `ALTER TABLE bars SET (timescaledb.compress, timescaledb.compress_segmentby = 'instrument_id')`)
		var job int
		if err := conn.QueryRow(ctx, `SELECT add_compression_policy('bars', compress_after => INTERVAL '1 day')`).Scan(&job); err != nil {
			t.Fatal(err)
		}
		var compressed int
		q := `SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = 'bars' AND is_compressed`
		if err := conn.QueryRow(ctx, q).Scan(&compressed); err != nil || compressed != 0 {
			t.Fatalf("before run_job: %d compressed, %v (no background workers should have run)", compressed, err)
		}
		exec(t, `CALL run_job($1)`, job)
		if err := conn.QueryRow(ctx, q).Scan(&compressed); err != nil || compressed != 5 {
			t.Fatalf("after run_job(%d): %d compressed chunks, %v; want 5", job, compressed, err)
		}
		var rows, sum int64
		if err := conn.QueryRow(ctx, `SELECT count(*), sum(close)::int8 FROM bars`).Scan(&rows, &sum); err != nil || rows != 120 {
			t.Fatalf("bars after compression: %d rows, %v", rows, err)
		}
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		if want := 120*start + 3600*(119*120/2); sum != want {
			t.Fatalf("sum(close) = %d, want %d", sum, want)
		}
	})

	t.Run("concurrent connections take turns", func(t *testing.T) {
		exec(t, `CREATE TABLE counter (worker int, k int, PRIMARY KEY (worker, k))`)
		pool, err := pgxpool.New(ctx, url+"&pool_max_conns=4")
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Go(func() {
				for k := range 10 {
					err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						var max int
						if err := tx.QueryRow(ctx, `SELECT coalesce(max(k), -1) FROM counter WHERE worker = $1`, w).Scan(&max); err != nil {
							return err
						}
						if max != k-1 {
							return fmt.Errorf("worker %d saw max %d before inserting %d", w, max, k)
						}
						_, err := tx.Exec(ctx, `INSERT INTO counter VALUES ($1, $2)`, w, k)
						return err
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM counter`).Scan(&n); err != nil || n != 80 {
			t.Fatalf("counter rows %d, %v", n, err)
		}
		if s := pool.Stat(); s.TotalConns() < 2 {
			t.Logf("pool opened only %d connection(s)", s.TotalConns())
		}
	})

	t.Run("disconnect mid-transaction rolls back", func(t *testing.T) {
		other, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec(ctx, `BEGIN; INSERT INTO flags VALUES (100)`); err != nil {
			t.Fatal(err)
		}
		// Closing without COMMIT: the server must roll back for the next client.
		if err := other.PgConn().Close(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM flags WHERE id = 100`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("row of the dropped transaction: %d, %v", n, err)
		}
		// The server's ReadyForQuery after that query says whether the shared
		// session is still inside the dropped transaction ('T') or idle ('I').
		if st := conn.PgConn().TxStatus(); st != 'I' {
			t.Fatalf("session left inside a transaction: status %q", st)
		}
	})
}

func timescaleSQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
