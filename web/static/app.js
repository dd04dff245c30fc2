// flopcast web UI. Plain JavaScript, no build step; charts by the vendored
// Apache ECharts. The page state lives in the query string so that a view
// can be bookmarked. In a report written by `flopcast search --html`
// window.FLOPCAST_REPORT holds the data and no request is made.
'use strict';
(function () {
  const REPORT = window.FLOPCAST_REPORT || null;
  const $ = (sel, el) => (el || document).querySelector(sel);
  const $$ = (sel, el) => Array.from((el || document).querySelectorAll(sel));

  // ---- state <-> URL ------------------------------------------------------

  const PLAN_FIELDS = ['model', 'chip', 'chips', 'seq', 'gb', 'precision', 'recipe', 'tokens',
    'tp', 'pp', 'dp', 'cp', 'ep', 'vpp', 'mb', 'zero', 'recompute', 'sp', 'objective',
    'layers', 'hidden', 'heads', 'kv_heads', 'ffn', 'vocab', 'experts', 'top_k', 'expert_ffn'];
  const DEFAULTS = {
    view: 'plan', model: 'llama3-70b', chip: 'h100-sxm', chips: '1024', seq: '8192', gb: '1024',
    precision: 'bf16', recipe: 'megatron', tokens: '15e12', objective: 'time', sel: '0',
    cchips: 'h100-sxm,b200,mi300x,trainium2,tpu-v5p', counts: '256,1024,4096',
    budget: '10e9', cchip: 'h100-sxm',
  };
  const VIEWS = ['plan', 'compare', 'capex', 'validate', 'serve'];
  const EXTRA_FIELDS = ['sel', 'cchips', 'counts', 'budget', 'cchip', 'cmodel', 'ctokens', 'scenario', 'vmetric'];

  function readURL() {
    const q = new URLSearchParams(location.search);
    const st = {};
    const hasPlan = PLAN_FIELDS.some((k) => q.has(k));
    for (const [k, v] of Object.entries(DEFAULTS)) st[k] = v;
    // Writing the URL leaves empty fields out, so a missing tokens or knob
    // was cleared; the selects fall back to their defaults.
    if (hasPlan) for (const k of PLAN_FIELDS) st[k] = q.get(k) || (k === 'tokens' ? '' : DEFAULTS[k] || '');
    for (const k of ['view'].concat(EXTRA_FIELDS)) {
      if (q.has(k)) st[k] = q.get(k);
    }
    if (!VIEWS.includes(st.view)) st.view = 'plan';
    return st;
  }

  function writeURL(st, push) {
    const q = new URLSearchParams();
    for (const k of ['view'].concat(PLAN_FIELDS, EXTRA_FIELDS)) {
      if (st[k] !== undefined && st[k] !== '') q.set(k, st[k]);
    }
    const url = '?' + q.toString();
    if (url === location.search) return;
    if (push) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }

  // A report holds the Plan view of one search: of the URL it reads the
  // view and the selected row.
  let state = REPORT ? Object.assign({}, DEFAULTS, reportURL()) : readURL();

  function reportURL() {
    const q = new URLSearchParams(location.search);
    return { view: q.get('view') || 'plan', sel: q.get('sel') || '0' };
  }

  // ---- formatting ---------------------------------------------------------

  const fin = (x) => typeof x === 'number' && isFinite(x);
  function fmtS(s) {
    if (!fin(s)) return '–';
    if (s === 0) return '0';
    if (s >= 86400 * 2) return (s / 86400).toFixed(1) + ' d';
    if (s >= 100) return s.toFixed(0) + ' s';
    if (s >= 1) return s.toFixed(2) + ' s';
    if (s >= 1e-3) return (s * 1e3).toFixed(s >= 0.1 ? 0 : 1) + ' ms';
    return (s * 1e6).toFixed(0) + ' µs';
  }
  function fmtSI(x, unit) {
    if (!fin(x)) return '–';
    unit = unit || '';
    const a = Math.abs(x);
    for (const [v, p] of [[1e24, 'Y'], [1e21, 'Z'], [1e18, 'E'], [1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']]) {
      if (a >= v) { const y = x / v; return y.toFixed(y >= 100 ? 0 : y >= 10 ? 1 : 2) + ' ' + p + unit; }
    }
    return x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2) + (unit ? ' ' + unit : '');
  }
  function fmtUSD(x) {
    if (!fin(x)) return '–';
    const a = Math.abs(x);
    for (const [v, p] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M'], [1e3, 'k']]) {
      if (a >= v) { const y = x / v; return '$' + y.toFixed(y >= 100 ? 0 : y >= 10 ? 1 : 2) + p; }
    }
    return '$' + x.toFixed(0);
  }
  function fmtDays(d) {
    if (!fin(d)) return '–';
    if (d < 1) return (d * 24).toFixed(d * 24 >= 10 ? 0 : 1) + ' h';
    return d.toFixed(d >= 100 ? 0 : 1) + ' d';
  }
  // fmtExp writes 1.33e29 as 1.33×10²⁹.
  function fmtExp(x) {
    if (!fin(x) || x <= 0) return '–';
    const e = Math.floor(Math.log10(x));
    const sup = String(e).split('').map((c) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[+c]).join('');
    return (x / Math.pow(10, e)).toFixed(2) + '×10' + sup;
  }
  function fmtParams(x) {
    if (!fin(x)) return '–';
    for (const [v, p] of [[1e12, 'T'], [1e9, 'B'], [1e6, 'M']]) if (x >= v) return (x / v).toFixed(x / v >= 100 ? 0 : 1) + p;
    return num(x);
  }
  const pct = (x) => (fin(x) ? (x * 100).toFixed(1) + '%' : '–');
  const gib = (x) => (fin(x) ? x.toFixed(1) + ' GiB' : '–');
  const num = (x, d) => (fin(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d || 0 }) : '–');
  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  }
  function layoutLabel(p) {
    let s = `tp${p.tp} pp${p.pp} dp${p.dp}`;
    if (p.cp > 1) s += ` cp${p.cp}`;
    if (p.ep > 1) s += ` ep${p.ep}`;
    if (p.vpp > 1) s += ` vpp${p.vpp}`;
    s += ` mb${p.micro_batch} zero${p.zero}`;
    if (p.recompute && p.recompute !== 'none') s += ` ${p.recompute}-rc`;
    if (p.tp > 1 && !p.sequence_parallel) s += ' no-sp';
    return s;
  }

  // ---- requests -----------------------------------------------------------

  // FieldError bodies: {"error": message, "field": "cluster.chips", ...}.
  class APIError extends Error {
    constructor(body, status) {
      super(body && body.error ? body.error : 'HTTP ' + status);
      this.field = body && body.field;
      this.status = status;
    }
  }
  async function api(method, path, body, signal) {
    const opt = { method, signal, headers: {} };
    if (body !== undefined) { opt.body = JSON.stringify(body); opt.headers['Content-Type'] = 'application/json'; }
    const resp = await fetch(path, opt);
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) throw new APIError(data, resp.status);
    return data;
  }

  // ---- charts -------------------------------------------------------------

  const charts = {};
  function chart(id) {
    const el = document.getElementById(id);
    let c = echarts.getInstanceByDom(el);
    if (!c) c = echarts.init(el, null, { renderer: 'canvas' });
    charts[id] = c;
    return c;
  }
  window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));
  const PALETTE = ['#2f6fde', '#e8833a', '#3aa17e', '#c0392b', '#8e6bbf', '#b8860b', '#5ab0d6', '#d46fa8', '#6b7a8f'];
  const BREAKDOWN = [
    ['compute_s', 'compute', '#2f6fde'], ['exposed_tp_comm_s', 'TP comm', '#e8833a'],
    ['exposed_cp_comm_s', 'CP comm', '#d46fa8'], ['exposed_ep_comm_s', 'EP comm', '#8e6bbf'],
    ['exposed_pp_comm_s', 'PP comm', '#b8860b'], ['pipeline_bubble_s', 'pipeline bubble', '#c0392b'],
    ['exposed_dp_comm_s', 'DP comm', '#3aa17e'], ['optimizer_s', 'optimizer', '#6b7a8f'],
    ['offload_s', 'offload', '#9aa0a6'],
  ];
  const MEMORY = [
    ['weights_gib', 'weights', '#2f6fde'], ['grads_gib', 'gradients', '#5ab0d6'],
    ['optimizer_gib', 'optimizer', '#8e6bbf'], ['activations_gib', 'activations', '#e8833a'],
    ['other_gib', 'other', '#6b7a8f'],
  ];
  const baseGrid = { left: 56, right: 20, top: 36, bottom: 36, containLabel: false };
  const legend = (extra) => Object.assign({ top: 0, type: 'scroll', itemWidth: 14, itemHeight: 9, itemGap: 8, textStyle: { fontSize: 11 } }, extra);

  // ---- views --------------------------------------------------------------

  function showView(v) {
    state.view = v;
    for (const name of VIEWS) {
      const sec = document.getElementById('view-' + name);
      sec.hidden = name !== v;
    }
    $$('#tabs a').forEach((a) => a.classList.toggle('active', a.dataset.view === v));
    // Charts drawn while hidden have no size.
    requestAnimationFrame(() => Object.values(charts).forEach((c) => c.resize()));
    // Each view asks the server when first shown, not before.
    if (v === 'plan' && !planLoaded) runPlan(false);
    if (v === 'compare' && !compareLoaded) runCompare(false);
    if (v === 'capex' && !capexLoaded) runCapex(false, state.scenario);
    if (v === 'validate' && !validateLoaded) runValidate();
    if (v === 'serve' && window.flopcastServe) window.flopcastServe.show(); // serve.js
  }

  // ---- Plan ---------------------------------------------------------------

  const planForm = $('#plan-form');
  let plan = null; // the last search response
  let planRun = null; // the run it searched
  let searchCtl = null;
  let planLoaded = false;
  let selSeq = 0;
  const timelineCache = new Map();

  function fillPlanForm(st) {
    for (const k of PLAN_FIELDS) {
      const el = planForm.elements[k];
      if (!el) continue;
      if (el.tagName === 'SELECT' && st[k] && !Array.from(el.options).some((o) => o.value === st[k])) {
        el.add(new Option(st[k], st[k]));
      }
      el.value = st[k] || '';
    }
    $('#inline-model').hidden = planForm.elements.model.value !== 'custom';
  }

  function readPlanForm() {
    const st = {};
    for (const k of PLAN_FIELDS) {
      const el = planForm.elements[k];
      st[k] = el ? el.value.trim() : '';
    }
    return st;
  }

  // num parses a form value; text that is not a number goes to the server
  // as is, so its error message names the field like the CLI does.
  function n(v) {
    if (v === '' || v === undefined) return undefined;
    const x = Number(v);
    return isFinite(x) ? x : v;
  }

  function buildRun(st) {
    let model = st.model;
    if (st.model === 'custom') {
      model = {};
      for (const k of ['layers', 'hidden', 'heads', 'kv_heads', 'ffn', 'vocab']) if (st[k] !== '') model[k] = n(st[k]);
      if (st.experts !== '') {
        model.moe = { experts: n(st.experts), top_k: n(st.top_k || '1'), expert_ffn: n(st.expert_ffn || st.ffn) };
      }
    }
    const run = {
      model,
      cluster: { chip: st.chip, chips: n(st.chips) },
      training: { seq_len: n(st.seq), global_batch: n(st.gb), precision: st.precision || undefined, recipe: st.recipe || undefined },
    };
    if (st.tokens !== '') run.training.tokens = n(st.tokens);
    const par = {};
    for (const [k, j] of [['tp', 'tp'], ['pp', 'pp'], ['dp', 'dp'], ['cp', 'cp'], ['ep', 'ep'], ['vpp', 'vpp'], ['mb', 'micro_batch'], ['zero', 'zero']]) {
      if (st[k] !== '') par[j] = n(st[k]);
    }
    if (st.recompute !== '') par.recompute = st.recompute;
    if (st.sp !== '') par.sequence_parallel = st.sp === 'true';
    if (Object.keys(par).length) run.parallel = par;
    return run;
  }

  // Form inputs by the run.yaml field an error names.
  const FIELD_INPUT = {
    model: 'model', 'cluster.chip': 'chip', 'cluster.chips': 'chips', 'training.seq_len': 'seq',
    'training.global_batch': 'gb', 'training.precision': 'precision', 'training.recipe': 'recipe',
    'training.tokens': 'tokens', 'parallel.tp': 'tp', 'parallel.pp': 'pp', 'parallel.dp': 'dp',
    'parallel.cp': 'cp', 'parallel.ep': 'ep', 'parallel.vpp': 'vpp', 'parallel.micro_batch': 'mb',
    'parallel.zero': 'zero', 'parallel.recompute': 'recompute', 'parallel.sequence_parallel': 'sp',
    'model.moe.experts': 'experts', 'model.moe.top_k': 'top_k', 'model.moe.expert_ffn': 'expert_ffn',
    counts: 'counts', chips: 'counts', budget_usd: 'budget', budget: 'budget', chip: 'cchip', tokens: 'ctokens', objective: 'objective',
  };
  function clearErrors(form) {
    const box = form.querySelector('.form-error');
    box.hidden = true;
    box.textContent = '';
    $$('.bad', form).forEach((el) => el.classList.remove('bad'));
    $$('.field-msg', form).forEach((el) => el.remove());
  }
  function showError(form, err) {
    const box = form.querySelector('.form-error');
    box.hidden = false;
    box.textContent = err.message;
    let name = err.field && (FIELD_INPUT[err.field] || (err.field.startsWith('model.') ? err.field.slice(6) : null));
    const el = name && form.elements[name];
    if (el && el.classList) {
      el.classList.add('bad');
      const msg = document.createElement('div');
      msg.className = 'field-msg';
      msg.textContent = err.field;
      el.closest('label').after(msg);
    }
  }

  function knobKey(p) { return JSON.stringify(p); }

  async function runPlan(push) {
    planLoaded = true;
    const form = readPlanForm();
    Object.assign(state, form);
    writeURL(state, push);
    clearErrors(planForm);
    const run = buildRun(form);
    if (searchCtl) searchCtl.abort();
    selSeq++; // a timeline still loading is for the old answer
    searchCtl = new AbortController();
    const ctl = searchCtl;
    document.body.dataset.plan = 'loading';
    $('#plan-submit').disabled = true;
    $('#plan-status').className = 'status';
    $('#plan-status').textContent = 'Searching…';
    try {
      const q = new URLSearchParams({ top: '10', objective: form.objective || 'time' });
      const rep = await api('POST', '/api/search?' + q, run, ctl.signal);
      if (ctl !== searchCtl) return;
      plan = rep;
      planRun = run;
      timelineCache.clear();
      let sel = parseInt(state.sel, 10);
      if (!(sel >= 0 && sel < rep.results.length)) sel = 0;
      drawPlan(sel);
      document.body.dataset.plan = 'ready';
    } catch (err) {
      if (err.name === 'AbortError') return;
      document.body.dataset.plan = 'error';
      clearPlan();
      $('#plan-status').className = 'status err';
      $('#plan-status').textContent = err.status === 422 ? 'No layout of this run fits: the form says why and what would help.' :
        err.field ? 'No result: fix the field marked in the form.' : 'No result: ' + err.message;
      showError(planForm, err);
    } finally {
      if (ctl === searchCtl) $('#plan-submit').disabled = false;
    }
  }

  // clearPlan empties the Plan view so that an error does not leave the
  // previous run's answer on screen.
  function clearPlan() {
    plan = null;
    for (const id of ['chart-pareto', 'chart-breakdown', 'chart-memory', 'chart-timeline']) chart(id).clear();
    $('#plan-table thead').innerHTML = '';
    $('#plan-table tbody').innerHTML = '';
    $('#plan-cards').innerHTML = '';
    $('#plan-notes').innerHTML = '';
    $('#run-totals').innerHTML = '';
    $('#timeline-note').textContent = '';
  }

  function drawPlan(sel) {
    const rep = plan;
    const status = `${rep.model} on ${num(rep.chips)} × ${rep.chip}: searched ${num(rep.evaluated)} layouts, ${num(rep.feasible)} fit` +
      (fin(rep.elapsed_s) ? `, in ${fmtS(rep.elapsed_s)}` : '') + '.';
    $('#plan-status').className = 'status';
    $('#plan-status').textContent = status;
    drawTable(rep);
    if (!rep.results.length) {
      $('#plan-status').className = 'status err';
      $('#plan-status').textContent = status + ' No layout fits in memory: add chips, pin recompute=full, or a higher zero stage.';
    }
    drawPareto(rep);
    drawBreakdown(rep);
    drawMemory(rep);
    select(sel, false);
  }

  function drawTable(rep) {
    const hasRun = rep.results.some((r) => r.run);
    const head = ['#', 'layout', 'step time', 'tokens/s', 'MFU', 'HFU', 'peak mem', 'bubble'].concat(hasRun ? ['days', 'cost'] : []);
    $('#plan-table thead').innerHTML = '<tr>' + head.map((h, i) => `<th${i === 1 ? ' class="l"' : ''}>${h}</th>`).join('') + '</tr>';
    const rows = rep.results.map((r, i) => {
      const cells = [i + 1, esc(layoutLabel(r.parallel)), fmtS(r.step_time_s), fmtSI(r.tokens_per_s), pct(r.mfu), pct(r.hfu),
        `<span class="${r.memory.fits ? '' : 'bad'}">${gib(r.memory.peak_gib)}</span>`,
        pct(r.breakdown.pipeline_bubble_s / r.step_time_s)];
      if (hasRun) cells.push(r.run ? r.run.days.toFixed(1) : '–', r.run ? fmtUSD(r.run.cost_usd) : '–');
      return `<tr data-i="${i}" tabindex="0">` + cells.map((c, j) => `<td${j === 1 ? ' class="l"' : ''}>${c}</td>`).join('') + '</tr>';
    });
    $('#plan-table tbody').innerHTML = rows.join('') || `<tr><td colspan="${head.length}" class="empty">no layout fits</td></tr>`;
  }

  function select(i, user) {
    const rep = plan;
    if (!rep || !rep.results.length) {
      $('#plan-cards').innerHTML = '';
      $('#plan-notes').innerHTML = '';
      $('#run-totals').innerHTML = '<div class="empty">no result</div>';
      chart('chart-timeline').clear();
      return;
    }
    state.sel = String(i);
    if (user && REPORT) writeReportURL();
    else if (user) writeURL(state, false);
    $$('#plan-table tbody tr').forEach((tr) => tr.classList.toggle('selected', tr.dataset.i === String(i)));
    const r = rep.results[i];
    drawCards(r, rep);
    drawNotes(r, rep, i);
    drawRun(r);
    highlight(i);
    loadTimeline(r, i);
  }

  function drawCards(r, rep) {
    const cards = [
      ['step time', fmtS(r.step_time_s)], ['tokens/s', fmtSI(r.tokens_per_s)], ['MFU', pct(r.mfu)], ['HFU', pct(r.hfu)],
      ['model TFLOP/s/chip', num(r.model_tflops_per_chip)],
      ['peak memory', `${gib(r.memory.peak_gib)}`, !r.memory.fits],
    ];
    if (r.run) cards.push(['time to train', r.run.days.toFixed(1) + ' days'], ['cost', fmtUSD(r.run.cost_usd)]);
    $('#plan-cards').innerHTML = cards.map(([k, v, bad]) => `<div class="card${bad ? ' bad' : ''}"><div class="k">${k}</div><div class="v">${v}</div></div>`).join('');
  }

  function drawNotes(r, rep, i) {
    let html = `<b>#${i + 1}</b> ${esc(layoutLabel(r.parallel))}`;
    const items = [];
    if (i === 0) for (const e of rep.explanation || []) items.push(`<li>${esc(e)}</li>`);
    for (const w of (rep.warnings || []).concat(r.warnings || [])) items.push(`<li class="warn">⚠ ${esc(w)}</li>`);
    if (items.length) html += '<ul>' + items.join('') + '</ul>';
    $('#plan-notes').innerHTML = html;
  }

  function drawRun(r) {
    const el = $('#run-totals');
    if (!r.run) {
      el.innerHTML = '<div class="empty">Give training tokens to see the whole run: days, cost, energy, carbon and failures.</div>';
      return;
    }
    const x = r.run;
    const items = [
      ['steps', num(x.steps)], ['days', num(x.days, 1)], ['chip-hours', fmtSI(x.chip_hours)], ['cost', fmtUSD(x.cost_usd)],
      ['energy', num(x.energy_mwh) + ' MWh'], ['CO₂', num(x.co2_t) + ' t'], ['interruptions', num(x.interruptions)], ['goodput', pct(x.goodput)],
    ];
    el.innerHTML = items.map(([k, v]) => `<div><div class="k">${k}</div><div class="v">${v}</div></div>`).join('');
  }

  function drawPareto(rep) {
    const c = chart('chart-pareto');
    const pts = rep.results.map((r, i) => ({ value: [r.memory.peak_gib, r.step_time_s, i], name: '#' + (i + 1) }));
    const allY = rep.results.map((r) => r.step_time_s).concat(rep.pareto.map((r) => r.step_time_s)).filter((v) => v > 0);
    const front = rep.pareto.slice().sort((a, b) => a.memory.peak_gib - b.memory.peak_gib).map((r) => [r.memory.peak_gib, r.step_time_s, layoutLabel(r.parallel)]);
    c.setOption({
      animation: false,
      grid: baseGrid,
      legend: { top: 0, data: ['ranked', 'Pareto front'] },
      tooltip: {
        trigger: 'item', formatter: (p) => {
          if (p.seriesName === 'ranked') { const r = rep.results[p.value[2]]; return `#${p.value[2] + 1} ${esc(layoutLabel(r.parallel))}<br>step ${fmtS(r.step_time_s)}, peak ${gib(r.memory.peak_gib)}`; }
          return `${esc(p.value[2])}<br>step ${fmtS(p.value[1])}, peak ${gib(p.value[0])}`;
        },
      },
      xAxis: { type: 'value', name: 'peak GiB', nameLocation: 'middle', nameGap: 24, min: 0, max: (v) => { const m = Math.max(v.max, (rep.hbm_gib || 0) * 1.04); return m > 20 ? Math.ceil(m / 10) * 10 : Math.ceil(m); } },
      // Memory-lean layouts on the front can be far slower: a log scale
      // keeps the fast end readable.
      yAxis: logSpan(allY) ? { type: 'log', name: 'step time (s)', axisLabel: { formatter: fmtS } } : { type: 'value', name: 'step time (s)', scale: true },
      series: [
        { name: 'Pareto front', type: 'line', step: 'end', data: front, symbolSize: 6, color: '#9aa5b5', lineStyle: { type: 'dashed' }, z: 1,
          markLine: rep.hbm_gib ? { silent: true, symbol: 'none', label: { formatter: 'HBM' }, lineStyle: { color: '#c0392b' }, data: [{ xAxis: rep.hbm_gib }] } : undefined },
        { name: 'ranked', type: 'scatter', data: pts, symbolSize: 11, color: '#2f6fde', z: 2 },
      ],
    }, true);
    c.off('click');
    c.on('click', (p) => { if (p.seriesName === 'ranked') select(p.value[2], true); });
  }

  function logSpan(vals) { return vals.length > 1 && Math.max(...vals) / Math.min(...vals) > 8; }

  function categories(rep) { return rep.results.map((r, i) => '#' + (i + 1)); }

  function drawBreakdown(rep) {
    const c = chart('chart-breakdown');
    const used = BREAKDOWN.filter(([k]) => rep.results.some((r) => r.breakdown[k] > 0));
    c.setOption({
      animation: false,
      grid: Object.assign({}, baseGrid, { top: 48 }),
      legend: legend(),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: fmtS },
      xAxis: { type: 'category', data: categories(rep) },
      yAxis: { type: 'value', name: 's' },
      series: used.map(([k, name, color]) => ({
        name, type: 'bar', stack: 'step', color, data: rep.results.map((r) => r.breakdown[k]),
      })),
    }, true);
    c.off('click');
    c.on('click', (p) => select(p.dataIndex, true));
  }

  function drawMemory(rep) {
    const c = chart('chart-memory');
    const series = MEMORY.map(([k, name, color]) => ({
      name, type: 'bar', stack: 'mem', color, data: rep.results.map((r) => r.memory[k]),
    }));
    if (rep.hbm_gib && series.length) {
      series[0].markLine = {
        silent: true, symbol: 'none', lineStyle: { color: '#c0392b', type: 'solid', width: 2 },
        label: { formatter: `usable HBM ${rep.hbm_gib.toFixed(1)} GiB`, position: 'insideEndTop' },
        data: [{ yAxis: rep.hbm_gib }],
      };
    }
    const top = Math.max(rep.hbm_gib || 0, ...rep.results.map((r) => r.memory.peak_gib));
    // A top that is a whole number of ticks: an odd top such as 85 above
    // a tick at 80 would print two labels on top of each other.
    const [max, interval] = niceAxis(top * 1.08);
    c.setOption({
      animation: false,
      grid: Object.assign({}, baseGrid, { top: 48 }),
      legend: legend(),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: gib },
      xAxis: { type: 'category', data: categories(rep) },
      yAxis: { type: 'value', name: 'GiB', min: 0, max, interval },
      series,
    }, true);
    c.off('click');
    c.on('click', (p) => select(p.dataIndex, true));
  }

  // niceAxis returns a top of at least hi and a tick interval of 1, 2 or 5
  // times a power of ten that divides it, for about five ticks.
  function niceAxis(hi) {
    if (!(hi > 0)) return [1, 0.2];
    const raw = hi / 5;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((k) => k * p).find((s) => s >= raw);
    return [Math.ceil(hi / step - 1e-9) * step, step];
  }

  function highlight(i) {
    const sel = (ax) => ({ data: plan.results.map((r, j) => ({ value: '#' + (j + 1), textStyle: j === i ? { fontWeight: 'bold', color: '#17202e' } : { color: '#98a2b3' } })) });
    chart('chart-breakdown').setOption({ xAxis: sel() });
    chart('chart-memory').setOption({ xAxis: sel() });
    chart('chart-pareto').setOption({
      series: [{}, { data: plan.results.map((r, j) => ({ value: [r.memory.peak_gib, r.step_time_s, j], symbolSize: j === i ? 20 : 11, itemStyle: j === i ? { color: '#e8833a', borderColor: '#17202e', borderWidth: 1 } : {} })) }],
    });
  }

  async function loadTimeline(r, i) {
    const seq = ++selSeq;
    const key = knobKey(r.parallel);
    let res = REPORT ? { timeline: (REPORT.timelines || [])[i] } : timelineCache.get(key);
    document.body.dataset.timeline = 'loading';
    if (!res) {
      try {
        const run = Object.assign({}, planRun, { parallel: r.parallel });
        res = await api('POST', '/api/estimate', run);
        timelineCache.set(key, res);
      } catch (err) {
        if (seq !== selSeq) return;
        $('#timeline-note').textContent = 'could not load: ' + err.message;
        chart('chart-timeline').clear();
        document.body.dataset.timeline = 'error';
        return;
      }
    }
    if (seq !== selSeq) return;
    drawTimeline(res.timeline, i);
    document.body.dataset.timeline = 'ready';
    document.body.dataset.timelineFor = key;
  }

  function drawTimeline(tl, i) {
    const c = chart('chart-timeline');
    c.clear();
    if (!tl) { $('#timeline-note').textContent = 'no schedule'; return; }
    const p = tl.stages;
    // A row per stage that stays readable from 1 to 64 stages.
    const height = Math.min(900, Math.max(260, 110 + p * 26)) + 'px';
    if (c.getDom().style.height !== height) { c.getDom().style.height = height; c.resize(); }
    let note = `#${i + 1}: ${p} stage${p > 1 ? 's' : ''}, ${tl.micro_batches} micro-batches` + (tl.schedule === 'dualpipe' ? ', DualPipe (passes drawn in 1F1B order)' : tl.vpp > 1 ? `, ${tl.vpp} chunks per stage (interleaved 1F1B)` : ', 1F1B') +
      `; bubble ${pct(tl.bubble_fraction)} of the step`;
    if (tl.truncated) note += ' (too many passes to draw)';
    $('#timeline-note').textContent = note;
    const bars = tl.bars || [];
    // Idle gaps per stage: the bubbles.
    const idle = [];
    const byStage = Array.from({ length: p }, () => []);
    for (const b of bars) byStage[b[0]].push(b);
    byStage.forEach((list, s) => {
      list.sort((a, b) => a[4] - b[4]);
      let t = 0;
      for (const b of list) { if (b[4] - t > tl.makespan_s * 1e-4) idle.push([s, t, b[4]]); t = Math.max(t, b[5]); }
      if (tl.makespan_s - t > tl.makespan_s * 1e-4) idle.push([s, t, tl.makespan_s]);
    });
    // Two shades per kind tell neighbouring chunks apart.
    const fwdColor = ['#2f6fde', '#6f9be8'];
    const bwdColor = ['#3aa17e', '#72c3a5'];
    const render = (kindColor) => (params, apiCtx) => {
      const stage = apiCtx.value(0);
      const a = apiCtx.coord([apiCtx.value(1), stage]);
      const b = apiCtx.coord([apiCtx.value(2), stage]);
      const h = apiCtx.size([0, 1])[1] * 0.72;
      const shape = echarts.graphic.clipRectByRect(
        { x: a[0], y: a[1] - h / 2, width: Math.max(b[0] - a[0], 0.6), height: h },
        { x: params.coordSys.x, y: params.coordSys.y, width: params.coordSys.width, height: params.coordSys.height });
      if (!shape) return null;
      const el = { type: 'rect', shape, style: { fill: kindColor(apiCtx), stroke: '#fff', lineWidth: shape.width > 4 ? 0.5 : 0 } };
      if (kindColor !== idleColor && shape.width > 16 && h > 10) {
        return { type: 'group', children: [el, { type: 'text', style: { text: String(apiCtx.value(3)), x: shape.x + shape.width / 2, y: shape.y + shape.height / 2, align: 'center', verticalAlign: 'middle', fill: '#fff', fontSize: 10 } }] };
      }
      return el;
    };
    const passColor = (apiCtx) => (apiCtx.value(4) === 0 ? fwdColor : bwdColor)[apiCtx.value(5) % 2];
    const idleColor = () => '#f6d5d1';
    const data = bars.map((b) => [b[0], b[4], b[5], b[1], b[3], b[2]]);
    c.setOption({
      animation: false,
      grid: { left: 70, right: 24, top: 36, bottom: 64 },
      legend: { top: 0, data: ['forward', 'backward', 'idle (bubble)'] },
      tooltip: {
        trigger: 'item', formatter: (q) => {
          const v = q.value;
          if (q.seriesName === 'idle (bubble)') return `stage ${v[0]} idle<br>${fmtS(v[1])} – ${fmtS(v[2])} (${fmtS(v[2] - v[1])})`;
          return `stage ${v[0]} · micro-batch ${v[3]}` + (tl.vpp > 1 ? ` · chunk ${v[5]}` : '') + ` · ${v[4] === 0 ? 'forward' : 'backward'}<br>${fmtS(v[1])} – ${fmtS(v[2])}`;
        },
      },
      dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'weakFilter' }, { type: 'slider', xAxisIndex: 0, height: 18, bottom: 8, filterMode: 'weakFilter' }],
      xAxis: { type: 'value', name: 's', min: 0, max: tl.makespan_s, axisLabel: { formatter: (v) => fmtS(v) } },
      yAxis: { type: 'category', inverse: true, data: Array.from({ length: p }, (_, s) => 'stage ' + s) },
      series: [
        { name: 'idle (bubble)', type: 'custom', renderItem: render(idleColor), encode: { x: [1, 2], y: 0 }, data: idle, color: '#f6d5d1', z: 1 },
        { name: 'forward', type: 'custom', renderItem: render(passColor), encode: { x: [1, 2], y: 0 }, data: data.filter((d) => d[4] === 0), color: fwdColor[0], z: 2 },
        { name: 'backward', type: 'custom', renderItem: render(passColor), encode: { x: [1, 2], y: 0 }, data: data.filter((d) => d[4] === 1), color: bwdColor[0], z: 2 },
      ],
    }, true);
  }

  // ---- Compare ------------------------------------------------------------

  let compareLoaded = false;
  let compareCtl = null;
  const compareForm = $('#compare-form');

  function fillCompareForm(st, chipNames) {
    const want = new Set(st.cchips.split(',').map((s) => s.trim()));
    $('#compare-chips').innerHTML = chipNames.map((c) => `<label><input type="checkbox" name="cchip" value="${esc(c)}"${want.has(c) ? ' checked' : ''}> ${esc(c)}</label>`).join('');
    $('#f-counts').value = st.counts;
  }

  async function runCompare(push) {
    compareLoaded = true;
    const chips = $$('input[name=cchip]:checked', compareForm).map((el) => el.value);
    state.cchips = chips.join(',');
    state.counts = $('#f-counts').value.trim();
    writeURL(state, push);
    clearErrors(compareForm);
    const counts = state.counts.split(/[\s,]+/).filter(Boolean).map(Number);
    const base = buildRun(readPlanForm());
    base.cluster = {}; // each cell sets chip and chips
    if (base.parallel) delete base.parallel.dp;
    if (compareCtl) compareCtl.abort();
    compareCtl = new AbortController();
    const ctl = compareCtl;
    document.body.dataset.compare = 'loading';
    $('#compare-submit').disabled = true;
    $('#compare-status').className = 'status';
    $('#compare-status').textContent = `Searching ${chips.length * counts.length} clusters…`;
    try {
      const rep = await api('POST', '/api/sweep', { run: base, chips, counts }, ctl.signal);
      if (ctl !== compareCtl) return;
      drawCompare(rep, chips, counts);
      document.body.dataset.compare = 'ready';
    } catch (err) {
      if (err.name === 'AbortError') return;
      document.body.dataset.compare = 'error';
      $('#compare-status').className = 'status err';
      $('#compare-status').textContent = '';
      showError(compareForm, err);
    } finally {
      if (ctl === compareCtl) $('#compare-submit').disabled = false;
    }
  }

  function drawCompare(rep, chips, counts) {
    const cells = rep.cells;
    counts = Array.from(new Set(cells.map((c) => c.chips))).sort((a, b) => a - b);
    const bad = cells.filter((c) => !c.best).length;
    $('#compare-status').className = 'status';
    $('#compare-status').textContent = `${rep.model}: ${cells.length} clusters searched in ${fmtS(rep.elapsed_s)}` + (bad ? `; ${bad} without a layout` : '') +
      `. Time and rent of a ${fmtSI(rep.tokens)}-token run (${rep.tokens_note}), without failures.`;
    const by = (chip) => cells.filter((c) => c.chip === chip && c.best);
    const line = (metric, fmt) => ({
      animation: false, grid: Object.assign({}, baseGrid, { left: 64, top: 48 }), legend: legend(),
      tooltip: { trigger: 'axis', valueFormatter: fmt },
      xAxis: { type: 'log', name: 'chips', nameLocation: 'middle', nameGap: 24, logBase: 2, min: counts[0], max: counts[counts.length - 1] },
      yAxis: { type: 'value', axisLabel: { formatter: fmt }, scale: true },
      series: chips.map((chip, i) => ({ name: chip, type: 'line', color: PALETTE[i % PALETTE.length], symbolSize: 7, data: by(chip).map((c) => [c.chips, metric(c)]) })),
    });
    chart('chart-throughput').setOption(line((c) => c.tokens_per_s, (v) => fmtSI(v) + ' tok/s'), true);
    chart('chart-mfu').setOption(line((c) => c.mfu, pct), true);
    const bars = (metric, fmt, name) => ({
      animation: false, grid: Object.assign({}, baseGrid, { left: 64, top: 48 }), legend: legend(),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: fmt },
      xAxis: { type: 'category', name: 'chips', nameLocation: 'middle', nameGap: 24, data: counts.map(String) },
      yAxis: { type: 'value', name, axisLabel: { formatter: fmt } },
      series: chips.map((chip, i) => ({
        name: chip, type: 'bar', color: PALETTE[i % PALETTE.length],
        data: counts.map((n) => { const c = cells.find((x) => x.chip === chip && x.chips === n); return c && c.best ? metric(c) : null; }),
      })),
    });
    chart('chart-days').setOption(bars((c) => c.days, (v) => (fin(v) ? num(v, v >= 10 ? 0 : 1) : '–'), 'days'), true);
    chart('chart-cost').setOption(bars((c) => c.run_usd, fmtUSD, 'USD (rent)'), true);
    const head = ['chip', 'chips', 'best layout', 'step time', 'tokens/s', 'MFU', 'peak mem', 'time', 'rent', '$/M tokens'];
    $('#compare-table thead').innerHTML = '<tr>' + head.map((h, i) => `<th${i === 0 || i === 2 ? ' class="l"' : ''}>${h}</th>`).join('') + '</tr>';
    $('#compare-table tbody').innerHTML = cells.map((c) => {
      if (!c.best) return `<tr><td class="l">${esc(c.chip)}</td><td>${num(c.chips)}</td><td class="l bad wrap" colspan="8">${esc(c.error || 'no layout')}</td></tr>`;
      const b = c.best;
      return `<tr><td class="l">${esc(c.chip)}</td><td>${num(c.chips)}</td><td class="l">${esc(layoutLabel(b.parallel))}</td><td>${fmtS(c.step_time_s)}</td><td>${fmtSI(c.tokens_per_s)}</td><td>${pct(c.mfu)}</td><td>${gib(b.memory.peak_gib)}</td><td>${fmtDays(c.days)}</td><td>${fmtUSD(c.run_usd)}</td><td>${fin(c.usd_per_m_tokens) ? '$' + c.usd_per_m_tokens.toFixed(2) : '–'}</td></tr>`;
    }).join('');
  }

  // ---- Capex --------------------------------------------------------------

  let capexLoaded = false;
  const capexForm = $('#capex-form');

  async function runCapex(push, scenario) {
    capexLoaded = true;
    state.budget = $('#f-budget').value.trim();
    state.cchip = $('#f-cchip').value;
    state.cmodel = $('#f-cmodel').value;
    state.ctokens = $('#f-ctokens').value.trim();
    state.scenario = scenario || '';
    writeURL(state, push);
    clearErrors(capexForm);
    const body = scenario ? { scenario } : { budget_usd: n(state.budget), chip: state.cchip };
    if (state.cmodel) body.model = state.cmodel;
    if (state.ctokens) body.tokens = n(state.ctokens);
    document.body.dataset.capex = 'loading';
    $('#capex-submit').disabled = true;
    $$('#capex-scenarios button').forEach((b) => { b.disabled = true; });
    $('#capex-status').className = 'status';
    $('#capex-status').textContent = scenario ? `Planning ${scenario}…` : 'Planning…';
    try {
      const rep = await api('POST', '/api/capex', body);
      drawCapex(rep);
      document.body.dataset.capex = 'ready';
    } catch (err) {
      document.body.dataset.capex = 'error';
      $('#capex-status').className = 'status err';
      $('#capex-status').textContent = '';
      showError(capexForm, err);
    } finally {
      $('#capex-submit').disabled = false;
      $$('#capex-scenarios button').forEach((b) => { b.disabled = false; });
    }
  }

  const SPLIT_NAMES = { chips: 'chips', server_network: 'servers & network', power_cooling: 'power & cooling', land_site: 'land & site' };

  function drawCapex(rep) {
    const plans = Array.isArray(rep.plans) ? rep.plans : [rep];
    const multi = Array.isArray(rep.plans);
    const tot = (k) => plans.reduce((s, p) => s + (p[k] || 0), 0);
    const warn = Array.from(new Set(plans.flatMap((p) => p.warnings || [])));
    let status = multi ? `Scenario ${rep.scenario}: ${rep.description || ''}` :
      `${plans[0].chip}: ${fmtUSD(plans[0].per_chip_usd && plans[0].per_chip_usd.all_in)} per installed chip, all in; MFU ${pct(plans[0].mfu)} (${plans[0].mfu_source}).`;
    $('#capex-status').className = 'status';
    $('#capex-status').textContent = status;
    // Scenario plans repeat the same warning with their own numbers.
    const shown = warn.slice(0, 2).map((w) => `<li class="warn">⚠ ${esc(w)}</li>`);
    if (warn.length > 2) shown.push(`<li class="warn">… and ${warn.length - 2} more like these</li>`);
    $('#capex-notes').innerHTML = shown.length ? '<ul>' + shown.join('') + '</ul>' : '';
    $('#capex-grid').classList.toggle('stack', multi);
    const cards = [['budget', fmtUSD(tot('budget_usd'))], ['chips', num(tot('chips'))], ['power', num(tot('power_mw'), 0) + ' MW'], ['BF16 FLOP per year', fmtExp(tot('annual_bf16_flop'))]];
    if (!multi) cards.splice(1, 0, ['chip', esc(plans[0].chip)]);
    $('#capex-cards').innerHTML = cards.map(([k, v]) => `<div class="card"><div class="k">${k}</div><div class="v">${v}</div></div>`).join('');
    // capex_split holds fractions of each plan's budget.
    const split = {};
    for (const p of plans) for (const [k, v] of Object.entries(p.capex_split || {})) split[k] = (split[k] || 0) + v * p.budget_usd;
    chart('chart-capex').setOption({
      animation: false,
      tooltip: { trigger: 'item', formatter: (p) => `${esc(p.name)}: ${fmtUSD(p.value)} (${p.percent}%)` },
      legend: legend({ top: undefined, bottom: 0 }),
      // Labels sit against the chart's edges (alignTo 'edge'), never past
      // them; a long name breaks onto a second line rather than being cut.
      series: [{ type: 'pie', radius: ['30%', '52%'], center: ['50%', '46%'], minShowLabelAngle: 0,
        label: { formatter: (p) => `${p.name}\n${fmtUSD(p.value)} (${p.percent.toFixed(0)}%)`, lineHeight: 15, alignTo: 'edge', edgeDistance: 8, overflow: 'break', width: 110 },
        labelLine: { length: 12, length2: 0, maxSurfaceAngle: 80 },
        data: Object.entries(split).map(([k, value]) => ({ name: SPLIT_NAMES[k] || k.replace(/_/g, ' '), value })) }],
    }, true);
    if (multi) {
      $('#capex-table-title').textContent = 'Plans';
      const head = ['company', 'chip', 'budget', 'chips', 'power', 'BF16 FLOP/yr', 'MFU', 'largest run'];
      $('#capex-table thead').innerHTML = '<tr>' + head.map((h, i) => `<th${i < 2 ? ' class="l"' : ''}>${h}</th>`).join('') + '</tr>';
      $('#capex-table tbody').innerHTML = plans.map((p) => {
        const big = (p.trainable || []).reduce((a, t) => (!a || t.flop > a.flop ? t : a), null);
        return `<tr title="${esc(p.chip_reason || '')}"><td class="l">${esc(p.company || '')}</td><td class="l">${esc(p.chip)}</td><td>${fmtUSD(p.budget_usd)}</td><td>${num(p.chips)}</td><td>${num(p.power_mw)} MW</td><td>${fmtExp(p.annual_bf16_flop)}</td><td>${pct(p.mfu)}</td>` +
          `<td>${big ? esc(big.model) + ' in ' + fmtDays(big.days) : '–'}</td></tr>`;
      }).join('');
      return;
    }
    $('#capex-table-title').textContent = 'What it can train';
    const head = ['model', 'params', 'tokens', 'job chips', 'MFU', 'time per run', 'jobs at once', 'runs per year'];
    const range = (t) => (t.run && t.run.range ? ` (${fmtDays(t.run.range.days[0])}–${fmtDays(t.run.range.days[1])})` : '');
    $('#capex-table thead').innerHTML = '<tr>' + head.map((h, i) => `<th${i === 0 ? ' class="l"' : ''}>${h}</th>`).join('') + '</tr>';
    $('#capex-table tbody').innerHTML = (plans[0].trainable || []).map((t) =>
      `<tr title="${esc(t.job_reason || '')}"><td class="l">${esc(t.model)}</td><td>${fmtParams(t.params)}</td><td>${fmtSI(t.tokens)}</td><td>${num(t.job_chips)}</td><td>${pct(t.mfu)}</td><td>${fmtDays(t.days)}${range(t)}</td><td>${num(t.concurrent_jobs)}</td><td>${num(t.runs_per_year, t.runs_per_year >= 100 ? 0 : 1)}</td></tr>`).join('') ||
      `<tr><td colspan="${head.length}" class="empty">nothing listed</td></tr>`;
  }

  // ---- Validate -----------------------------------------------------------

  let validateLoaded = false;
  let validation = null;
  async function runValidate() {
    validateLoaded = true;
    document.body.dataset.validate = 'loading';
    $('#validate-status').textContent = 'Running the corpus…';
    try {
      validation = await api('GET', '/api/validate');
      const counts = {};
      for (const r of validation.rows || []) counts[r.metric] = (counts[r.metric] || 0) + 1;
      const metrics = Object.keys(counts).sort((a, b) => counts[b] - counts[a]);
      const sel = $('#validate-metric');
      sel.innerHTML = '';
      for (const m of metrics) sel.add(new Option(`${m} (${counts[m]})`, m));
      sel.add(new Option('all metrics (log scale)', 'all'));
      if (state.vmetric && (state.vmetric === 'all' || counts[state.vmetric])) sel.value = state.vmetric;
      drawValidate();
      document.body.dataset.validate = 'ready';
    } catch (err) {
      document.body.dataset.validate = 'error';
      $('#validate-status').className = 'status err';
      $('#validate-status').textContent = err.message;
    }
  }

  // niceRange pads [lo, hi] for a chart axis: to powers of ten on a log
  // axis, to round numbers on a linear one.
  function niceRange(lo, hi, log) {
    if (log) return [Math.pow(10, Math.floor(Math.log10(lo))), Math.pow(10, Math.ceil(Math.log10(hi)))];
    const pad = (hi - lo) * 0.08 || hi * 0.1 || 1;
    const step = Math.pow(10, Math.floor(Math.log10(hi - lo + pad * 2))) / 2;
    return [Math.max(0, Math.floor((lo - pad) / step) * step), Math.ceil((hi + pad) / step) * step];
  }

  function drawValidate() {
    const rep = validation;
    const all = rep.rows || [];
    const metric = $('#validate-metric').value;
    state.vmetric = metric;
    const rows = all.map((r, j) => Object.assign({ j }, r)).filter((r) => metric === 'all' || r.metric === metric);
    const mean = rows.reduce((s, r) => s + r.abs_err, 0) / (rows.length || 1);
    $('#validate-status').className = 'status';
    $('#validate-status').textContent = validateSummary(rep) +
      (metric === 'all' ? '' : ` Shown: the ${rows.length} ${metric} rows, mean error ${pct(mean)}.`);
    const log = metric === 'all';
    const vals = rows.flatMap((r) => [r.measured, r.predicted]).filter((v) => v > 0);
    const [a, b] = niceRange(Math.min(...vals), Math.max(...vals), log);
    const ref = (k, name, dash) => ({ name, type: 'line', data: [[a, a * k], [b, b * k]], symbol: 'none', silent: true, color: dash ? '#b4bcc8' : '#6b7a8f', lineStyle: { type: dash ? 'dashed' : 'solid', width: 1 }, tooltip: { show: false }, z: 1 });
    const groups = Array.from(new Set(rows.map((r) => (log ? r.metric : r.group || r.metric))));
    const axis = (name) => ({ type: log ? 'log' : 'value', name, min: a, max: b, axisLabel: { formatter: (v) => fmtSI(v) } });
    chart('chart-validate').setOption({
      animation: false,
      grid: { left: 64, right: 24, top: 40, bottom: 48 },
      legend: legend({ data: groups }),
      tooltip: {
        trigger: 'item', formatter: (p) => {
          const r = all[p.value[2]];
          if (!r) return '';
          return `<b>${esc(r.name)}</b><br>${esc(r.metric)}: measured ${num(r.measured, 3)}, predicted ${num(r.predicted, 3)} (${pct(r.abs_err)} off)` +
            (r.layout ? `<br>${esc(r.layout)}` : '') + `<br><i>${esc(r.source)}</i>`;
        },
      },
      xAxis: Object.assign(axis('measured'), { nameLocation: 'middle', nameGap: 28 }),
      yAxis: axis('predicted'),
      series: [ref(1, 'y = x', false), ref(1.1, '+10%', true), ref(0.9, '−10%', true)].concat(groups.map((g, i) => ({
        name: g, type: 'scatter', symbolSize: 10, color: PALETTE[i % PALETTE.length], z: 2,
        data: rows.filter((r) => (log ? r.metric : r.group || r.metric) === g).map((r) => [r.measured, r.predicted, r.j]),
      }))),
    }, true);
    const head = ['#', 'run', 'metric', 'measured', 'predicted', '<span title="(predicted − measured) / measured: negative when flopcast predicts less">error</span>', 'source'];
    $('#validate-table thead').innerHTML = '<tr>' + head.map((h, i) => `<th${i === 1 || i === 6 ? ' class="l"' : ''}>${h}</th>`).join('') + '</tr>';
    $('#validate-table tbody').innerHTML = rows.map((r) => `<tr><td>${r.j + 1}</td><td class="l">${esc(r.name)}</td><td>${esc(r.metric)}</td><td>${num(r.measured, 3)}</td><td>${num(r.predicted, 3)}</td><td class="err${r.abs_err > 0.1 ? ' bad' : ''}">${signedPct(r.err)}</td><td class="l wrap">${esc(r.source)}</td></tr>`).join('');
  }

  // signedPct writes a signed fraction as +8.9% or −3.7%.
  function signedPct(x) {
    if (!fin(x)) return '–';
    const s = (Math.abs(x) * 100).toFixed(1);
    return (s === '0.0' ? '' : x < 0 ? '−' : '+') + s + '%';
  }

  // validateSummary says what each mean is over: the training step time
  // and throughput rows, the whole-run rows, the memory rows and the
  // serving rows are reported apart, as flopcast validate does.
  function validateSummary(rep) {
    const all = rep.rows || [];
    const step = (rep.trusted_rows || 0) + (rep.recalled_rows || 0);
    const parts = [`${all.length} rows. Training step time and throughput: mean error ${pct(rep.mean_abs_err)} over ${step} rows, worst ${pct(rep.worst_abs_err)}`];
    if (rep.recalled_rows) parts.push(`${pct(rep.trusted_mean_abs_err)} over the ${rep.trusted_rows} confirmed and secondary`);
    if (rep.whole_run_rows) parts.push(`whole runs: mean ${pct(rep.whole_run_mean_abs_err)} over ${rep.whole_run_rows} rows`);
    if (rep.memory && rep.memory.rows) parts.push(`memory: mean ${pct(rep.memory.mean_abs_err)} over ${rep.memory.rows} rows`);
    // Serving groups, pooled.
    let n = 0, sum = 0;
    for (const [g, s] of Object.entries(rep.groups || {})) if (g.startsWith('serving')) { n += s.rows; sum += s.mean_abs_err * s.rows; }
    if (n) parts.push(`serving: mean ${pct(sum / n)} over ${n} rows`);
    return parts.join('; ') + '.';
  }

  // writeReportURL keeps a report's selected row in its URL, so that a
  // link to the file can point at one layout.
  function writeReportURL() {
    const q = new URLSearchParams(location.search);
    q.set('sel', state.sel);
    try { history.replaceState(null, '', '?' + q.toString()); } catch (e) { /* some browsers refuse it on file: URLs */ }
  }

  // ---- start --------------------------------------------------------------

  function fillSelect(sel, names, extra) {
    sel.innerHTML = '';
    for (const nme of names) sel.add(new Option(nme, nme));
    for (const [v, label] of extra || []) sel.add(new Option(label, v));
  }

  async function start() {
    $('#plan-table tbody').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-i]');
      if (tr) select(+tr.dataset.i, true);
    });
    $('#plan-table tbody').addEventListener('keydown', (ev) => {
      const tr = ev.target.closest('tr[data-i]');
      if (tr && (ev.key === 'Enter' || ev.key === ' ')) { ev.preventDefault(); select(+tr.dataset.i, true); }
    });
    if (REPORT) {
      document.body.classList.add('report');
      $$('#tabs a').forEach((a) => { if (a.dataset.view !== 'plan') a.remove(); else a.removeAttribute('href'); });
      const note = $('#report-note');
      note.hidden = false;
      note.textContent = REPORT.title || 'flopcast search report';
      const asked = state.view;
      planLoaded = true; // the report holds its search
      showView('plan');
      plan = REPORT.search;
      let sel = parseInt(state.sel, 10);
      if (!(sel >= 0 && sel < plan.results.length)) sel = 0;
      drawPlan(sel);
      if (asked !== 'plan') {
        // Compare, Capex and Validate ask the server: say so rather than
        // show the Plan as if it were the view asked for.
        const name = VIEWS.includes(asked) ? asked[0].toUpperCase() + asked.slice(1) + ' view' : `view "${asked}"`;
        const st = $('#plan-status');
        st.className = 'status err';
        st.textContent = `This report holds only the Plan view of one search; the ${name} needs flopcast serve. ` + st.textContent;
      }
      document.body.dataset.plan = 'ready';
      return;
    }
    $$('#tabs a').forEach((a) => a.addEventListener('click', (ev) => {
      ev.preventDefault();
      state.view = a.dataset.view;
      writeURL(state, true);
      showView(a.dataset.view);
    }));
    planForm.addEventListener('submit', (ev) => { ev.preventDefault(); state.sel = '0'; runPlan(true); });
    planForm.elements.model.addEventListener('change', () => { $('#inline-model').hidden = planForm.elements.model.value !== 'custom'; });
    compareForm.addEventListener('submit', (ev) => { ev.preventDefault(); runCompare(true); });
    capexForm.addEventListener('submit', (ev) => { ev.preventDefault(); runCapex(true); });
    $('#validate-metric').addEventListener('change', () => { drawValidate(); writeURL(state, false); });
    window.addEventListener('popstate', () => {
      state = readURL();
      fillPlanForm(state);
      // The chips to compare come back with the counts.
      fillCompareForm(state, $$('input[name=cchip]').map((el) => el.value));
      $('#f-budget').value = state.budget;
      $('#f-cchip').value = state.cchip;
      $('#f-cmodel').value = state.cmodel || '';
      $('#f-ctokens').value = state.ctokens || '';
      planLoaded = compareLoaded = capexLoaded = false;
      showView(state.view);
    });

    let chips = [], models = [], scenarios = [];
    try {
      [chips, models, scenarios] = await Promise.all([
        api('GET', '/api/catalog/chips'), api('GET', '/api/catalog/models'),
        api('GET', '/api/capex/scenarios').catch(() => []),
      ]);
    } catch (err) {
      $('#plan-status').className = 'status err';
      $('#plan-status').textContent = 'Could not load the catalog: ' + err.message;
    }
    const chipNames = chips.map((c) => c.name);
    fillSelect(planForm.elements.model, models.map((m) => m.name), [['custom', 'custom (inline)']]);
    fillSelect(planForm.elements.chip, chipNames);
    fillSelect($('#f-cchip'), chipNames);
    fillPlanForm(state);
    fillCompareForm(state, chipNames);
    $('#f-budget').value = state.budget;
    $('#f-cchip').value = state.cchip;
    fillSelect($('#f-cmodel'), [], [['', 'all models']].concat(models.map((m) => [m.name, m.name])));
    $('#f-cmodel').value = state.cmodel || '';
    $('#f-ctokens').value = state.ctokens || '';
    $('#capex-scenarios').innerHTML = scenarios.length ? '<p>Scenarios</p>' + scenarios.map((s) => {
      const name = typeof s === 'string' ? s : s.name;
      const title = typeof s === 'string' ? '' : (s.description || '');
      return `<button type="button" class="secondary" data-scenario="${esc(name)}" title="${esc(title)}">${esc(name)}</button>`;
    }).join('') : '';
    $$('#capex-scenarios button').forEach((b) => b.addEventListener('click', () => runCapex(true, b.dataset.scenario)));
    showView(state.view);
  }

  window.flopcast = { charts, state: () => state };
  start();
})();
