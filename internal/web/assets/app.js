// hdi's page: a chart of bars (GET /api/v1/bars), the coverage heat map
// (GET /api/v1/coverage) and the runs (GET /api/v1/runs), from the same
// server. window.hdi records what was drawn, for people and for tests.
'use strict';

const $ = (sel) => document.querySelector(sel);
window.hdi = { chart: null, coverage: null, runs: null, access: null, action: null, errors: [] };

// ---- API access, with the bearer token when the server asks for one.

function token() { return sessionStorage.getItem('hdi-token') || ''; }

async function api(path, method, body) {
  const headers = { Accept: 'application/json' };
  if (token()) headers.Authorization = 'Bearer ' + token();
  const init = { headers, method: method || 'GET' };
  if (init.method !== 'GET') {
    // A key of its own: a request sent again (a retry of the browser's)
    // gets the first answer, not a second run.
    headers['Idempotency-Key'] = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  }
  const res = await fetch(path, init);
  if (res.status === 401) {
    $('#token-form').hidden = false;
    throw apiError('the server wants an API token: enter it above', res.status, path);
  }
  if (!res.ok) {
    let detail = res.status + ' ' + res.statusText;
    try { const p = await res.json(); detail = p.detail || detail; } catch (e) { /* not problem+json */ }
    throw apiError(detail, res.status, path);
  }
  return res.json();
}

// apiError is a failed request: the problem's detail, its status and the
// request, for the page state.
function apiError(detail, status, path) {
  const e = new Error(detail);
  e.status = status;
  e.path = path;
  return e;
}

$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('hdi-token', $('#token').value);
  $('#token').value = '';
  $('#token-form').hidden = true;
  chartShown = false; // load it again, with the token
  whoami().then(() => show(location.hash.slice(1) || 'chart'));
});

$('#token-button').addEventListener('click', () => { $('#token-form').hidden = !$('#token-form').hidden; });

// ---- Who the page is: its token's name and scope (GET /api/v1/whoami).
// The runs view offers start, cancel and retry to a token with the run
// scope only; the server checks the scope of every request all the same.

const canRun = () => window.hdi.access && (window.hdi.access.scope === 'run' || window.hdi.access.scope === 'admin');

async function whoami() {
  let a;
  try {
    a = await api('/api/v1/whoami');
  } catch (e) {
    a = { token: null, scope: 'none', tokens_required: true };
  }
  if (!window.hdi.access || window.hdi.access.scope !== a.scope) window.hdi.runs = null; // its buttons change
  window.hdi.access = a;
  $('#whoami').textContent = a.token ? 'token ' + a.token + ' (' + a.scope + ')' : a.scope === 'none' ? 'no token' : 'no token (read only)';
  $('#run-form').hidden = !canRun();
  return a;
}

function status(id, text, isError) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', !!isError);
  if (isError) window.hdi.errors.push(text);
}

// ---- Tabs.

let runsTimer = null;

let chartShown = false;

function show(tab) {
  for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== tab;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.tab === tab);
  clearInterval(runsTimer);
  if (tab === 'chart' && !chartShown) { chartShown = true; loadChart(); }
  if (tab === 'coverage') loadCoverage();
  if (tab === 'runs') { jobNames(); loadRuns(); runsTimer = setInterval(loadRuns, 3000); }
}

window.addEventListener('hashchange', () => show(location.hash.slice(1) || 'chart'));

// ---- Chart.

const day = (d) => d.toISOString().slice(0, 10);
const addDays = (iso, n) => { const d = new Date(iso + 'T00:00:00Z'); d.setUTCDate(d.getUTCDate() + n); return day(d); };
let chart = null, candles = null, volume = null, markers = null;
let filled = null; // what loadChart filled into the form, and for which symbol and interval

// The table each interval's bars are made from (the SymbolBars* queries),
// whose coverage says where the bars are.
const barTable = { '1s': 'ohlcv_1s', '1m': 'ohlcv_1m', '5m': 'ohlcv_1m', '15m': 'ohlcv_1m', '1h': 'ohlcv_1h', '1d': 'ohlcv_1d', 'eod': 'ohlcv_eod' };

function ensureChart() {
  if (chart) return;
  const LC = window.LightweightCharts;
  chart = LC.createChart($('#chart-box'), {
    autoSize: true,
    layout: { background: { color: '#ffffff' }, textColor: '#1d2433' },
    timeScale: { timeVisible: true, secondsVisible: false },
  });
  candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: '#26a69a', downColor: '#ef5350', borderVisible: false, wickUpColor: '#26a69a', wickDownColor: '#ef5350',
  });
  candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.28 } });
  volume = chart.addSeries(LC.HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: '' });
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.78, bottom: 0 } });
  markers = LC.createSeriesMarkers(candles, []);
}

