// hdi's page: a chart of bars (GET /api/v1/bars), the coverage heat map
// (GET /api/v1/coverage) and the runs (GET /api/v1/runs), from the same
// server. window.hdi records what was drawn, for people and for tests.
'use strict';

const $ = (sel) => document.querySelector(sel);
window.hdi = { chart: null, coverage: null, runs: null, errors: [] };

// ---- API access, with the bearer token when the server asks for one.

function token() { return sessionStorage.getItem('hdi-token') || ''; }

async function api(path) {
  const headers = { Accept: 'application/json' };
  if (token()) headers.Authorization = 'Bearer ' + token();
  const res = await fetch(path, { headers });
  if (res.status === 401) {
    $('#token-form').hidden = false;
    throw new Error('the server wants an API token: enter it above');
  }
  if (!res.ok) {
    let detail = res.status + ' ' + res.statusText;
    try { const p = await res.json(); detail = p.detail || detail; } catch (e) { /* not problem+json */ }
    throw new Error(detail);
  }
  return res.json();
}

$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem('hdi-token', $('#token').value);
  $('#token-form').hidden = true;
  show(location.hash.slice(1) || 'chart');
});

function status(id, text, isError) {
  const el = $(id);
  el.textContent = text;
  el.classList.toggle('error', !!isError);
  if (isError) window.hdi.errors.push(text);
}

// ---- Tabs.

let runsTimer = null;

function show(tab) {
  for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== tab;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.tab === tab);
  clearInterval(runsTimer);
  if (tab === 'coverage') loadCoverage();
  if (tab === 'runs') { loadRuns(); runsTimer = setInterval(loadRuns, 3000); }
}

window.addEventListener('hashchange', () => show(location.hash.slice(1) || 'chart'));

// ---- Chart.

const day = (d) => d.toISOString().slice(0, 10);
let chart = null, candles = null, volume = null, markers = null;

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

async function loadChart() {
  const f = new FormData($('#chart-form'));
  const symbols = f.get('symbols').trim();
  const params = new URLSearchParams({
    symbols, interval: f.get('interval'), start: f.get('start'), end: f.get('end'), adjust: f.get('adjust'), format: 'json',
  });
  if (f.get('dataset')) params.set('dataset', f.get('dataset'));
  history.replaceState(null, '', '?' + params.toString() + location.hash);
  status('#chart-status', 'loading…');
  let rows;
  try {
    rows = await api('/api/v1/bars?' + params.toString());
  } catch (e) {
    status('#chart-status', e.message, true);
    return;
  }
  ensureChart();
  // One series: the first symbol asked for.
  const first = symbols.split(',')[0].trim();
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
  const adj = f.get('adjust') !== 'none' ? ', back-adjusted (' + f.get('adjust') + ')' : '';
  status('#chart-status', first + ': ' + data.length + ' bars, ' + rolls.length + ' roll' + (rolls.length === 1 ? '' : 's') + adj +
    (data.length === 0 ? ' — nothing loaded for this range' : ''));
  // Drawn once the browser has painted the series.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    window.hdi.chart = {
      symbol: first, bars: data.length, rolls: rolls.map((m) => m.text), adjust: f.get('adjust'),
      first: data.length ? data[0].time : null, last: data.length ? data[data.length - 1].time : null,
      canvases: $('#chart-box').querySelectorAll('canvas').length,
    };
  }));
}

$('#chart-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadChart(); });

// ---- Coverage heat map: rows per table and instrument and UTC day.

async function loadCoverage() {
  const f = new FormData($('#coverage-form'));
  const params = new URLSearchParams({ format: 'json' });
  for (const k of ['start', 'end', 'table']) if (f.get(k)) params.set(k, f.get(k));
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
    window.hdi.coverage = { series: 0, days: 0, cells: 0 };
    return;
  }
  const keyOf = (r) => r.table_name + ' · ' + (r.raw_symbol || r.instrument_id) + ' · ' + r.dataset;
  const series = new Map();
  let min = rows[0].day, max = rows[0].day, top = 1;
  for (const r of rows) {
    const k = keyOf(r);
    if (!series.has(k)) series.set(k, new Map());
    series.get(k).set(r.day, Number(r.row_count));
    if (r.day < min) min = r.day;
    if (r.day > max) max = r.day;
    top = Math.max(top, Number(r.row_count));
  }
  const days = [];
  for (let d = new Date(min + 'T00:00:00Z'); day(d) <= max; d.setUTCDate(d.getUTCDate() + 1)) days.push(day(d));
  const table = document.createElement('table');
  table.className = 'heat';
  const head = table.insertRow();
  head.insertCell().textContent = '';
  const cap = head.insertCell();
  cap.colSpan = days.length;
  cap.textContent = min + ' … ' + max + ' (UTC days)';
  let cells = 0;
  for (const [k, counts] of series) {
    const tr = table.insertRow();
    const th = document.createElement('th');
    th.textContent = k;
    tr.appendChild(th);
    for (const d of days) {
      const td = tr.insertCell();
      const n = counts.get(d);
      if (n === undefined) { td.className = 'none'; td.title = d + ': nothing'; continue; }
      const x = Math.log10(n + 1) / Math.log10(top + 1);
      td.style.background = 'rgba(38,166,154,' + (0.15 + 0.85 * x).toFixed(3) + ')';
      td.title = d + ': ' + n.toLocaleString() + ' rows';
      cells++;
    }
  }
  box.appendChild(table);
  const form = $('#coverage-form');
  if (!form.start.value) form.start.value = min;
  if (!form.end.value) form.end.value = max;
  status('#coverage-status', series.size + ' series over ' + days.length + ' days, counted at load time');
  window.hdi.coverage = { series: series.size, days: days.length, cells };
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
  for (const r of runs) {
    const tr = tbody.insertRow();
    for (const v of [r.run_id, r.job, r.status, r.started_at.replace('T', ' ').slice(0, 19),
      r.kind === 'live' ? 'live stream ' + r.live_stream : r.units_done + '/' + r.units_skipped + '/' + r.units_failed + ' of ' + r.units_total,
      r.rows_inserted, r.kind === 'backfill' ? 'backfill for ' + r.live_stream : r.queue || '']) {
      tr.insertCell().textContent = v;
    }
    tr.addEventListener('click', () => { shownRun = r.run_id; loadRun(); });
  }
  status('#runs-status', runs.length + ' runs, refreshed ' + new Date().toLocaleTimeString());
  window.hdi.runs = { count: runs.length };
  if (shownRun !== null) loadRun();
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

// ---- Start: the chart from the URL (?symbols=...&start=...), else defaults.

function init() {
  const q = new URLSearchParams(location.search);
  const form = $('#chart-form');
  const end = new Date(), start = new Date(Date.now() - 30 * 86400000);
  form.start.value = day(start);
  form.end.value = day(end);
  for (const k of ['symbols', 'interval', 'start', 'end', 'adjust', 'dataset']) if (q.get(k)) form[k].value = q.get(k);
  show(location.hash.slice(1) || 'chart');
  if (q.get('symbols')) loadChart();
}

init();
