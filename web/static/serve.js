// flopcast web UI, Serve view: POST /api/infer with the serve.yaml fields of
// the form, the Pareto front of output tokens/s per chip against tokens/s
// per user, the ranked layouts and why the winner wins. app.js calls
// window.flopcastServe.show() when the view opens.
'use strict';
(function () {
  const $ = (sel) => document.querySelector(sel);
  const form = $('#serve-form');
  if (!form) return;
  let chart = null;
  let started = false;
  let busy = null;

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const num = (x, d) => (typeof x === 'number' && isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d }) : '–');
  const layout = (p) => p ? `tp${p.tp} ep${p.ep} pp${p.pp} adp${p.attention_dp}` : '';

  // request builds the serve.yaml structure from the form; a field that is
  // not a number is left as text so that the server names it.
  function request() {
    const f = form.elements;
    const n = (v) => (v.trim() === '' ? undefined : (isFinite(+v) ? +v : v));
    const serving = {
      input_tokens: n(f.input.value), output_tokens: n(f.output.value),
      precision: f.precision.value, kv_precision: f.kv.value, disaggregated: f.disagg.value,
    };
    if (f.hit.value.trim() !== '') serving.cache_hit_rate = n(f.hit.value);
    for (const [k, el] of [['tpot_ms', f.tpot], ['ttft_ms', f.ttft], ['concurrency', f.concurrency]]) {
      if (el.value.trim() !== '') serving[k] = n(el.value);
    }
    return { model: f.model.value, cluster: { chip: f.chip.value, chips: n(f.chips.value) }, serving };
  }

  function fail(msg, hints) {
    document.body.dataset.serve = 'error';
    const e = $('#serve-error');
    e.hidden = false;
    e.textContent = msg;
    $('#serve-status').className = 'status err';
    $('#serve-status').textContent = 'No serving layout: see the form.';
    $('#serve-notes').innerHTML = hints && hints.length ? '<ul>' + hints.map((h) => `<li>try: ${esc(h)}</li>`).join('') + '</ul>' : '';
    $('#serve-table thead').innerHTML = '';
    $('#serve-table tbody').innerHTML = '';
    if (chart) chart.clear();
  }

  async function run() {
    if (busy) busy.abort();
    busy = new AbortController();
    document.body.dataset.serve = 'loading';
    $('#serve-error').hidden = true;
    $('#serve-status').className = 'status';
    $('#serve-status').textContent = 'Searching serving layouts…';
    let resp, data = null;
    try {
      resp = await fetch('/api/infer', { method: 'POST', signal: busy.signal, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request()) });
      try { data = await resp.json(); } catch (e) { /* not JSON */ }
    } catch (err) {
      if (err.name === 'AbortError') return;
      fail('Request failed: ' + err.message);
      return;
    }
    if (!resp.ok) {
      fail((data && data.error) || ('HTTP ' + resp.status), data && data.hints);
      return;
    }
    draw(data);
    document.body.dataset.serve = 'ready';
  }

  function draw(rep) {
    const w = rep.results[0];
    const f = form.elements;
    $('#serve-status').textContent = `${f.model.value} on ${num(+f.chips.value)} × ${f.chip.value}: best ${num(w.output_tokens_per_s_per_chip, 0)} output tokens/s per chip at ${num(w.tokens_per_s_per_user, 1)} tokens/s per user (${w.mode}); ${num(rep.evaluated)} points in ${num(rep.elapsed_s * 1e3, 1)} ms`;
    $('#serve-notes').innerHTML = '<ul>' + (rep.explanation || []).map((s) => `<li>${esc(s)}</li>`).join('') +
      (rep.warnings || []).map((s) => `<li class="warn">${esc(s)}</li>`).join('') + '</ul>';
    if (!chart) chart = echarts.init($('#chart-serve-pareto'));
    const pt = (r) => ({ value: [r.tokens_per_s_per_user, r.output_tokens_per_s_per_chip], r });
    chart.setOption({
      animation: false, // as every chart of the UI: drawn at once, not over a second of frames
      grid: { left: 64, right: 24, top: 36, bottom: 48 },
      legend: { top: 0 },
      tooltip: {
        trigger: 'item',
        formatter: (p) => {
          const r = p.data.r;
          return `${esc(r.mode)} ${esc(layout(r.parallel))}${r.prefill_parallel ? ' + prefill ' + esc(layout(r.prefill_parallel)) : ''}<br>` +
            `concurrency ${num(r.concurrency)}; TTFT ${num(r.ttft_s * 1e3, 0)} ms, TPOT ${num(r.tpot_s * 1e3, 1)} ms<br>` +
            `${num(r.output_tokens_per_s_per_chip, 0)} tok/s/chip, ${num(r.tokens_per_s_per_user, 1)} tok/s/user<br>` +
            `$${num(r.usd_per_m_output_tokens_all_in, 3)} per M output tokens; bound by ${esc(r.bottleneck)}`;
        },
      },
      xAxis: { type: 'value', name: 'tokens/s per user', nameLocation: 'middle', nameGap: 28 },
      yAxis: { type: 'value', name: 'output tokens/s per chip' },
      series: [
        { name: 'Pareto front', type: 'line', symbolSize: 7, data: rep.pareto.map(pt) },
        { name: 'ranked', type: 'scatter', symbolSize: 9, data: rep.results.map(pt) },
      ],
    }, true);
    const thead = '<tr><th>#</th><th>mode</th><th>layout</th><th>prefill pool</th><th>conc</th><th>TTFT ms</th><th>TPOT ms</th><th>tok/s/user</th><th>out tok/s/chip</th><th>KV GiB</th><th>peak GiB</th><th>$/M out</th><th>kWh/M out</th><th>bottleneck</th></tr>';
    $('#serve-table thead').innerHTML = thead;
    $('#serve-table tbody').innerHTML = rep.results.map((r, i) => `<tr data-i="${i}"><td>${i + 1}</td><td>${esc(r.mode)}</td>` +
      `<td>${esc(layout(r.parallel))} dp${r.parallel.dp}</td><td>${r.prefill_parallel ? esc(r.prefill_parallel.dp + '× ' + layout(r.prefill_parallel)) : '–'}</td>` +
      `<td>${num(r.concurrency)}</td><td>${num(r.ttft_s * 1e3, 0)}</td><td>${num(r.tpot_s * 1e3, 1)}</td><td>${num(r.tokens_per_s_per_user, 1)}</td>` +
      `<td>${num(r.output_tokens_per_s_per_chip, 0)}</td><td>${num(r.memory.kv_cache_gib, 1)}</td><td>${num(r.memory.peak_gib, 1)}</td>` +
      `<td>${num(r.usd_per_m_output_tokens_all_in, 3)}</td><td>${num(r.kwh_per_m_output_tokens, 3)}</td><td>${esc(r.bottleneck)}</td></tr>`).join('');
  }

  async function start() {
    try {
      const [chips, models] = await Promise.all([fetch('/api/catalog/chips').then((r) => r.json()), fetch('/api/catalog/models').then((r) => r.json())]);
      const fill = (sel, names, v) => { sel.innerHTML = ''; for (const x of names) sel.add(new Option(x, x)); sel.value = v; };
      fill(form.elements.model, models.map((m) => m.name), 'llama3-70b');
      fill(form.elements.chip, chips.map((c) => c.name), 'h100-sxm');
    } catch (err) {
      fail('Could not load the catalog: ' + err.message);
      return;
    }
    run();
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
  window.flopcastServe = {
    show() {
      if (!started) { started = true; start(); }
      if (chart) requestAnimationFrame(() => chart.resize());
    },
    chart: () => chart,
  };
  // A page opened on ?view=serve: app.js showed the view before this
  // script ran.
  if (new URLSearchParams(location.search).get('view') === 'serve') window.flopcastServe.show();
})();