// barSpan asks the coverage (counted at load time) where symbol's bars are
// loaded: the first and last UTC day and the datasets; null when nowhere.
async function barSpan(symbol, table, dataset) {
  const params = new URLSearchParams({ symbols: symbol, table, bucket: 'month', format: 'json' });
  if (dataset) params.set('dataset', dataset);
  const rows = await api('/api/v1/coverage?' + params.toString());
  if (rows.length === 0) return null;
  let first = rows[0].first_ts, last = rows[0].last_ts;
  for (const r of rows) { if (r.first_ts < first) first = r.first_ts; if (r.last_ts > last) last = r.last_ts; }
  return { first: first.slice(0, 10), last: last.slice(0, 10), datasets: [...new Set(rows.map((r) => r.dataset))] };
}

// chartNote shows text over the chart (no bars, or the API's problem), or
// hides it.
function chartNote(text, isError) {
  const note = $('#chart-note');
  note.textContent = text || '';
  note.hidden = !text;
  note.classList.toggle('error', !!isError);
}

// drawn records what the chart shows once the browser has painted it.
function drawn(state) {
  requestAnimationFrame(() => requestAnimationFrame(() => {
    window.hdi.chart = Object.assign({ canvases: $('#chart-box').querySelectorAll('canvas').length }, state);
  }));
}

async function loadChart() {
  const form = $('#chart-form');
  const symbols = form.symbols.value.trim();
  const first = symbols.split(',')[0].trim(); // one series: the first symbol asked for
  const interval = form.interval.value, adjust = form.adjust.value;
  window.hdi.chart = null;
  status('#chart-status', 'loading…');
  chartNote('');
  ensureChart();
  candles.setData([]);
  volume.setData([]);
  markers.setMarkers([]);
  const fail = (e) => {
    status('#chart-status', '');
    chartNote(e.message, true);
    window.hdi.errors.push(e.message);
    drawn({ symbol: first, bars: 0, message: e.message, error: { status: e.status || 0, detail: e.message, request: e.path || '' } });
  };
  // What the page filled in for another symbol or interval, and nobody
  // changed since, is filled in again.
  if (filled && (filled.symbol !== first || filled.interval !== interval)) {
    for (const k of ['dataset', 'start', 'end']) if (form[k].value === filled[k]) form[k].value = '';
  }
  // Where the bars are: the dataset when only one has them, and the last
  // stretch with bars when no range is given (30 days; a year of daily bars).
  let span = null;
  try {
    if (first) span = await barSpan(first, barTable[interval] || 'ohlcv_1d', form.dataset.value.trim());
  } catch (e) {
    fail(e);
    return;
  }
  filled = { symbol: first, interval };
  if (span && !form.dataset.value.trim() && span.datasets.length === 1) form.dataset.value = filled.dataset = span.datasets[0];
  if (!form.start.value || !form.end.value) {
    const end = form.end.value || (span ? span.last : day(new Date()));
    const back = interval === '1d' || interval === 'eod' ? 365 : 30;
    let start = addDays(end, -back);
    if (span && span.first > start && span.first <= end) start = span.first;
    if (!form.start.value) form.start.value = filled.start = start;
    if (!form.end.value) form.end.value = filled.end = end;
  }
  const params = new URLSearchParams({ symbols, interval, start: form.start.value, end: form.end.value, adjust, format: 'json' });
  if (form.dataset.value.trim()) params.set('dataset', form.dataset.value.trim());
  history.replaceState(null, '', '?' + params.toString() + location.hash);
  let rows;
  try {
    rows = await api('/api/v1/bars?' + params.toString());
  } catch (e) {
    fail(e);
    return;
  }
  const bars = rows.filter((r) => r.symbol === first);
  const data = [], vols = [], rolls = [];
  let prev = null;
  for (const r of bars) {
    const t = Math.floor(Date.parse(r.ts_event) / 1000); // RFC 3339 with ns: seconds suffice here
    const o = Number(r.open), h = Number(r.high), l = Number(r.low), c = Number(r.close);
    data.push({ time: t, open: o, high: h, low: l, close: c });
    vols.push({ time: t, value: Number(r.volume), color: c >= o ? 'rgba(38,166,154,0.5)' : 'rgba(239,83,80,0.5)' });
    if (prev && prev.instrument_id !== r.instrument_id) {
      rolls.push({ time: t, position: 'aboveBar', color: '#2962ff', shape: 'arrowDown', text: 'roll ' + prev.raw_symbol + '→' + r.raw_symbol });
    }
    prev = r;
  }
  candles.setData(data);
  volume.setData(vols);
  markers.setMarkers(rolls);
  chart.timeScale().fitContent();
  let message = '';
  if (data.length === 0) {
    message = 'no bars for ' + first + ' in ' + form.start.value + '..' + form.end.value + '; ' +
      (span ? 'data exists ' + span.first + '..' + span.last : 'none loaded in ' + (barTable[interval] || 'the bar tables'));
    status('#chart-status', '');
  } else {
    const adj = adjust !== 'none' ? ', back-adjusted (' + adjust + ')' : '';
    status('#chart-status', first + (form.dataset.value ? ' in ' + form.dataset.value : '') + ': ' + data.length + ' bars, ' +
      rolls.length + ' roll' + (rolls.length === 1 ? '' : 's') + adj);
  }
  chartNote(message);
  drawn({
    symbol: first, bars: data.length, rolls: rolls.map((m) => m.text), adjust, message,
    start: form.start.value, end: form.end.value, dataset: form.dataset.value,
    first: data.length ? data[0].time : null, last: data.length ? data[data.length - 1].time : null,
  });
}

