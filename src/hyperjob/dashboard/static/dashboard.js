// hyperjob dashboard: the pages' code. Data comes from the JSON API (/api/...); every text from the store is
// put in the page as text (textContent), never as HTML, and escaped in plotly's hover texts.
"use strict";

const ACTION_TOKEN = document.querySelector('meta[name="hyperjob-action-token"]').content;
const PAGE = document.body.dataset.page;
const main = document.getElementById("main");

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function esc(s) {  // for plotly's hover texts, which read a few HTML tags
  return String(s ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function fmt(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(5).replace(/\.?0+(e|$)/, "$1");
  return String(v);
}

function when(ts) {
  if (!ts) return "";
  const d = new Date(ts * 1000);
  return d.toISOString().replace("T", " ").slice(0, 19);
}

function badge(status) { return el("span", {class: `badge s-${status}`}, status); }

async function getJSON(url) {
  const r = await fetch(url, {credentials: "same-origin"});
  let data = null;
  try { data = await r.json(); } catch (e) { throw new Error(`${url}: ${r.status}`); }
  if (!r.ok) throw new Error(data && data.error ? data.error : `${url}: ${r.status}`);
  return data;
}

function mark(first, name) { if (first) performance.mark(name); }  // stages of the first render (benchmarks)
function setLive(text) { document.getElementById("live").textContent = text; }
function ready() { document.body.dataset.ready = String((Number(document.body.dataset.ready) || 0) + 1); }

// plotly.js (4.8 MB) takes the main thread for most of a second to parse: a job page loads it only once its
// summary, progress, best so far and table are drawn (openPlotlyGate), other pages at once
let openPlotlyGate;
const plotlyGate = PAGE === "job" ? new Promise(resolve => { openPlotlyGate = resolve; }) : Promise.resolve();
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loadPlotly.p) loadPlotly.p = plotlyGate.then(() => loadPlotlyNow());
  return loadPlotly.p;
}
function loadPlotlyNow() {
  if (!loadPlotlyNow.p) {
    loadPlotlyNow.p = new Promise((resolve, reject) => {
      const s = el("script", {src: "/static/plotly.min.js"});
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => reject(new Error("plotly.js did not load"));
      document.head.append(s);
    });
  }
  return loadPlotlyNow.p;
}

const PLOT_CONFIG = {displaylogo: false, responsive: true};
function plot(div, traces, layout) {
  return window.Plotly.react(div, traces, Object.assign({margin: {l: 60, r: 20, t: 30, b: 45}}, layout), PLOT_CONFIG);
}

// a sortable, filterable table of rows (arrays of cells); columns: [{name, get(row), text?(row), cls?}]
function dataTable(container, columns, rows, opts) {
  opts = opts || {};
  const state = {sort: opts.sort ?? null, desc: !!opts.desc, filter: "", status: "", shown: opts.pageSize || 100};
  const tools = el("div", {class: "toolbar"});
  const filter = el("input", {type: "search", placeholder: "filter (any column)", "data-role": "filter"});
  tools.append(filter);
  let statusSel = null;
  if (opts.statusOf) {
    const statuses = [...new Set(rows.map(opts.statusOf))].sort();
    statusSel = el("select", {"data-role": "status"}, el("option", {value: ""}, "every status"),
      statuses.map(s => el("option", {value: s}, s)));
    tools.append(statusSel);
  }
  const count = el("span", {class: "muted"});
  tools.append(count);
  if (opts.extraTools) tools.append(...opts.extraTools(() => visible()));
  const table = el("table", {"data-role": "table"});
  const thead = el("thead");
  const tbody = el("tbody");
  table.append(thead, tbody);
  const more = el("button", {onclick: () => { state.shown += opts.pageSize || 100; render(); }}, "show more");
  container.append(tools, table, more);
  const headRow = el("tr");
  columns.forEach((c, i) => {
    headRow.append(el("th", {onclick: () => { if (state.sort === i) state.desc = !state.desc; else { state.sort = i; state.desc = false; } render(); }}, c.name));
  });
  thead.append(headRow);
  filter.addEventListener("input", () => { state.filter = filter.value.toLowerCase(); state.shown = opts.pageSize || 100; render(); });
  if (statusSel) statusSel.addEventListener("change", () => { state.status = statusSel.value; render(); });
  function visible() {
    let out = rows;
    if (state.status) out = out.filter(r => opts.statusOf(r) === state.status);
    if (state.filter) out = out.filter(r => columns.some(c => String((c.text || c.get)(r) ?? "").toLowerCase().includes(state.filter)));
    if (state.sort !== null) {
      const get = columns[state.sort].get;
      out = out.slice().sort((a, b) => {
        const x = get(a), y = get(b);
        if (x === y) return 0;
        if (x === null || x === undefined || x === "") return 1;
        if (y === null || y === undefined || y === "") return -1;
        const r = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
        return state.desc ? -r : r;
      });
    }
    return out;
  }
  function render() {
    const out = visible();
    [...headRow.children].forEach((th, i) => { th.className = state.sort === i ? (state.desc ? "sorted-desc" : "sorted-asc") : ""; });
    const frag = document.createDocumentFragment();
    for (const r of out.slice(0, state.shown)) {
      const tr = el("tr", opts.rowAttrs ? opts.rowAttrs(r) : {});
      for (const c of columns) {
        const v = c.cell ? c.cell(r) : fmt((c.text || c.get)(r));
        tr.append(el("td", {class: c.cls}, v));
      }
      frag.append(tr);
    }
    tbody.replaceChildren(frag);
    count.textContent = `${out.length} of ${rows.length} rows` + (out.length > state.shown ? ` (first ${state.shown} shown)` : "");
    more.style.display = out.length > state.shown ? "" : "none";
  }
  render();
  return {setRows(newRows) { rows = newRows; render(); }, visible, render, table};
}

