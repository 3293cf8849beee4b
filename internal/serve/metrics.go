package serve

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/status"
)

// metrics are what /metrics exposes: requests and latency by route, rows
// served, the data loaded per table, runs and units per outcome, the work
// queue, the workers and the live streams (read from the database at scrape
// time), the connection pool, Go and the process. deploy/grafana/hdi.json
// charts them; its test checks every query against a scrape.
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	rowsServed prometheus.Counter
}

func newMetrics(pool *pgxpool.Pool, workerStaleAfter time.Duration) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hdi_http_requests_total",
			Help: "HTTP requests by route pattern, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hdi_http_request_duration_seconds",
			Help: "Time to the end of the response, by route pattern and method.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)},
			[]string{"route", "method"}),
		rowsServed: prometheus.NewCounter(prometheus.CounterOpts{Name: "hdi_rows_served_total", Help: "Rows streamed by data endpoints."}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.rowsServed,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&poolCollector{pool: pool}, &dataCollector{pool: pool, workerStaleAfter: workerStaleAfter})
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// middleware counts and times requests by chi's route pattern (complete
// once the request is served), not by path, so labels stay few.
func (m *metrics) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		status := 0
		defer func() {
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			if status == 0 {
				if status = ww.Status(); status == 0 {
					status = http.StatusOK
				}
			}
			m.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
			m.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		}()
		defer func() {
			if v := recover(); v != nil {
				status = 499 // an aborted stream: the client saw a cut connection
				panic(v)
			}
		}()
		next.ServeHTTP(ww, r)
	})
}

// poolCollector reports the connection pool's state at each scrape.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolConns   = prometheus.NewDesc("hdi_db_pool_conns", "Connections of the pool by state.", []string{"state"}, nil)
	poolMax     = prometheus.NewDesc("hdi_db_pool_max_conns", "The pool's maximum size.", nil, nil)
	poolAcquire = prometheus.NewDesc("hdi_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	poolWait    = prometheus.NewDesc("hdi_db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection.", nil, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.AcquiredConns()), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.IdleConns()), "idle")
	ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(s.ConstructingConns()), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolAcquire, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.AcquireDuration().Seconds())
}

// dataCollector reads what was loaded, how runs ended, the queue, the
// workers and the live streams, at each scrape.
type dataCollector struct {
	pool *pgxpool.Pool
	// workerStaleAfter: a worker whose heartbeat is older is not alive
	// (worker.rescue_after, as `hdi status` counts them).
	workerStaleAfter time.Duration
}

var (
	rowsLoaded  = prometheus.NewDesc("hdi_rows_loaded", "Rows loaded per table (counted at load time).", []string{"table"}, nil)
	runOutcome  = prometheus.NewDesc("hdi_runs", "Ingest runs by status.", []string{"status"}, nil)
	unitOutcome = prometheus.NewDesc("hdi_units", "Ledger units by status.", []string{"status"}, nil)
	dataUp      = prometheus.NewDesc("hdi_database_up", "1 when the last scrape could read the database.", nil, nil)

	// The queue's labels are few: queues are named in jobs and on workers,
	// kinds and states are River's. Workers are summed, not labelled by
	// their id (a host:pid, new at each start).
	queueJobs    = prometheus.NewDesc("hdi_queue_jobs", "Queued jobs not finished, by queue, kind (hdi.unit: a unit of a run) and River state (available, running, retryable, scheduled, pending).", []string{"queue", "kind", "state"}, nil)
	workersAlive = prometheus.NewDesc("hdi_workers_alive", "hdi worker processes whose heartbeat is recent (within worker.rescue_after).", nil, nil)
	workerSlots  = prometheus.NewDesc("hdi_worker_slots", "Unit slots (--concurrency) of the workers alive: busy loading a unit, or idle.", []string{"state"}, nil)

	streamLag        = prometheus.NewDesc("hdi_stream_lag_seconds", "Time since the source's clock at the live stream's last commit (how far behind the feed the database is).", []string{"stream"}, nil)
	streamRows       = prometheus.NewDesc("hdi_stream_rows_total", "Rows a live stream has committed.", []string{"stream"}, nil)
	streamRate       = prometheus.NewDesc("hdi_stream_rows_per_second", "Rows per second a live stream commits, as its process measures it.", []string{"stream"}, nil)
	streamReconnects = prometheus.NewDesc("hdi_stream_reconnects_total", "Times a live stream's feed was cut and it reconnected.", []string{"stream"}, nil)
	streamBackfills  = prometheus.NewDesc("hdi_stream_gaps_backfilled_total", "Gaps longer than the replay window a live stream filled from history.", []string{"stream"}, nil)
	streamState      = prometheus.NewDesc("hdi_stream_state", "1 for a live stream's state (streaming, reconnecting, backfilling, stopped, failed, dead).", []string{"stream", "state"}, nil)
)