$('#chart-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadChart(); });

// ---- Coverage heat map: rows per table, symbol and UTC day, week or month
// (the server picks the period that fits the range, unless asked).

// periodStart is the first day of the period (bucket) holding iso.
function periodStart(iso, bucket) {
  const d = new Date(iso + 'T00:00:00Z');
  if (bucket === 'week') d.setUTCDate(d.getUTCDate() - (d.getUTCDay() + 6) % 7); // ISO weeks start on Monday
  if (bucket === 'month') d.setUTCDate(1);
  return day(d);
}

function nextPeriod(iso, bucket) {
  const d = new Date(iso + 'T00:00:00Z');
  if (bucket === 'month') d.setUTCMonth(d.getUTCMonth() + 1);
  else d.setUTCDate(d.getUTCDate() + (bucket === 'week' ? 7 : 1));
  return day(d);
}

// tick labels the period that opens a year (month cells) or a month.
function tick(iso, prev, bucket) {
  if (bucket === 'month') return prev === null || iso.slice(0, 4) !== prev.slice(0, 4) ? iso.slice(0, 4) : '';
  return prev === null || iso.slice(0, 7) !== prev.slice(0, 7) ? iso.slice(0, 7) : '';
}

const periodName = { day: 'day', week: 'week (Monday to Sunday)', month: 'month' };

async function loadCoverage() {
  const form = $('#coverage-form');
  window.hdi.coverage = null;
  const params = new URLSearchParams({ format: 'json', bucket: form.bucket.value });
  for (const k of ['start', 'end', 'table', 'symbols']) if (form[k].value.trim()) params.set(k, form[k].value.trim());
  status('#coverage-status', 'loading…');
  let rows;
  try {
    rows = await api('/api/v1/coverage?' + params.toString());
  } catch (e) {
    status('#coverage-status', e.message, true);
    return;
  }
  const box = $('#heatmap');
  box.textContent = '';
  if (rows.length === 0) {
    status('#coverage-status', 'nothing loaded in this range');
    window.hdi.coverage = { series: 0, days: 0, cells: 0, columns: 0, bucket: null, labels: [] };
    return;
  }
  const bucket = rows[0].bucket;
  // One series per table, symbol (the one asked for, else the contract's
  // raw symbol in the period, else the instrument id) and dataset.
  const series = new Map();
  let min = null, max = null, top = 1;
  for (const r of rows) {
    const name = r.symbol || r.raw_symbol || 'instrument ' + r.instrument_id;
    const k = r.table_name + ' · ' + name + ' · ' + r.dataset;
    if (!series.has(k)) series.set(k, new Map());
    const cells = series.get(k);
    const c = cells.get(r.day) || { rows: 0, days: 0 };
    c.rows += Number(r.row_count);
    c.days = Math.max(c.days, Number(r.days));
    cells.set(r.day, c);
    top = Math.max(top, c.rows);
    const f = r.first_ts.slice(0, 10), l = r.last_ts.slice(0, 10);
    if (min === null || f < min) min = f;
    if (max === null || l > max) max = l;
  }
  const from = form.start.value || min, to = form.end.value || max;
  const periods = [];
  for (let p = periodStart(from, bucket); p <= to; p = nextPeriod(p, bucket)) periods.push(p);
  const grid = document.createElement('div');
  grid.className = 'heat';
  grid.style.gridTemplateColumns = 'max-content repeat(' + periods.length + ', var(--cell-w))';
  const corner = document.createElement('div');
  corner.className = 'label';
  grid.appendChild(corner);
  let prev = null;
  for (const p of periods) {
    const h = document.createElement('div');
    h.className = 'tick';
    h.textContent = tick(p, prev, bucket);
    prev = p;
    grid.appendChild(h);
  }
  let cells = 0;
  for (const k of [...series.keys()].sort()) {
    const counts = series.get(k);
    const label = document.createElement('div');
    label.className = 'label';
    label.textContent = k;
    grid.appendChild(label);
    for (const p of periods) {
      const cell = document.createElement('div');
      const c = counts.get(p);
      if (c === undefined) {
        cell.className = 'cell none';
        cell.title = k + '\n' + p + ' (' + bucket + '): nothing';
      } else {
        const x = Math.log10(c.rows + 1) / Math.log10(top + 1);
        cell.className = 'cell has';
        cell.style.background = 'rgba(38,166,154,' + (0.4 + 0.6 * x).toFixed(3) + ')';
        cell.title = k + '\n' + p + ' (' + bucket + '): ' + c.rows.toLocaleString() + ' rows' +
          (bucket === 'day' ? '' : ' on ' + c.days + ' day' + (c.days === 1 ? '' : 's'));
        cells++;
      }
      grid.appendChild(cell);
    }
  }
  box.appendChild(grid);
  if (!form.start.value) form.start.value = from;
  if (!form.end.value) form.end.value = to;
  const days = Math.round((Date.parse(to) - Date.parse(from)) / 86400000) + 1;
  status('#coverage-status', series.size + ' series over ' + days.toLocaleString() + ' days (' + from + ' … ' + to + '); one cell a ' +
    periodName[bucket] + ', UTC; darker: more rows (log scale). Counted at load time.');
  window.hdi.coverage = { series: series.size, days, cells, columns: periods.length, bucket, labels: [...series.keys()].sort() };
}

$('#coverage-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadCoverage(); });

// ---- Runs, refreshed while the tab is open; one run's units live.

let shownRun = null;

// Live streams (hdi stream): where each is, above the runs.
async function loadStreams() {
  let streams;
  try {
    streams = await api('/api/v1/streams');
  } catch (e) {
    status('#streams-status', e.message, true);
    return;
  }
  const table = $('#streams-table');
  table.hidden = streams.length === 0;
  const tbody = table.querySelector('tbody');
  tbody.textContent = '';
  for (const s of streams) {
    const tr = tbody.insertRow();
    const live = !['stopped', 'failed', 'dead'].includes(s.state);
    const last = s.last_ts_ns ? new Date(s.last_ts_ns / 1e6).toISOString().replace('T', ' ').slice(0, 23) : '';
    for (const v of [s.name, s.state, last, live && s.lag_seconds >= 0 ? s.lag_seconds.toFixed(1) + ' s' : '',
      live ? Math.round(s.rows_per_s) : '', s.rows_total, s.reconnects, s.gaps_backfilled, s.run_id || '']) {
      tr.insertCell().textContent = v;
    }
    tr.dataset.state = s.state;
    if (s.run_id) tr.addEventListener('click', () => { shownRun = s.run_id; loadRun(); });
  }
  status('#streams-status', streams.length ? streams.length + ' live streams' : '');
  window.hdi.streams = { count: streams.length, states: streams.map((s) => s.state) };
}

async function loadRuns() {
  loadStreams();
  let runs;
  try {
    runs = await api('/api/v1/runs?limit=50');
  } catch (e) {
    status('#runs-status', e.message, true);
    return;
  }
  const tbody = $('#runs-table tbody');
  tbody.textContent = '';
  let cancels = 0, retries = 0;
  for (const r of runs) {
    const tr = tbody.insertRow();
    tr.dataset.run = r.run_id;
    for (const v of [r.run_id, r.job, r.status, r.started_at.replace('T', ' ').slice(0, 19),
      r.kind === 'live' ? 'live stream ' + r.live_stream : r.units_done + '/' + r.units_skipped + '/' + r.units_failed + ' of ' + r.units_total,
      r.rows_inserted, r.rows_quarantined, r.kind === 'backfill' ? 'backfill for ' + r.live_stream : r.queue || '']) {
      tr.insertCell().textContent = v;
    }
    const actions = tr.insertCell();
    if (canRun() && r.queue && (r.status === 'queued' || r.status === 'running')) {
      actions.appendChild(runButton('cancel', 'stop the run: queued units are dropped, units under way roll back',
        () => api('/api/v1/runs/' + r.run_id + '/cancel', 'POST')));
      cancels++;
    }
    if (canRun() && r.rows_quarantined > 0) {
      actions.appendChild(runButton('retry', "re-validate the run's quarantined rows with its job's rules and load those that pass",
        () => api('/api/v1/quarantine/' + r.run_id + '/retry', 'POST')));
      retries++;
    }
    tr.addEventListener('click', () => { shownRun = r.run_id; loadRun(); });
  }
  status('#runs-status', runs.length + ' runs, refreshed ' + new Date().toLocaleTimeString());
  window.hdi.runs = { count: runs.length, cancel: cancels, retry: retries, start: !$('#run-form').hidden };
  if (shownRun !== null) loadRun();
}

// runButton is a button of a run's row that sends send() and says what the
// server answered.
function runButton(name, title, send) {
  const b = document.createElement('button');
  b.textContent = name;
  b.title = title;
  b.className = name;
  b.addEventListener('click', (ev) => { ev.stopPropagation(); act(name, send); });
  return b;
}

// act sends a write request, shows its answer (the detail of the answer
// or of the problem) and loads the runs again.
async function act(name, send) {
  window.hdi.action = null;
  status('#runs-action', name + '…');
  let out;
  try {
    const res = await send();
    out = { name, ok: true, detail: res.detail, run: res.run_id || null };
  } catch (e) {
    out = { name, ok: false, detail: e.message, status: e.status };
  }
  status('#runs-action', out.detail, !out.ok);
  await loadRuns();
  window.hdi.action = out;
}

$('#run-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = $('#run-form');
  const body = { job: form.job.value.trim() };
  for (const k of ['start', 'end']) if (form[k].value.trim()) body[k] = form[k].value.trim();
  if (form.symbols.value.trim()) body.symbols = form.symbols.value.split(',').map((x) => x.trim()).filter((x) => x);
  if (form.force.checked) body.force = true;
  act('start', () => api('/api/v1/runs', 'POST', body));
});

// jobNames fills the job field's choices.
async function jobNames() {
  try {
    const list = $('#job-names');
    list.textContent = '';
    for (const j of await api('/api/v1/jobs')) { const o = document.createElement('option'); o.value = j.name; list.appendChild(o); }
  } catch (e) { /* the field takes any name */ }
}

async function loadRun() {
  const box = $('#run-detail');
  let d;
  try {
    d = await api('/api/v1/runs/' + shownRun);
  } catch (e) {
    box.textContent = e.message;
    return;
  }
  box.textContent = '';
  const h = document.createElement('h3');
  h.textContent = 'run ' + d.run.run_id + ' (' + d.run.job + '): ' + d.run.status;
  box.appendChild(h);
  const t = document.createElement('table');
  const head = t.insertRow();
  const queued = d.queued_units && d.queued_units.length > 0;
  const cols = queued ? ['unit', 'table', 'state', 'worker', 'attempt', 'error'] : ['unit', 'table', 'status', 'inserted', 'deduplicated', 'quarantined', 'error'];
  for (const c of cols) { const th = document.createElement('th'); th.textContent = c; head.appendChild(th); }
  const units = queued ? d.queued_units : d.units;
  for (const u of units) {
    const tr = t.insertRow();
    const vals = queued
      ? [u.unit_key, u.target_table, u.state, u.worker || '', u.attempt + '/' + u.max_attempts, u.error || '']
      : [u.unit_key, u.target_table, u.status, u.rows_inserted, u.rows_deduplicated, u.rows_quarantined, u.error || ''];
    for (const v of vals) tr.insertCell().textContent = v;
  }
  box.appendChild(t);
}

// ---- Start: the chart from the URL (?symbols=...&start=...), else the
// defaults, over where the bars are when no range is given.

function init() {
  const q = new URLSearchParams(location.search);
  const form = $('#chart-form');
  for (const k of ['symbols', 'interval', 'start', 'end', 'adjust', 'dataset']) if (q.get(k)) form[k].value = q.get(k);
  whoami().then(() => show(location.hash.slice(1) || 'chart'));
}

init();