function csvOf(columns, rows) {
  const q = v => { const s = String(v ?? ""); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
  return [columns.map(c => q(c.name)).join(","), ...rows.map(r => columns.map(c => q((c.text || c.get)(r))).join(","))].join("\n");
}

function download(name, text) {
  const a = el("a", {href: URL.createObjectURL(new Blob([text], {type: "text/csv"})), download: name});
  document.body.append(a); a.click(); a.remove();
}

function showError(where, e) { where.replaceChildren(el("p", {class: "error", "data-role": "error"}, String(e.message || e))); }

// ------------------------------------------------------------------------------------------------ list page
async function listPage() {
  document.getElementById("crumb").textContent = "tuning jobs";
  let rows;
  try { rows = await getJSON("/api/tuning-jobs"); } catch (e) { showError(main, e); return; }
  const selected = new Set();
  const compare = el("button", {disabled: true, "data-role": "compare",
    onclick: () => { location.href = "/compare?names=" + [...selected].map(encodeURIComponent).join(","); }}, "compare selected");
  const progress = r => {
    const max = r.max_jobs || r.training_jobs || 1;
    const done = (r.counts.Completed || 0) + (r.counts.Failed || 0) + (r.counts.Stopped || 0);
    return el("span", {}, el("span", {class: "bar"}, el("span", {style: `width:${Math.min(100, 100 * done / max)}%`})),
      `${done}/${r.max_jobs ?? "?"}`);
  };
  const links = names => el("span", {}, names.flatMap((n, i) => [i ? ", " : "", el("a", {href: `/jobs/${encodeURIComponent(n)}`}, n)]));
  const columns = [
    {name: "", get: r => selected.has(r.name) ? 1 : 0, cell: r => el("input", {type: "checkbox", checked: selected.has(r.name),
      onchange: e => { e.target.checked ? selected.add(r.name) : selected.delete(r.name); compare.disabled = selected.size < 2; }})},
    {name: "tuning job", get: r => r.name, cell: r => el("a", {href: `/jobs/${encodeURIComponent(r.name)}`, "data-role": "job-link"}, r.name)},
    {name: "status", get: r => r.status, cell: r => badge(r.status)},
    {name: "progress", get: r => r.training_jobs, cell: progress},
    {name: "best", get: r => r.best},
    {name: "objective", get: r => `${r.objective.direction} ${r.objective.metric}`},
    {name: "strategy", get: r => r.strategy},
    {name: "started", get: r => r.created_at, text: r => when(r.created_at)},
    {name: "parents", get: r => r.parents.join(", "), cell: r => links(r.parents)},
    {name: "children", get: r => r.children.join(", "), cell: r => links(r.children)},
  ];
  const card = el("div", {class: "card"});
  main.replaceChildren(el("h1", {}, `Tuning jobs (${rows.length})`), card);
  if (!rows.length) { card.append(el("p", {class: "muted"}, "no tuning jobs in this store yet: run `hyperjob tune job.yaml`.")); ready(); return; }
  const table = dataTable(card, columns, rows, {sort: 7, desc: true, pageSize: 2000, statusOf: r => r.status, extraTools: () => [compare]});
  ready();
  const live = async () => {
    if (rows.every(r => ["Completed", "Failed", "Stopped"].includes(r.status))) { setLive(""); return; }
    setLive("live: refreshing every 5 s");
    try { rows = await getJSON("/api/tuning-jobs"); table.setRows(rows); ready(); } catch (e) { setLive(`refresh failed: ${e.message}`); }
    setTimeout(live, 5000);
  };
  setTimeout(live, 5000);
}

// ------------------------------------------------------------------------------------------------- job page
const TERMINAL = ["Completed", "Failed", "Stopped"];
const PARCOORDS_MAX = 500;

function afterPaint() { return new Promise(resolve => requestAnimationFrame(() => setTimeout(resolve, 0))); }
// resolves once the page has had no input for quietMs (plotly.js's parse would hold a click for most of a
// second), and after maxMs at the latest
function afterQuiet(quietMs, maxMs) {
  return new Promise(resolve => {
    const events = ["pointerdown", "keydown", "wheel", "input"];
    let timer = null;
    const done = () => { clearTimeout(timer); clearTimeout(cap); events.forEach(e => removeEventListener(e, arm, true)); resolve(); };
    const arm = () => { clearTimeout(timer); timer = setTimeout(done, quietMs); };
    const cap = setTimeout(done, maxMs);
    events.forEach(e => addEventListener(e, arm, true));
    arm();
  });
}
function whenIdle(ms) { return new Promise(resolve => window.requestIdleCallback ? requestIdleCallback(resolve, {timeout: ms}) : setTimeout(resolve, 50)); }

function rowsOf(tj) {
  return tj.ids.map((id, i) => {
    const r = {id, i, index: tj.index[i], status: tj.status[i], objective: tj.objective[i], created: tj.created[i],
      started: tj.started[i], ended: tj.ended[i], failure: tj.failure[i], why: tj.why[i], rungs: tj.rungs[i], hp: {}, extra: {}};
    for (const n of tj.hp_names) r.hp[n] = tj.hps[n][i];
    for (const k of Object.keys(tj.extra)) r.extra[k] = tj.extra[k][i];
    return r;
  });
}

function better(maximize) { return (a, b) => maximize ? a > b : a < b; }

function kv(pairs) {
  return el("dl", {class: "kv"}, pairs.filter(p => p[1] !== null && p[1] !== undefined && p[1] !== "").flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v instanceof Node ? v : fmt(v))]));
}

