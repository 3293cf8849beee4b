// hdi's page: a chart of bars (GET /api/v1/bars) with analytics (query
// results, GET /api/v1/queries/NAME) over them or below, the coverage heat map
// (GET /api/v1/coverage) and the runs (GET /api/v1/runs), from the same
// server. window.hdi records what was drawn, for people and for tests.
'use strict';

const $ = (sel) => document.querySelector(sel);
window.hdi = { chart: null, analytics: null, coverage: null, runs: null, access: null, action: null, errors: [] };

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
  whoami().then((a) => { if (a.scope !== 'none') loadQueries(); show(location.hash.slice(1) || 'chart'); });
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
let chartAt = null; // the symbol, dataset and range the chart shows: what analytics are called with

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
    chartAt = null;
    refreshAnalytics();
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
  chartAt = { symbol: first, dataset: form.dataset.value.trim(), start: form.start.value, end: form.end.value, interval, adjust };
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
  refreshAnalytics();
}

$('#chart-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadChart(); });

// ---- Analytics: queries drawn with the bars. A query annotated
// `-- @chart overlay` draws on the price scale, one annotated `-- @chart pane`
// (or any other a user picks) in a pane of its own below. Every numeric
// column of the result but ts (and ids) is a line; ts is its time.

// The parameters the chart fills in, where a query has them (interval and
// adjust as the chart's form: 1d, ratio, ...).
const chartFilled = {
  symbols: (at) => at.symbol, dataset: (at) => at.dataset, start_ts: (at) => at.start, end_ts: (at) => at.end,
  interval: (at) => at.interval, adjust: (at) => at.adjust,
};
const numericType = /^(smallint|integer|bigint|numeric|real|double precision)$/;
const palette = ['#2962ff', '#ff6d00', '#8e24aa', '#00897b', '#c0ca33', '#6d4c41', '#d81b60', '#546e7a'];
let offered = []; // the drawable queries of GET /api/v1/queries, annotated first
const added = []; // what the user added: { query, kind, values, rows, error, series: [{ column, api, points, color }] }
let analyticsGen = 0;

// loadQueries fills the analytics picker: the annotated queries, then the
// others that take the chart's range (their result decides when drawn).
async function loadQueries() {
  let qs;
  try {
    qs = await api('/api/v1/queries');
  } catch (e) {
    status('#analytics-status', e.message, true);
    return;
  }
  for (const q of qs) q.params = q.params || []; // null when it has none
  const takesRange = (q) => ['start_ts', 'end_ts'].every((n) => q.params.some((p) => p.name === n));
  const groups = [['overlays', qs.filter((q) => q.chart === 'overlay')], ['panes', qs.filter((q) => q.chart === 'pane')],
    ['other queries (in a pane)', qs.filter((q) => !q.chart && takesRange(q))]];
  const sel = $('#analytics-form').query;
  sel.textContent = '';
  offered = [];
  for (const [label, list] of groups) {
    if (list.length === 0) continue;
    const g = document.createElement('optgroup');
    g.label = label;
    for (const q of list) {
      const o = document.createElement('option');
      o.value = q.name;
      o.textContent = q.name;
      o.title = q.description;
      g.appendChild(o);
      offered.push(q);
    }
    sel.appendChild(g);
  }
  paramInputs();
  publishAnalytics();
}

// paramInputs shows an input for each parameter of the picked query that
// the chart does not fill in (a number field for a numeric one); one left
// empty is not sent (an optional parameter's NULL).
function paramInputs() {
  const box = $('#analytics-params');
  box.textContent = '';
  const q = offered.find((x) => x.name === $('#analytics-form').query.value);
  if (!q) return;
  for (const p of q.params) {
    if (chartFilled[p.name]) continue;
    const label = document.createElement('label');
    label.textContent = p.name;
    const input = document.createElement('input');
    input.name = 'param-' + p.name;
    input.dataset.param = p.name;
    if (numericType.test(p.type)) { input.type = 'number'; input.step = 'any'; }
    input.required = !p.optional;
    input.placeholder = p.optional ? '(optional)' : p.type;
    input.title = (p.description ? p.description + ' ' : '') + '(' + p.type + ')';
    label.appendChild(input);
    box.appendChild(label);
  }
}

$('#analytics-form').query.addEventListener('change', paramInputs);

$('#analytics-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = offered.find((x) => x.name === $('#analytics-form').query.value);
  if (!q) return;
  const values = {};
  for (const input of $('#analytics-params').querySelectorAll('input')) if (input.value.trim()) values[input.dataset.param] = input.value.trim();
  added.push({ query: q, kind: q.chart || 'pane', values, rows: null, error: null, series: [] });
  refreshAnalytics();
});

// refreshAnalytics calls every added query for what the chart shows and
// draws the results; a newer refresh wins over one still under way.
async function refreshAnalytics() {
  window.hdi.analytics = null;
  const gen = ++analyticsGen;
  await Promise.all(added.map((a) => runAnalytic(a, chartAt)));
  if (gen === analyticsGen) drawAnalytics();
}

async function runAnalytic(a, at) {
  a.rows = null;
  a.error = null;
  if (!at) { a.error = a.query.name + ': the chart shows no bars to draw it with'; return; }
  const params = new URLSearchParams({ format: 'json' });
  for (const p of a.query.params) {
    const v = chartFilled[p.name] ? chartFilled[p.name](at) : a.values[p.name];
    if (v) params.set(p.name, v);
  }
  try {
    a.rows = await api(a.query.path + '?' + params.toString());
  } catch (e) {
    a.error = a.query.name + ': ' + e.message;
  }
}

