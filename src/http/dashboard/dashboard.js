// acmirror dashboard. Plain ES2020, no build step. Every value from the server is put into the
// page with textContent, text nodes or attribute setters, never parsed as HTML.
'use strict';
(function () {
  const TOKEN_KEY = 'acmirror.adminToken';
  const FAST_MS = 5000;   // overview, runs, failed deliveries
  const SLOW_MS = 15000;  // the two 24 h charts
  const CHART_HEIGHT = { deliveries: 260, backlog: 220, runs: 200 };
  const DAY = 24 * 3600;
  const PALETTE = ['#4e79a7', '#59a14f', '#edc948', '#b07aa1', '#76b7b2', '#ff9da7',
    '#9c755f', '#bab0ac', '#86bcb6', '#f1ce63', '#a0cbe8', '#8cd17d'];
  const FAILED_COLOR = '#d62728';
  const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7];
  const IGNORED_COLOR = '#333333';

  const $ = (id) => document.getElementById(id);
  const state = {
    token: null, gen: 0, timers: [], busy: { fast: false, slow: false }, again: { fast: false, slow: false },
    errors: { fast: [], slow: [] }, refreshErrorShown: false,
    failedBefore: null, nextBefore: null, last: {}, charts: {}, chartKeys: {},
    typeCounts: [], runIds: [],  // what the chart legends show, swapped with each data update
  };

  class ApiError extends Error {
    // handled: the page already reacted (signed out, showed the disabled panel)
    constructor(status, message, handled) { super(message); this.status = status; this.handled = !!handled; }
  }

  // ---------- small helpers ----------

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c == null) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const arr = (x) => (Array.isArray(x) ? x : []);
  const num = (x) => (typeof x === 'number' && isFinite(x) ? x : 0);
  const dash = '—';

  function fmtNum(n) { return n == null ? dash : Number(n).toLocaleString(); }

  // Local time; the year only when it is not this year.
  function fmtTime(iso) {
    if (!iso) return dash;
    const d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    const year = d.getFullYear() !== new Date().getFullYear() ? 'numeric' : undefined;
    return d.toLocaleString(undefined, { year, month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function fmtDuration(sec) {
    if (sec == null || !isFinite(sec)) return dash;
    if (sec < 60) return (Math.round(sec * 10) / 10) + ' s';
    const s = Math.round(sec);
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  // Short duration for axis ticks.
  function fmtShort(sec) {
    if (sec == null) return '';
    if (sec < 120) return Math.round(sec) + ' s';
    if (sec < 7200) return Math.round(sec / 60) + ' min';
    return (Math.round(sec / 360) / 10) + ' h';
  }

  function fmtAgo(iso) {
    const t = Date.parse(iso);
    if (!iso || isNaN(t)) return '';
    const s = Math.max(0, (Date.now() - t) / 1000);
    return ' (' + fmtShort(s) + ' ago)';
  }

  function timeNode(iso) {
    const s = el('span', { title: iso || null }, fmtTime(iso));
    return s;
  }

  function say(text, kind, fromRefresh) {
    const m = $('message');
    m.textContent = text || '';
    m.className = kind === 'error' ? 'error' : '';
    m.hidden = !text;
    state.refreshErrorShown = !!fromRefresh;
  }

  // ---------- talking to the server ----------

  async function api(method, path, body) {
    const gen = state.gen;
    const headers = { Authorization: 'Bearer ' + state.token, Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store', credentials: 'same-origin', redirect: 'error' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, method + ' ' + path + ': server not reachable (' + (e && e.message || e) + ')');
    }
    const text = await res.text().catch(() => '');
    if (gen !== state.gen) throw new ApiError(-1, 'signed out', true);
    if (res.status === 401) {
      signOut('wrong token: the server answered 401 Unauthorized. Sign in again.');
      throw new ApiError(401, 'wrong token', true);
    }
    if (res.status === 404 && /admin endpoints are disabled/i.test(text)) {
      showDisabled();
      throw new ApiError(404, 'admin endpoints are disabled', true);
    }
    if (!res.ok) {
      const why = text.trim() || res.statusText || 'no reason given';
      throw new ApiError(res.status, method + ' ' + path + ': ' + res.status + ' ' + why);
    }
    if (!text) return { status: res.status, data: null };
    try {
      return { status: res.status, data: JSON.parse(text) };
    } catch (e) {
      throw new ApiError(res.status, method + ' ' + path + ': the answer is not JSON');
    }
  }

  // Runs `jobs` (functions returning promises) unless this loop is already in flight; a request
  // made meanwhile runs once more when the current one ends.
  async function refresh(loop, jobs) {
    if (!state.token) return;
    if (state.busy[loop]) { state.again[loop] = true; return; }
    state.busy[loop] = true;
    const gen = state.gen;
    try {
      const results = await Promise.allSettled(jobs.map((job) => job()));
      if (gen !== state.gen) return;
      state.errors[loop] = results.filter((r) => r.status === 'rejected')
        .map((r) => (r.reason && r.reason.message) || String(r.reason));
      const all = state.errors.fast.concat(state.errors.slow);
      if (all.length) say('Refresh failed (retrying): ' + all.join(' · '), 'error', true);
      else if (state.refreshErrorShown) say('');
    } finally {
      if (gen === state.gen) {
        state.busy[loop] = false;
        if (state.again[loop]) {
          state.again[loop] = false;
          setTimeout(() => refresh(loop, jobs), 0);
        }
      }
    }
  }

  // Calls `render` only when the answer differs from the one last rendered.
  function load(key, path, render) {
    return async () => {
      const gen = state.gen;
      const { data } = await api('GET', path);
      if (gen !== state.gen) return;
      const json = JSON.stringify(data);
      if (state.last[key] === json) return;
      render(data || {});
      state.last[key] = json;
    };
  }

  const fastJobs = [
    load('overview', '/admin/overview', renderOverview),
    load('runs', '/admin/runs', renderRuns),
    () => load('failed', failedPath(), renderFailed)(),
  ];
  const slowJobs = [
    load('deliveries', '/admin/deliveries/per-minute', renderDeliveries),
    load('backlog', '/admin/apply/history', renderBacklog),
  ];
  const refreshFast = () => refresh('fast', fastJobs);
  const refreshSlow = () => refresh('slow', slowJobs);

  function failedPath() {
    return '/admin/deliveries/failed' + (state.failedBefore != null ? '?before=' + encodeURIComponent(state.failedBefore) : '');
  }

  // ---------- sign in / out ----------

  function show(which) {
    $('signin-panel').hidden = which !== 'signin';
    $('disabled-panel').hidden = which !== 'disabled';
    $('dashboard').hidden = which !== 'dashboard';
    $('signout').hidden = which !== 'dashboard';
  }

  function stop() {
    state.gen++;
    state.timers.forEach(clearInterval);
    state.timers = [];
    state.busy = { fast: false, slow: false };
    state.again = { fast: false, slow: false };
    state.errors = { fast: [], slow: [] };
    state.last = {};
    state.failedBefore = null;
    for (const key of Object.keys(state.charts)) destroyChart(key);
  }

  function start() {
    stop();
    show('dashboard');
    if (typeof window.uPlot !== 'function') say('The chart library did not load; charts are not shown.', 'error');
    refreshFast();
    refreshSlow();
    state.timers.push(setInterval(refreshFast, FAST_MS), setInterval(refreshSlow, SLOW_MS));
  }

  function signOut(why) {
    stop();
    state.token = null;
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage unavailable */ }
    for (const id of ['runs', 'failed', 'tables']) $(id).tBodies[0].replaceChildren();
    for (const id of ['mirror-status', 'api-status', 'schedule', 'generated']) $(id).replaceChildren();
    show('signin');
    const err = $('signin-error');
    err.textContent = why || '';
    err.hidden = !why;
    say(why || '', 'error');
    $('token').value = '';
    $('token').focus();
  }

  function showDisabled() {
    stop();
    show('disabled');
    say('The dashboard needs an admin token: set ACMIRROR_ADMIN_TOKEN in serve\'s environment and restart it.', 'error');
  }

  async function onSignIn(ev) {
    ev.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    state.token = token;
    try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* kept in memory only */ }
    $('signin').disabled = true;
    $('signin-error').hidden = true;
    try {
      await api('GET', '/admin/overview');
      say('');
      start();
    } catch (e) {
      if (e.handled) return;
      start(); // the token may be fine and the server briefly unwell: the refresh says why
      say(e.message, 'error', true);
    } finally {
      $('signin').disabled = false;
      $('token').value = '';
    }
  }

  // ---------- actions ----------

  async function post(button, path, body, describe) {
    if (button) button.disabled = true;
    try {
      const r = await api('POST', path, body);
      const [text, kind] = describe(r.data || {}, r.status);
      say(text, kind);
    } catch (e) {
      if (e.handled) return;
      say(e.message, 'error');
    } finally {
      if (button) button.disabled = false;
    }
  }

  function resync(button, body) {
    return post(button, '/admin/resync', body, (d) => ['run ' + d.run_id + ' started', 'info'])
      .then(() => { setTimeout(refreshFast, 700); setTimeout(refreshFast, 2500); });
  }

  function replayOutcome(id, r) {
    const others = num(r.others_applied) > 0 ? ' (and ' + r.others_applied + ' other pending deliveries applied)' : '';
    if (arr(r.missing_ids).includes(id)) return ['delivery ' + id + ': not found (no longer stored)', 'error'];
    const f = arr(r.failures).find((p) => Array.isArray(p) && p[0] === id);
    if (f || num(r.failed) > 0) return ['delivery ' + id + ' failed again: ' + (f ? f[1] : 'no reason given') + others, 'error'];
    if (num(r.applied) > 0) return ['delivery ' + id + ': applied' + others, 'info'];
    if (num(r.ignored) > 0) return ['delivery ' + id + ': ignored' + others, 'info'];
    if (num(r.still_pending) > 0) return ['delivery ' + id + ': requeued, still pending' + others, 'info'];
    return ['delivery ' + id + ': requeued' + others, 'info'];
  }

  function replayOne(button) {
    const row = button.closest('tr');
    const id = Number(row && row.getAttribute('data-id'));
    if (!Number.isSafeInteger(id)) return;
    post(button, '/admin/replay', { id }, (d) => replayOutcome(id, d)).then(refreshFast);
  }

  function replayAll(button) {
    post(button, '/admin/replay', { failed: true }, (d) => [
      fmtNum(num(d.requeued)) + ' failed deliveries requeued; the apply worker applies them in the background.', 'info',
    ]).then(() => { refreshFast(); setTimeout(refreshFast, 2000); });
  }

  // ---------- rendering: tables and lists ----------

  function kv(dl, rows) {
    dl.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', null, k), el('dd', null, v)]));
  }

  function yesNo(v, yes, no, unknown) {
    if (v == null) return el('span', { class: 'muted' }, unknown);
    return el('span', { class: v ? 'yes' : 'no' }, v ? yes : no);
  }

  function scheduleNode(s) {
    s = s || {};
    if (s.cron == null) return el('span', { class: 'muted' }, 'disabled');
    const next = arr(s.next_runs).map((t) => el('li', null, timeNode(t)));
    return el('span', null, el('code', null, s.cron), next.length ? el('ul', null, ...next) : null);
  }

  function renderOverview(o) {
    const w = o.webhooks || {};
    $('generated').textContent = o.generated_at ? 'Updated ' + fmtTime(o.generated_at) : '';
    const last = w.last_received_at
      ? el('span', null, timeNode(w.last_received_at), fmtAgo(w.last_received_at),
        w.last_event_type != null ? el('span', { class: 'muted' }, ' · ', w.last_event_type) : null)
      : el('span', { class: 'muted' }, 'none yet');
    kv($('mirror-status'), [
      ['Database backend', o.backend || dash],
      ['Webhook URL', o.webhook_url != null ? el('code', null, o.webhook_url) : el('span', { class: 'muted' }, 'not configured')],
      ['Pending deliveries', fmtNum(w.pending)],
      ['Failed deliveries', fmtNum(w.failed)],
      ['Apply lag', fmtDuration(w.apply_lag_seconds)],
      ['Oldest pending', w.oldest_pending_received_at ? timeNode(w.oldest_pending_received_at) : dash],
      ['Last delivery', last],
    ]);
    const a = o.api || {};
    kv($('api-status'), [
      ['Configured', yesNo(a.configured, 'yes', 'no', 'unknown')],
      ['URL', a.url != null ? el('code', null, a.url) : dash],
      ['Reachable', yesNo(a.reachable, 'yes', 'no', 'not checked yet')],
      ['Checked', a.checked_at ? timeNode(a.checked_at) : dash],
      ['Error', a.error != null ? el('span', { class: 'error-text' }, a.error) : dash],
    ]);
    const s = o.schedule || {};
    kv($('schedule'), [['Incremental', scheduleNode(s.incremental)], ['Full', scheduleNode(s.full)]]);
    $('tables').tBodies[0].replaceChildren(...arr(o.tables).map((t) =>
      el('tr', { 'data-table': t.table }, el('td', null, t.table), el('td', { class: 'num' }, fmtNum(t.rows)))));
  }

  function renderRuns(d) {
    const runs = arr(d.runs);
    $('runs-empty').hidden = runs.length > 0;
    $('runs').tBodies[0].replaceChildren(...runs.map((r) => {
      const status = el('span', { class: 'status status-' + r.status }, r.status);
      const statusCell = el('td', null, status);
      if (r.status === 'running') {
        statusCell.append(el('span', { class: 'progress' },
          'phase ' + (r.phase || 'starting') + ' · ' + fmtNum(r.records_fetched) + ' fetched · ' + fmtDuration(r.seconds) + ' so far'));
      }
      const err = el('td', { class: 'err' + (r.mass_delete_guard ? ' guard' : '') });
      if (r.error != null) err.textContent = r.error;
      return el('tr', { 'data-run-id': r.id, 'data-status': r.status },
        el('td', { class: 'num' }, r.id), el('td', null, r.mode), el('td', null, r.trigger), statusCell,
        el('td', { class: 'nowrap' }, timeNode(r.started_at)),
        el('td', { class: 'num nowrap' }, fmtDuration(r.seconds)),
        el('td', { class: 'num' }, fmtNum(r.api_requests)), el('td', { class: 'num' }, fmtNum(r.rate_limited)),
        el('td', { class: 'num' }, fmtNum(r.records_fetched)), el('td', { class: 'num' }, fmtNum(r.records_changed)),
        el('td', { class: 'num' }, fmtNum(r.records_deleted)), err);
    }));
    // The newest run the guard stopped, with a note when a later full run has succeeded since.
    const guard = runs.find((r) => r.mass_delete_guard);
    $('mass-delete').hidden = !guard;
    if (guard) {
      $('mass-delete-run').textContent = String(guard.id);
      $('mass-delete-error').textContent = guard.error != null ? guard.error : 'The mass-delete guard stopped this full run.';
      const later = runs.find((r) => r.mode === 'full' && r.status === 'succeeded' && r.id > guard.id);
      $('mass-delete-later').hidden = !later;
      $('mass-delete-later').textContent = later ? 'A later full run (' + later.id + ') has succeeded since.' : '';
    }
    renderRunsChart(runs);
  }

  function renderFailed(d) {
    const list = arr(d.deliveries);
    const total = num(d.total);
    $('failed-total').textContent = fmtNum(total);
    $('failed-total').className = 'badge' + (total > 0 ? ' bad' : '');
    $('failed-empty').hidden = list.length > 0;
    $('replay-all').disabled = total === 0;
    state.nextBefore = d.next_before != null ? d.next_before : null;
    $('failed-older').hidden = state.nextBefore == null;
    $('failed-newest').hidden = state.failedBefore == null;
    $('failed').tBodies[0].replaceChildren(...list.map((x) => el('tr', { 'data-id': x.id },
      el('td', { class: 'num' }, x.id),
      el('td', { class: 'wrap' }, x.event_type != null ? x.event_type : el('span', { class: 'muted' }, 'unknown')),
      el('td', { class: 'nowrap' }, timeNode(x.received_at)),
      el('td', { class: 'num' }, fmtNum(x.deliveries)),
      el('td', null, x.contact_id != null ? x.contact_id : dash),
      el('td', null, x.deal_id != null ? x.deal_id : dash),
      el('td', { class: 'err' }, x.error != null ? x.error : ''),
      el('td', null, el('button', { type: 'button', class: 'replay' }, 'Replay')))));
  }

  // ---------- charts ----------

  function chartWidth(key) { return Math.max(300, $('chart-' + key).clientWidth || 0); }

  function destroyChart(key) {
    if (state.charts[key]) state.charts[key].destroy();
    delete state.charts[key];
    delete state.chartKeys[key];
  }

  function noData(key, text) {
    destroyChart(key);
    $('chart-' + key).replaceChildren(...(text ? [el('p', { class: 'nodata' }, text)] : []));
  }

  // Creates the chart, or only swaps its data when the series are the same as before.
  function draw(key, shape, makeOpts, data) {
    if (typeof window.uPlot !== 'function') return;
    const box = $('chart-' + key);
    if (state.charts[key] && state.chartKeys[key] === shape) {
      state.charts[key].setData(data);
      return;
    }
    destroyChart(key);
    box.replaceChildren();
    const opts = makeOpts();
    opts.width = chartWidth(key);
    opts.height = CHART_HEIGHT[key];
    state.charts[key] = new window.uPlot(opts, data, box);
    state.chartKeys[key] = shape;
  }

  // A time x range that still works with a single sample.
  const timeRange = (pad) => (u, min, max) => (min == null ? [0, 1] : min === max ? [min - pad, max + pad] : [min, max]);
  const zeroUp = (u, min, max) => [0, Math.max(1, num(max)) * 1.1];
  const onlyPoints = (color, size, fill) => ({
    stroke: color, fill: fill || color, width: 0, paths: () => null,
    points: { show: true, size, width: 2, stroke: color, fill: fill || color },
  });

  function renderDeliveries(d) {
    const xs = arr(d.minutes).map(num);
    if (!xs.length) return noData('deliveries', 'No deliveries data.');
    const n = xs.length;
    const at = (a, i) => num(arr(a)[i]);
    const types = arr(d.types);
    const raw = state.typeCounts = types.map((t) => xs.map((_, i) => at(t.counts, i)));
    const acc = new Array(n).fill(0);
    const stacked = raw.map((r) => r.map((v, i) => (acc[i] += v)));
    const marks = (a) => xs.map((_, i) => (at(a, i) > 0 ? at(a, i) : null));
    const data = [xs, ...stacked, marks(d.failed), marks(d.ignored)];
    const names = types.map((t) => (t.event_type == null ? '(none)' : String(t.event_type)));
    const shape = JSON.stringify(names);
    draw('deliveries', shape, () => {
      const bars = window.uPlot.paths.bars({ size: [1, Infinity, 2], align: 1 });
      const series = [{ label: 'Minute' }];
      names.forEach((name, i) => {
        const c = PALETTE[i % PALETTE.length];
        series.push({
          label: name, stroke: c, fill: c, width: 0, paths: bars, points: { show: false },
          // the legend shows this type's own count, not the stacked total
          value: (u, v, si, idx) => (idx == null ? '--' : fmtNum(state.typeCounts[si - 1] && state.typeCounts[si - 1][idx])),
        });
      });
      series.push(Object.assign({ label: 'failed' }, onlyPoints(FAILED_COLOR, 7)));
      series.push(Object.assign({ label: 'ignored' }, onlyPoints(IGNORED_COLOR, 6, '#ffffff')));
      // Each type's area is filled only down to the one below it (uPlot's stacked-series way).
      const bands = names.slice(1).map((_, i) => ({ series: [i + 2, i + 1] }));
      return {
        series, bands,
        scales: { x: { time: true, range: timeRange(60) }, y: { range: zeroUp } },
        axes: [{}, { label: 'deliveries / min', incrs: COUNT_INCRS, values: (u, ticks) => ticks.map((t) => fmtNum(t)) }],
        cursor: { points: { show: false } },
        legend: { live: true },
      };
    }, data);
  }

  function renderBacklog(d) {
    const at = arr(d.at).map(num);
    if (!at.length) return noData('backlog', 'No samples yet: serve records one a minute while it runs.');
    const xs = [], backlog = [], lag = [];
    at.forEach((t, i) => {
      // a gap of more than two samples means serve was not running: break the lines there
      if (i > 0 && t - at[i - 1] > 150) { xs.push(at[i - 1] + 60); backlog.push(null); lag.push(null); }
      xs.push(t);
      backlog.push(arr(d.backlog)[i] == null ? null : num(d.backlog[i]));
      lag.push(arr(d.lag_seconds)[i] == null ? null : num(d.lag_seconds[i]));
    });
    const now = Date.now() / 1000;
    state.backlogRange = [Math.min(xs[0], now - DAY), Math.max(xs[xs.length - 1], now) + 60];
    draw('backlog', 'backlog', () => ({
      series: [
        { label: 'Time' },
        { label: 'backlog (pending)', scale: 'count', stroke: '#2563eb', fill: 'rgba(37,99,235,0.12)', width: 1.5,
          value: (u, v) => (v == null ? '--' : fmtNum(v)) },
        { label: 'apply lag', scale: 's', stroke: '#e67e22', width: 1.5, value: (u, v) => (v == null ? '--' : fmtDuration(v)) },
      ],
      // the last 24 hours, like the deliveries chart, however few samples there are
      scales: { x: { time: true, range: () => state.backlogRange }, count: { range: zeroUp }, s: { range: zeroUp } },
      axes: [
        {},
        { scale: 'count', label: 'pending deliveries', incrs: COUNT_INCRS, values: (u, ticks) => ticks.map((t) => fmtNum(t)) },
        { scale: 's', side: 1, label: 'lag', grid: { show: false }, values: (u, ticks) => ticks.map(fmtShort) },
      ],
    }), [xs, backlog, lag]);
  }

  function renderRunsChart(runs) {
    const rs = runs.filter((r) => !isNaN(Date.parse(r.started_at)))
      .map((r) => ({ r, t: Date.parse(r.started_at) / 1000 }))
      .sort((a, b) => a.t - b.t || a.r.id - b.r.id);
    if (!rs.length) return noData('runs', '');
    const col = (pred) => rs.map(({ r }) => (pred(r) ? num(r.seconds) : null));
    const data = [rs.map((x) => x.t),
      col((r) => r.mode === 'incremental'), col((r) => r.mode === 'full'),
      col((r) => r.status === 'failed'), col((r) => r.status === 'running')];
    state.runIds = rs.map((x) => x.r.id);
    // from the oldest run listed (at least the last 24 hours) to now, with a margin
    const first = Math.min(rs[0].t, Date.now() / 1000 - DAY), last = Math.max(rs[rs.length - 1].t, Date.now() / 1000);
    const pad = Math.max(600, (last - first) * 0.03);
    state.runsRange = [first - pad, last + pad];
    draw('runs', 'runs', () => ({
      series: [
        { label: 'Started', value: (u, v, si, idx) => (idx == null ? '--' : 'run ' + state.runIds[idx] + ', ' + fmtTime(new Date(v * 1000).toISOString())) },
        Object.assign({ label: 'incremental', value: (u, v) => (v == null ? '--' : fmtDuration(v)) }, onlyPoints('#4e79a7', 8)),
        Object.assign({ label: 'full', value: (u, v) => (v == null ? '--' : fmtDuration(v)) }, onlyPoints('#8e44ad', 8)),
        Object.assign({ label: 'failed', value: (u, v) => (v == null ? '--' : 'failed') }, onlyPoints(FAILED_COLOR, 14, 'rgba(0,0,0,0)')),
        Object.assign({ label: 'running', value: (u, v) => (v == null ? '--' : 'running') }, onlyPoints('#16a34a', 14, 'rgba(0,0,0,0)')),
      ],
      scales: { x: { time: true, range: () => state.runsRange },
        y: { range: zeroUp } },
      axes: [{}, { label: 'duration', values: (u, ticks) => ticks.map(fmtShort) }],
      cursor: { points: { show: false } },
    }), data);
  }

  let resizeTimer = null;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const [key, u] of Object.entries(state.charts)) u.setSize({ width: chartWidth(key), height: CHART_HEIGHT[key] });
    }, 150);
  }

  // ---------- wiring ----------

  function init() {
    $('signin-form').addEventListener('submit', onSignIn);
    $('signout').addEventListener('click', () => { signOut(''); say(''); $('signin-error').hidden = true; });
    $('disabled-retry').addEventListener('click', () => { if (state.token) start(); else show('signin'); });
    $('resync-incremental').addEventListener('click', (e) => resync(e.currentTarget, { full: false }));
    $('resync-full').addEventListener('click', (e) => resync(e.currentTarget, { full: true }));
    $('resync-allow-mass-delete').addEventListener('click', (e) => {
      const ok = window.confirm('Start a full resync that DELETES the records the guard held back from the mirror?');
      if (ok) resync(e.currentTarget, { full: true, allow_mass_delete: true });
    });
    $('replay-all').addEventListener('click', (e) => replayAll(e.currentTarget));
    $('failed').addEventListener('click', (e) => {
      const b = e.target instanceof Element && e.target.closest('button.replay');
      if (b) replayOne(b);
    });
    $('failed-older').addEventListener('click', () => {
      if (state.nextBefore == null) return;
      state.failedBefore = state.nextBefore;
      refreshFast();
    });
    $('failed-newest').addEventListener('click', () => { state.failedBefore = null; refreshFast(); });
    window.addEventListener('resize', onResize);

    let saved = null;
    try { saved = sessionStorage.getItem(TOKEN_KEY); } catch (e) { /* no storage */ }
    if (saved) {
      state.token = saved;
      start();
    } else {
      show('signin');
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