function generic(value) {  // describe's sections the page does not know yet, shown as they are
  if (value === null || typeof value !== "object") return el("span", {}, fmt(value));
  if (Array.isArray(value)) {
    if (value.length && value.every(v => v && typeof v === "object" && !Array.isArray(v))) {
      const keys = [...new Set(value.flatMap(Object.keys))];
      return el("table", {}, el("tr", {}, keys.map(k => el("th", {}, k))),
        value.map(v => el("tr", {}, keys.map(k => el("td", {class: "wrap"}, typeof v[k] === "object" && v[k] !== null ? JSON.stringify(v[k]) : fmt(v[k]))))));
    }
    return el("span", {}, value.map(fmt).join(", "));
  }
  return kv(Object.entries(value).map(([k, v]) => [k, generic(v)]));
}

async function jobPage() {
  const name = decodeURIComponent(location.pathname.split("/").pop());
  document.getElementById("crumb").textContent = name;
  const api = `/api/tuning-jobs/${encodeURIComponent(name)}`;
  const view = {job: null, rows: [], curves: new Set(), auto: true, lastStatus: null, table: null};
  const sections = {};
  const part = (key, title, cls) => {
    sections[key] = el("div", {class: `card ${cls || ""}`, "data-section": key}, title ? el("h2", {}, title) : null, el("div", {"data-body": ""}));
    return sections[key];
  };
  const body = key => sections[key].querySelector("[data-body]");
  const plotDiv = key => el("div", {class: "plot", "data-plot": key});
  main.replaceChildren(part("header"), part("best", "Best training job"), part("lineage", "Warm start"),
    part("periods", "Periods and the winner test"), part("pareto", "Pareto front"),
    el("div", {class: "grid"}, part("history", "Objective by training job (best so far)"), part("parallel", "Parallel coordinates"),
      part("importance", "Hyperparameter importance (fANOVA)"), part("curves", "Learning curves and stopping decisions")),
    part("failures", "Failure reasons"), part("table", "Training jobs"), part("more", "More from describe"));
  const plots = {history: plotDiv("history"), parallel: plotDiv("parallel"), importance: plotDiv("importance"), curves: plotDiv("curves")};
  for (const k of Object.keys(plots)) body(k).append(el("div", {class: "muted", "data-role": "plot-note"}), plots[k]);
  const quick = el("canvas", {class: "plot quick", "data-role": "quick-history"});
  plots.history.before(quick);

  // the parts drawn with plain DOM (no plotly): what "interactive" means (benchmarks/dashboard.py)
  function renderText(job, tj, merge) {
    view.job = job;
    if (merge) mergeRows(tj); else { view.rows = rowsOf(tj); view.at = null; view.hpNames = tj.hp_names.slice(); view.extraKeys = Object.keys(tj.extra); }
    renderHeader();
    renderBest();
    renderLineage();
    renderPeriods();
    renderPareto();
    renderMore();
    renderFailures();
    renderTable();
    renderQuickHistory();
  }

  function mergeRows(tj) {  // a live change: the training jobs whose row changed (by id), new ones appended
    if (!view.at) view.at = new Map(view.rows.map((r, i) => [r.id, i]));
    for (const n of tj.hp_names) if (!view.hpNames.includes(n)) view.hpNames.push(n);
    for (const k of Object.keys(tj.extra)) if (!view.extraKeys.includes(k)) view.extraKeys.push(k);
    for (const r of rowsOf(tj)) {
      const i = view.at.get(r.id);
      if (i === undefined) { view.at.set(r.id, view.rows.length); view.rows.push(r); } else view.rows[i] = r;
    }
  }

  async function renderPlots(first) {
    if (first || !view.job.terminal) pickCurves();
    const curves = fetchCurves();
    await loadPlotly();
    mark(first, "hj-plotly");
    renderHistory();
    mark(first, "hj-history");
    await renderCurves(curves);
    mark(first, "hj-curves");
    if (first) await whenIdle(300);  // parallel coordinates last: WebGL, about 1 ms a line in a software renderer
    renderParallel();
    mark(first, "hj-parallel");
  }

  async function refresh(first) {
    const both = await getJSON(`${api}/page`);
    mark(first, "hj-data");
    renderText(both.job, both.training_jobs, false);
    mark(first, "hj-table");
    if (first) {
      await afterPaint();
      mark(true, "hj-interactive");
      document.body.dataset.interactive = "1";
      afterQuiet(400, 3000).then(openPlotlyGate);
    }
    await renderPlots(first);
    if (first) renderImportance();
  }

  function renderHeader() {
    const d = view.job.describe, c = d.TrainingJobStatusCounters, cfg = d.HyperParameterTuningJobConfig;
    const status = d.HyperParameterTuningJobStatus;
    const P = view.job.periods;  // with periods, max_jobs counts configurations: one training job per period each
    const max = cfg.ResourceLimits.MaxNumberOfTrainingJobs && P && P.labels.length ? cfg.ResourceLimits.MaxNumberOfTrainingJobs * P.labels.length : cfg.ResourceLimits.MaxNumberOfTrainingJobs;
    const done = c.Completed + c.NonRetryableError + c.Stopped;
    const stop = el("button", {class: "danger", "data-role": "stop", disabled: status === "Stopping",
      style: TERMINAL.includes(status) ? "display:none" : null}, status === "Stopping" ? "stopping…" : "Stop tuning job");
    stop.addEventListener("click", async () => {
      if (!stop.classList.contains("armed")) { stop.classList.add("armed"); stop.textContent = "click again to stop"; return; }
      stop.disabled = true;
      const r = await fetch(`${api}/stop`, {method: "POST", headers: {"X-Hyperjob-Token": ACTION_TOKEN}, credentials: "same-origin"});
      const data = await r.json().catch(() => ({}));
      msg.textContent = data.message || data.error || `stop: ${r.status}`;
      scheduleLive(500);
    });
    const msg = el("span", {class: "muted", "data-role": "stop-message"}, view.stopMessage || "");
    const notes = [];
    if (d.FailureReason) notes.push(el("div", {class: "bad", "data-role": "failure-reason"}, `failure reason: ${d.FailureReason}`));
    if (d.TuningJobCompletionDetails) notes.push(el("div", {class: "muted"}, `ended: ${d.TuningJobCompletionDetails.Reason}`));
    if (d.TunerNote) notes.push(el("div", {class: "note"}, d.TunerNote));
    if (d.EarlyStoppingNote) notes.push(el("div", {class: "note"}, d.EarlyStoppingNote));
    const obj = cfg.HyperParameterTuningJobObjective;
    body("header").replaceChildren(
      el("h1", {}, name, " ", el("span", {"data-role": "status"}, badge(status)), " ", stop, " ", msg),
      el("div", {"data-role": "progress"}, el("span", {class: "bar"}, el("span", {style: `width:${max ? Math.min(100, 100 * done / max) : 0}%`})),
        `${done} of ${max ?? "?"} training jobs ended`),
      kv([["strategy", cfg.Strategy], ["objective", `${obj.Type} ${obj.MetricName}`], ["early stopping", cfg.TrainingJobEarlyStoppingType],
        ["limits", Object.entries(cfg.ResourceLimits).map(([k, v]) => `${k} ${v}`).join(", ")],
        ["training jobs", el("span", {"data-role": "counters"}, `${c.Completed} completed, ${c.InProgress} in progress, ${c.NonRetryableError} failed, ${c.Stopped} stopped`)],
        ["created", when(Date.parse(d.CreationTime) / 1000)], ["ended", d.HyperParameterTuningEndTime ? when(Date.parse(d.HyperParameterTuningEndTime) / 1000) : ""],
        ["runtime", `${d.ConsumedResources.RuntimeInSeconds} s`],
        ["ranges", Object.entries(view.job.ranges).map(([k, r]) => r.values ? `${k} ∈ {${r.values.join(", ")}}` : `${k} ∈ [${fmt(r.min_value)}, ${fmt(r.max_value)}]${r.scaling && r.scaling !== "auto" && r.scaling !== "linear" ? " " + r.scaling : ""}`).join("; ")],
        ["static", Object.entries(view.job.static).map(([k, v]) => `${k}=${fmt(v)}`).join(", ")],
        ["export", el("a", {href: `${api}/export.csv`, "data-role": "export"}, "CSV of every training job (as hyperjob export)")]]),
      ...notes);
  }

  function renderBest() {
    const d = view.job.describe, b = d.BestTrainingJob, o = d.OverallBestTrainingJob;
    const line = (x, extra) => {
      const m = x.FinalHyperParameterTuningJobObjectiveMetric;
      return el("div", {"data-role": "best"}, el("b", {}, x.TrainingJobName), extra || "", ` ${m.MetricName} = ${fmt(m.Value)}`,
        el("div", {class: "muted"}, Object.entries(x.TunedHyperParameters).map(([k, v]) => `${k}=${fmt(v)}`).join(", ")));
    };
    const P = view.job.periods, bc = P && P.report && P.report.BestConfiguration;
    const configLine = bc ? el("div", {"data-role": "best-configuration"}, el("b", {}, bc.Configuration),
      ` (over ${P.labels.length} periods, ${P.report.Aggregate || "mean"}) ${view.job.objective.metric} = ${fmt(bc.Aggregate)}`,
      el("div", {class: "muted"}, Object.entries(bc.TunedHyperParameters).map(([k, v]) => `${k}=${fmt(v)}`).join(", ")),
      el("h3", {}, "Best single training job (one period)")) : "";
    body("best").replaceChildren(configLine, b ? line(b) : el("p", {class: "muted"}, "no completed training job with a value yet."),
      o ? el("div", {}, el("h3", {}, "Overall best (this tuning job and its parents)"), line(o, ` of ${o.TuningJobName}`)) : "");
  }

  function renderLineage() {
    const L = view.job.lineage;
    sections.lineage.style.display = (L.parents.length || L.children.length) ? "" : "none";
    const link = n => el("a", {href: `/jobs/${encodeURIComponent(n)}`}, n);
    const out = [];
    if (L.parents.length) {
      out.push(el("p", {}, `${L.type === "transfer_learning" ? "Transfer learning" : "Identical data and algorithm"} from:`));
      out.push(el("table", {"data-role": "parents"}, el("tr", {}, ["parent", "status", "training jobs", "used here", "its best"].map(h => el("th", {}, h))),
        L.parents.map(p => el("tr", {}, el("td", {}, link(p.name)), el("td", {}, p.missing ? "not in the store" : p.status),
          el("td", {}, fmt(p.training_jobs)), el("td", {}, fmt(p.used)), el("td", {}, p.best_training_job ? `${fmt(p.best)} (${p.best_training_job})` : "")))));
      if (L.summary) out.push(el("p", {class: "muted", "data-role": "contribution"}, L.summary));
      if (L.seeds && L.seeds.length) out.push(el("p", {}, "configurations tried first: ",
        L.seeds.map(s => Object.entries(s).map(([k, v]) => `${k}=${fmt(v)}`).join(", ")).join(" | ")));
      if (L.error) out.push(el("p", {class: "error"}, L.error));
    }
    if (L.children.length) out.push(el("p", {"data-role": "children"}, "warm-started from this one: ", L.children.flatMap((c, i) => [i ? ", " : "", link(c)])));
    body("lineage").replaceChildren(...out);
  }

  function renderPeriods() {
    const P = view.job.periods;
    sections.periods.style.display = P ? "" : "none";
    if (!P) return;
    const R = P.report || {}, T = R.WinnerTest || {};
    const best = R.BestConfiguration, runner = R.RunnerUp;
    const div = el("div", {class: "plot", "data-plot": "periods"});
    const hp = c => Object.entries(c.TunedHyperParameters).map(([k, v]) => `${k}=${fmt(v)}`).join(", ");
    body("periods").replaceChildren(
      el("p", {}, `${P.labels.length} periods (${R.Aggregate || "mean"} of each configuration): ${P.labels.join(", ")}`),
      R.error ? el("p", {class: "error"}, R.error) : "",
      T.verdict ? el("div", {class: "note", "data-role": "verdict"}, `winner test: ${T.verdict}`) : "",
      Object.keys(T).length > 1 ? generic(Object.fromEntries(Object.entries(T).filter(([k]) => k !== "verdict"))) : "",
      div,
      el("table", {"data-role": "period-values"}, el("tr", {}, ["configuration", "status", "hyperparameters", ...P.labels, "aggregate"].map(h => el("th", {}, h))),
        P.configurations.map(c => el("tr", {class: best && c.Configuration === best.Configuration ? "selected" : ""},
          el("td", {}, c.Configuration + (best && c.Configuration === best.Configuration ? " (best)" : runner && c.Configuration === runner.Configuration ? " (runner-up)" : "")),
          el("td", {}, c.Status), el("td", {}, hp(c)), c.Values.map(v => el("td", {}, fmt(v))), el("td", {}, fmt(c.Aggregate))))));
    loadPlotly().then(() => {
      const traces = P.configurations.filter(c => c.Values.some(v => v !== null)).map(c => ({type: "scatter", mode: "lines+markers",
        name: esc(`${c.Configuration} ${hp(c)}`), x: P.labels.map(esc), y: c.Values,
        line: {width: best && c.Configuration === best.Configuration ? 4 : runner && c.Configuration === runner.Configuration ? 3 : 1}}));
      plot(div, traces, {xaxis: {title: {text: "period"}}, yaxis: {title: {text: esc(view.job.objective.metric)}}});
      div.dataset.points = String(traces.reduce((n, t) => n + t.y.filter(v => v !== null).length, 0));
    });
  }

  function renderPareto() {
    const d = view.job.describe, front = d.ParetoFront;
    const show = Array.isArray(front) && front.length && front[0].Values && Object.keys(front[0].Values).length >= 2;
    sections.pareto.style.display = show ? "" : "none";
    if (!show) return;
    const [mx, my] = Object.keys(front[0].Values);
    const div = el("div", {class: "plot", "data-plot": "pareto"});
    body("pareto").replaceChildren(div, generic(front));
    loadPlotly().then(() => plot(div, [{type: "scatter", mode: "markers", x: front.map(f => f.Values[mx]), y: front.map(f => f.Values[my]),
      text: front.map(f => esc(f.TrainingJobName)), hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>"}],
      {xaxis: {title: {text: esc(mx)}}, yaxis: {title: {text: esc(my)}}}));
  }

  function renderMore() {
    const more = view.job.more;
    const keys = Object.keys(more);
    sections.more.style.display = keys.length ? "" : "none";
    body("more").replaceChildren(...keys.map(k => el("div", {"data-more": k}, el("h3", {}, k), generic(more[k]))));
  }

  function lastLine(text) { return (text || "(no reason recorded)").split("\n").filter(Boolean).slice(-1)[0].slice(0, 300); }

  function renderFailures() {
    const failed = view.rows.filter(r => r.status === "Failed");
    sections.failures.style.display = failed.length ? "" : "none";
    const groups = new Map();
    for (const r of failed) {
      const reason = lastLine(r.failure);
      if (!groups.has(reason)) groups.set(reason, []);
      groups.get(reason).push(r.id);
    }
    body("failures").replaceChildren(el("table", {"data-role": "failures"}, el("tr", {}, el("th", {}, "training jobs"), el("th", {}, "last line of the reason"), el("th", {}, "e.g.")),
      [...groups.entries()].sort((a, b) => b[1].length - a[1].length).map(([reason, ids]) =>
        el("tr", {}, el("td", {}, ids.length), el("td", {class: "wrap"}, reason), el("td", {}, ids.slice(0, 3).join(", "))))));
  }

  function objectiveSeries() {
    const maximize = view.job.objective.direction === "Maximize";
    const isBetter = better(maximize);
    const rows = view.rows.slice().sort((a, b) => a.index - b.index);
    let best = null;
    const bx = [], by = [];
    for (const r of rows) {
      if (r.status === "Completed" && r.objective !== null && (best === null || isBetter(r.objective, best))) best = r.objective;
      if (best !== null) { bx.push(r.index); by.push(best); }
    }
    return {rows, bx, by};
  }

  function renderQuickHistory() {  // before plotly.js is there: the values and the best so far on a canvas
    if (window.Plotly && plots.history.dataset.points) return;
    const {rows, bx, by} = objectiveSeries();
    const w = quick.clientWidth || 500, h = quick.clientHeight || 340, dpr = window.devicePixelRatio || 1;
    quick.width = w * dpr; quick.height = h * dpr;
    const g = quick.getContext("2d");
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, h);
    const pts = rows.filter(r => (r.status === "Completed" || r.status === "Stopped") && r.objective !== null);
    const note = body("history").querySelector("[data-role=plot-note]");
    note.textContent = by.length ? "" : "no training job has a value yet.";
    quick.dataset.points = String(pts.length);
    if (!pts.length) return;
    const ys = pts.map(r => r.objective), lo = Math.min(...ys), hi = Math.max(...ys), span = hi - lo || 1;
    const x0 = rows.length ? rows[0].index : 0, x1 = rows.length ? rows[rows.length - 1].index : 1, xs = (x1 - x0) || 1;
    const L = 60, R = 20, T = 30, B = 45, X = i => L + (w - L - R) * (i - x0) / xs, Y = v => T + (h - T - B) * (1 - (v - lo) / span);
    g.fillStyle = "rgba(31,119,180,0.5)";
    for (const r of pts) g.fillRect(X(r.index) - 1.5, Y(r.objective) - 1.5, 3, 3);
    g.strokeStyle = "#ff7f0e"; g.lineWidth = 2; g.beginPath();
    bx.forEach((x, i) => { const px = X(x), py = Y(by[i]); if (i === 0) g.moveTo(px, py); else { g.lineTo(px, Y(by[i - 1])); g.lineTo(px, py); } });
    g.stroke();
    g.fillStyle = "#6b7280"; g.font = "12px system-ui";
    g.fillText(`${fmt(hi)}`, 4, T + 4); g.fillText(`${fmt(lo)}`, 4, h - B); g.fillText(`best so far ${fmt(by[by.length - 1])} (drawing the interactive plot…)`, L, h - 12);
  }

  function renderHistory() {
    quick.remove();
    const {rows, bx, by} = objectiveSeries();
    const traces = [];
    for (const status of ["Completed", "Stopped"]) {
      const rs = rows.filter(r => r.status === status && r.objective !== null);
      if (!rs.length) continue;
      traces.push({type: "scattergl", mode: "markers", name: status === "Stopped" ? "stopped (last value)" : "completed",
        x: rs.map(r => r.index), y: rs.map(r => r.objective), customdata: rs.map(r => r.id), text: rs.map(r => esc(r.id)),
        hovertemplate: "%{text}: %{y}<extra></extra>", marker: {size: 5, opacity: 0.7}});
    }
    traces.push({type: "scattergl", mode: "lines", name: "best so far", x: bx, y: by, line: {shape: "hv", width: 2}});
    const note = body("history").querySelector("[data-role=plot-note]");
    note.textContent = by.length ? "" : "no training job has a value yet.";
    plot(plots.history, traces, {xaxis: {title: {text: "training job"}}, yaxis: {title: {text: esc(view.job.objective.metric)}}, legend: {orientation: "h", y: 1.12}});
    plots.history.dataset.points = String(traces.reduce((n, t) => n + t.x.length, 0));
    if (!plots.history.dataset.bound) {
      plots.history.dataset.bound = "1";
      plots.history.on("plotly_click", ev => { const id = ev.points[0].customdata; if (id) { view.curves.add(id); view.auto = false; renderCurves(); } });
    }
  }

  function renderParallel() {
    const all = view.rows.filter(r => r.status === "Completed" && r.objective !== null);
    // at most PARCOORDS_MAX lines (drawn with WebGL): the best half of them, and an even spread of the rest
    const maximize = view.job.objective.direction === "Maximize";
    let rs = all;
    if (all.length > PARCOORDS_MAX) {
      const sorted = all.slice().sort((a, b) => maximize ? b.objective - a.objective : a.objective - b.objective);
      const rest = sorted.slice(PARCOORDS_MAX / 2), step = rest.length / (PARCOORDS_MAX / 2);
      rs = sorted.slice(0, PARCOORDS_MAX / 2).concat(Array.from({length: PARCOORDS_MAX / 2}, (_, i) => rest[Math.floor(i * step)]));
    }
    const note = body("parallel").querySelector("[data-role=plot-note]");
    if (!rs.length || !view.hpNames.length) { note.textContent = "no completed training job with a value yet."; plots.parallel.dataset.points = "0"; return; }
    note.textContent = rs.length < all.length ? `${rs.length} of ${all.length} completed training jobs: the best ${PARCOORDS_MAX / 2} and an even spread of the others.` : "";
    const dims = view.hpNames.map(n => {
      const vals = rs.map(r => r.hp[n]);
      if (vals.every(v => typeof v === "number")) {
        const range = view.job.ranges[n] || {};
        const log = String(range.scaling || "").startsWith("log") && vals.every(v => v > 0);
        return log ? {label: esc(`log10 ${n}`), values: vals.map(Math.log10)} : {label: esc(n), values: vals};
      }
      const cats = [...new Set(vals.map(String))].sort();
      return {label: esc(n), values: vals.map(v => cats.indexOf(String(v))), tickvals: cats.map((_, i) => i), ticktext: cats.map(esc)};
    });
    const y = rs.map(r => r.objective);
    dims.push({label: esc(view.job.objective.metric), values: y});
    plot(plots.parallel, [{type: "parcoords", line: {color: y, colorscale: "Viridis", reversescale: view.job.objective.direction !== "Maximize", showscale: true}, dimensions: dims}],
      {margin: {l: 60, r: 60, t: 50, b: 30}});
    plots.parallel.dataset.points = String(rs.length);
  }

  async function renderImportance() {
    const note = body("importance").querySelector("[data-role=plot-note]");
    note.textContent = "computing…";
    try {
      const imp = await getJSON(`${api}/importance`);
      const names = Object.keys(imp.shares).sort((a, b) => imp.shares[a] - imp.shares[b]);
      if (!names.length) { note.textContent = imp.note || "nothing to show."; plots.importance.dataset.points = "0"; return; }
      note.textContent = `main effects from ${imp.n} completed training jobs; interactions explain ${(100 * imp.interactions).toFixed(1)} % more.`;
      await loadPlotly();
      plot(plots.importance, [{type: "bar", orientation: "h", y: names.map(esc), x: names.map(n => imp.shares[n]), hovertemplate: "%{y}: %{x:.1%}<extra></extra>"}],
        {xaxis: {title: {text: "share of the objective's variance"}, tickformat: ".0%"}, margin: {l: 120, r: 20, t: 20, b: 45}});
      plots.importance.dataset.points = String(names.length);
      mark(true, "hj-importance");
    } catch (e) { note.textContent = `importance: ${e.message}`; }
  }

  function pickCurves() {
    if (!view.auto) return;
    const maximize = view.job.objective.direction === "Maximize";
    const done = view.rows.filter(r => r.status === "Completed" && r.objective !== null)
      .sort((a, b) => maximize ? b.objective - a.objective : a.objective - b.objective).slice(0, 10);
    const stopped = view.rows.filter(r => r.status === "Stopped" && r.why).slice(-10);
    const running = view.rows.filter(r => r.status === "InProgress" || r.status === "Stopping").slice(0, 10);
    view.curves = new Set([...done, ...stopped, ...running].map(r => r.id));
  }

  function fetchCurves() {
    const ids = [...view.curves].slice(0, 200);
    return ids.length ? getJSON(`${api}/curves?ids=${ids.map(encodeURIComponent).join(",")}`) : Promise.resolve(null);
  }

  async function renderCurves(pending) {
    const note = body("curves").querySelector("[data-role=plot-note]");
    const data = await (pending || fetchCurves());
    if (!data) { note.textContent = "no training job to show yet."; plots.curves.dataset.points = "0"; return; }
    const traces = [], stopX = [], stopY = [], stopText = [], goX = [], goY = [], goText = [];
    for (const c of data.curves) {
      traces.push({type: "scatter", mode: "lines+markers", name: esc(c.id), x: c.x, y: c.y, marker: {size: 4}, line: {width: 1.5},
        hovertemplate: `${esc(c.id)} (${c.status}) step %{x}: %{y}<extra></extra>`});
      for (const d of c.decisions) {
        const text = `${esc(c.id)}: ${esc(d.rule)}${d.rung !== null ? " rung " + d.rung : ""} → ${esc(d.action)}<br>${esc(d.reason)}`;
        if (d.action === "stop") { stopX.push(d.step); stopY.push(d.value); stopText.push(text); }
        else { goX.push(d.step); goY.push(d.value); goText.push(text); }
      }
    }
    if (goX.length) traces.push({type: "scatter", mode: "markers", name: "rung: goes on", x: goX, y: goY, text: goText, hovertemplate: "%{text}<extra></extra>",
      marker: {symbol: "triangle-up", size: 10, color: "#16a34a"}});
    if (stopX.length) traces.push({type: "scatter", mode: "markers", name: "stopped here", x: stopX, y: stopY, text: stopText, hovertemplate: "%{text}<extra></extra>",
      marker: {symbol: "x", size: 11, color: "#dc2626"}});
    note.textContent = `${data.curves.length} training jobs (${view.auto ? "the best, the stopped and the running ones" : "chosen"}; click a point or a row to add one).`;
    await loadPlotly();
    plot(plots.curves, traces, {xaxis: {title: {text: "resource (epochs done)"}}, yaxis: {title: {text: esc(data.metric)}}, showlegend: traces.length <= 25});
    plots.curves.dataset.points = String(data.curves.reduce((n, c) => n + c.x.length, 0));
    plots.curves.dataset.decisions = String(stopX.length + goX.length);
  }

  function renderTable() {
    const columns = [
      {name: "training job", get: r => r.id},
      {name: "status", get: r => r.status, cell: r => badge(r.status)},
      {name: view.job.objective.metric, get: r => r.objective},
      ...view.hpNames.map(n => ({name: n, get: r => r.hp[n]})),
      ...view.extraKeys.map(k => ({name: k, get: r => r.extra[k]})),
      {name: "started", get: r => r.started, text: r => when(r.started)},
      {name: "seconds", get: r => (r.started && r.ended) ? Math.round((r.ended - r.started) * 10) / 10 : null},
      {name: "why stopped / failure", get: r => r.why || (r.status === "Failed" ? r.failure : ""), cls: "wrap",
        cell: r => r.why ? r.why : r.status === "Failed" ? el("span", {title: r.failure || ""}, lastLine(r.failure)) : ""},
    ];
    if (view.table) { view.table.setRows(view.rows); return; }
    const csvButton = el("button", {"data-role": "csv-shown"}, "CSV of the rows shown");
    view.table = dataTable(body("table"), columns, view.rows, {pageSize: 100, statusOf: r => r.status,
      rowAttrs: r => ({"data-id": r.id, onclick: () => { view.curves.add(r.id); view.auto = false; renderCurves(); }}),
      extraTools: visible => { csvButton.addEventListener("click", () => download(`${name}-shown.csv`, csvOf(columns, visible()))); return [csvButton]; }});
  }

  // live: server-sent events (/events: the changed training jobs only); polling /status when they fail
  let drawing = null, again = false;
  async function redraw() {  // after a live change; one redraw at a time, the last change wins
    if (drawing) { again = true; return drawing; }
    drawing = (async () => {
      do { again = false; await renderPlots(false); ready(); } while (again);
    })().finally(() => { drawing = null; });
    return drawing;
  }

  function showStop(message) {
    if (!message) return;
    view.stopMessage = message;
    const m = document.querySelector("[data-role=stop-message]");
    if (m) m.textContent = message;
  }

  function ended(status) {
    setLive(status);
    renderImportance();
  }

  function watch() {
    if (!window.EventSource) { poll(); return; }
    const source = new EventSource(`${api}/events`);
    let heard = false;
    view.sse = source;
    source.addEventListener("change", ev => {
      heard = true;
      const msg = JSON.parse(ev.data);
      document.body.dataset.live = "sse";
      document.body.dataset.events = String((Number(document.body.dataset.events) || 0) + 1);
      renderText(msg.job, msg.training_jobs, true);
      showStop(msg.stop);
      setLive(`live: updated ${new Date().toLocaleTimeString()}`);
      redraw();
    });
    source.addEventListener("end", ev => {
      source.close();
      view.sse = null;
      ended(JSON.parse(ev.data).status);
    });
    source.onerror = () => {
      if (heard) { setLive("live: reconnecting…"); return; }  // EventSource tries again by itself
      source.close();  // no event ever came (a proxy that buffers, an old server): poll instead
      view.sse = null;
      poll();
    };
  }

  let timer = null;
  function scheduleLive(ms) { if (view.sse) return; clearTimeout(timer); timer = setTimeout(poll, ms); }
  async function poll() {
    document.body.dataset.live = "poll";
    let s;
    try { s = await getJSON(`${api}/status`); } catch (e) { setLive(`live: ${e.message}`); scheduleLive(5000); return; }
    showStop(s.stop);
    const key = JSON.stringify([s.status, s.counts]);
    const t0 = performance.now();
    if (key !== view.lastStatus || !TERMINAL.includes(s.status)) {
      view.lastStatus = key;
      try { await refresh(false); ready(); } catch (e) { setLive(`live: ${e.message}`); }
    }
    if (TERMINAL.includes(s.status)) { ended(s.status); return; }
    setLive(`live: updated ${new Date().toLocaleTimeString()} (polling)`);
    scheduleLive(Math.max(1500, 4 * (performance.now() - t0)));
  }

  try { await refresh(true); } catch (e) { showError(main, e); return; }
  ready();
  if (!view.job.terminal) { view.lastStatus = null; watch(); }
}

// --------------------------------------------------------------------------------------------- compare page
async function comparePage() {
  const names = (new URLSearchParams(location.search).get("names") || "").split(",").filter(Boolean);
  document.getElementById("crumb").textContent = `compare ${names.join(", ")}`;
  let data;
  try { data = await getJSON(`/api/compare?names=${names.map(encodeURIComponent).join(",")}`); } catch (e) { showError(main, e); return; }
  await loadPlotly();
  const best = el("div", {class: "plot", "data-plot": "compare-best"}), spread = el("div", {class: "plot", "data-plot": "compare-values"});
  const rows = data.jobs.map(j => el("tr", {}, el("td", {}, el("a", {href: `/jobs/${encodeURIComponent(j.name)}`}, j.name)), el("td", {}, badge(j.status)),
    el("td", {}, j.strategy), el("td", {}, `${j.objective.direction} ${j.objective.metric}`), el("td", {}, `${j.completed}/${j.training_jobs}`),
    el("td", {}, fmt(j.best)), el("td", {}, j.best_training_job || ""),
    el("td", {class: "wrap"}, j.best_hyperparameters ? Object.entries(j.best_hyperparameters).map(([k, v]) => `${k}=${fmt(v)}`).join(", ") : "")));
  main.replaceChildren(el("h1", {}, `Compare ${data.jobs.length} tuning jobs`),
    data.note ? el("div", {class: "note", "data-role": "compare-note"}, data.note) : "",
    el("div", {class: "card"}, el("table", {"data-role": "compare-table"}, el("tr", {}, ["tuning job", "status", "strategy", "objective", "completed", "best", "best training job", "its hyperparameters"].map(h => el("th", {}, h))), rows)),
    el("div", {class: "grid"}, el("div", {class: "card"}, el("h2", {}, "Best so far by training job"), best),
      el("div", {class: "card"}, el("h2", {}, "Objective values"), spread)));
  plot(best, data.jobs.map(j => ({type: "scatter", mode: "lines", name: esc(j.name), x: j.best_so_far.map((_, i) => i), y: j.best_so_far, line: {shape: "hv"}})),
    {xaxis: {title: {text: "training job"}}, yaxis: {title: {text: esc(data.jobs[0].objective.metric)}}});
  plot(spread, data.jobs.map(j => ({type: "box", name: esc(j.name), y: j.values.filter(v => v !== null), boxpoints: "all", jitter: 0.4, pointpos: 0})),
    {yaxis: {title: {text: esc(data.jobs[0].objective.metric)}}, showlegend: false});
  best.dataset.points = String(data.jobs.reduce((n, j) => n + j.best_so_far.filter(v => v !== null).length, 0));
  ready();
}

({list: listPage, job: jobPage, compare: comparePage})[PAGE]();