// seconds is a ts value as the chart's time: RFC 3339, or a number of
// seconds, milliseconds or nanoseconds since 1970.
function seconds(v) {
  if (typeof v === 'number') return Math.floor(v > 1e14 ? v / 1e9 : v > 1e11 ? v / 1e3 : v);
  return Math.floor(Date.parse(v) / 1000);
}

const isNumber = (v) => typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)));

// lines turns a query's rows into line data: one per numeric column but ts
// and ids, in time order (the last row of a time wins). Rows of other
// symbols than the chart's are left out.
function lines(name, rows, symbol) {
  if (rows.length === 0) return [];
  if (!('ts' in rows[0])) throw new Error(name + ': the result has no ts column (a chart draws ts and numeric columns: ' + Object.keys(rows[0]).join(', ') + ')');
  if ('symbol' in rows[0] && rows.some((r) => r.symbol === symbol)) rows = rows.filter((r) => r.symbol === symbol);
  const columns = Object.keys(rows[0]).filter((k) => k !== 'ts' && !k.endsWith('_id') &&
    rows.some((r) => r[k] !== null) && rows.every((r) => r[k] === null || isNumber(r[k])));
  if (columns.length === 0) {
    // A window longer than the range's bars leaves its columns NULL.
    const empty = Object.keys(rows[0]).filter((k) => k !== 'ts' && rows.every((r) => r[k] === null));
    if (empty.length > 0) throw new Error(name + ': ' + empty.join(', ') + ' are empty (NULL) in every row of this range: a window longer than the bars? (a larger range, or a smaller n)');
    throw new Error(name + ': the result has no numeric column to draw (' + Object.keys(rows[0]).join(', ') + ')');
  }
  const byTime = new Map();
  for (const r of rows) {
    const t = seconds(r.ts);
    if (!Number.isFinite(t)) throw new Error(name + ': ts ' + JSON.stringify(r.ts) + ' is not a time');
    byTime.set(t, r);
  }
  const times = [...byTime.keys()].sort((x, y) => x - y);
  return columns.map((column) => ({
    column,
    data: times.map((t) => { const v = byTime.get(t)[column]; return v === null ? { time: t } : { time: t, value: Number(v) }; }),
  }));
}

// drawAnalytics draws every added query again: overlays on the price
// scale, each pane query in a pane of its own below the bars (empty panes
// go with their last series).
function drawAnalytics() {
  ensureChart();
  const LC = window.LightweightCharts;
  for (const a of added) for (const s of a.series) if (s.api) chart.removeSeries(s.api);
  let pane = 0, color = 0;
  const errors = [], notes = [];
  for (const a of added) {
    a.series = [];
    if (a.error) { errors.push(a.error); continue; }
    let ls;
    try {
      ls = lines(a.query.name, a.rows, chartAt ? chartAt.symbol : '');
    } catch (e) {
      a.error = e.message;
      errors.push(e.message);
      continue;
    }
    if (ls.length === 0) notes.push(a.query.name + ': no rows in this range');
    const index = a.kind === 'overlay' ? 0 : ++pane;
    for (const l of ls) {
      const c = palette[color++ % palette.length];
      const sa = chart.addSeries(LC.LineSeries, { color: c, lineWidth: 2, title: l.column, priceLineVisible: false, lastValueVisible: false }, index);
      sa.setData(l.data);
      a.series.push({ column: l.column, api: sa, pane: index, color: c, points: l.data.filter((d) => d.value !== undefined).length,
        first: l.data.filter((d) => d.value !== undefined).slice(0, 5).map((d) => d.value) });
    }
  }
  const panes = chart.panes();
  panes.forEach((p, i) => p.setStretchFactor(i === 0 ? 3 : 1));
  status('#analytics-status', errors.concat(notes).join('; '), errors.length > 0);
  listAnalytics();
  requestAnimationFrame(() => requestAnimationFrame(publishAnalytics));
}

// listAnalytics shows the added queries, each with its colours, its error
// and a button that removes it.
function listAnalytics() {
  const list = $('#analytics-list');
  list.textContent = '';
  for (const a of added) {
    const li = document.createElement('li');
    li.dataset.query = a.query.name;
    li.classList.toggle('error', !!a.error);
    li.title = a.error || a.query.description;
    li.append(a.query.name + (a.kind === 'overlay' ? '' : ' (pane)'));
    for (const s of a.series) {
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = s.color;
      li.append(sw, s.column);
    }
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'remove';
    x.textContent = '×';
    x.title = 'remove ' + a.query.name;
    x.addEventListener('click', () => {
      window.hdi.analytics = null;
      for (const s of a.series) chart.removeSeries(s.api);
      a.series = [];
      added.splice(added.indexOf(a), 1);
      drawAnalytics(); // the panes below move up
    });
    li.appendChild(x);
    list.appendChild(li);
  }
}

// publishAnalytics records what the analytics drew, for people and tests:
// the queries offered, the chart's panes, and per added query its error or
// its series with their pane, point count and first values.
function publishAnalytics() {
  window.hdi.analytics = {
    offered: offered.map((q) => ({ name: q.name, chart: q.chart })),
    panes: chart ? chart.panes().map((p) => p.getSeries().length) : [], // the series in each pane, as the chart has them
    added: added.map((a) => ({
      query: a.query.name, kind: a.kind, error: a.error || '',
      series: a.series.map((s) => ({ name: a.query.name + '.' + s.column, column: s.column, pane: s.pane, points: s.points, first: s.first })),
    })),
  };
}

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
  whoami().then((a) => { if (a.scope !== 'none') loadQueries(); show(location.hash.slice(1) || 'chart'); });
}

init();