func (c *dataCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *dataCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := dbq.New(c.pool)
	up := 1.0
	if rows, err := q.MetricsRowsByTable(ctx); err == nil {
		for _, r := range rows {
			ch <- prometheus.MustNewConstMetric(rowsLoaded, prometheus.GaugeValue, float64(r.RowCount), r.TableName)
		}
	} else {
		up = 0
	}
	if runs, err := q.MetricsRunOutcomes(ctx); err == nil {
		for _, r := range runs {
			ch <- prometheus.MustNewConstMetric(runOutcome, prometheus.GaugeValue, float64(r.Runs), r.Status)
		}
	} else {
		up = 0
	}
	if units, err := q.MetricsUnitOutcomes(ctx); err == nil {
		for _, u := range units {
			ch <- prometheus.MustNewConstMetric(unitOutcome, prometheus.GaugeValue, float64(u.Units), u.Status)
		}
	} else {
		up = 0
	}
	if jobs, err := q.QueueDepth(ctx); err == nil {
		for _, j := range jobs {
			ch <- prometheus.MustNewConstMetric(queueJobs, prometheus.GaugeValue, float64(j.Jobs), j.Queue, j.Kind, j.State)
		}
	} else {
		up = 0
	}
	if workers, err := q.LiveWorkers(ctx, c.workerStaleAfter.Seconds()); err == nil {
		var busy, idle int64
		for _, w := range workers {
			busy += w.Running
			idle += max(int64(w.Concurrency)-w.Running, 0)
		}
		ch <- prometheus.MustNewConstMetric(workersAlive, prometheus.GaugeValue, float64(len(workers)))
		ch <- prometheus.MustNewConstMetric(workerSlots, prometheus.GaugeValue, float64(busy), "busy")
		ch <- prometheus.MustNewConstMetric(workerSlots, prometheus.GaugeValue, float64(idle), "idle")
	} else {
		up = 0
	}
	if streams, err := status.Streams(ctx, c.pool); err == nil {
		for _, s := range streams {
			if s.LagSeconds >= 0 {
				ch <- prometheus.MustNewConstMetric(streamLag, prometheus.GaugeValue, s.LagSeconds, s.Name)
			}
			ch <- prometheus.MustNewConstMetric(streamRows, prometheus.CounterValue, float64(s.RowsTotal), s.Name)
			ch <- prometheus.MustNewConstMetric(streamRate, prometheus.GaugeValue, s.RowsPerS, s.Name)
			ch <- prometheus.MustNewConstMetric(streamReconnects, prometheus.CounterValue, float64(s.Reconnects), s.Name)
			ch <- prometheus.MustNewConstMetric(streamBackfills, prometheus.CounterValue, float64(s.GapsBackfilled), s.Name)
			ch <- prometheus.MustNewConstMetric(streamState, prometheus.GaugeValue, 1, s.Name, s.State)
		}
	} else {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(dataUp, prometheus.GaugeValue, up)
}
