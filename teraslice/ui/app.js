// The teraslice web view: polls the master's JSON API and calls its operator routes.
// Plain JS on purpose (no build step, no framework); served from the binary at /ui.
"use strict";

const POLL_MS = 1000;
const TOKEN_KEY = "teraslice.api_token";
const ACTIVE = ["pending", "scheduling", "initializing", "running", "recovering", "failing", "paused", "stopping"];
const $ = (sel) => document.querySelector(sel);

const view = { selected: null, rows: new Map(), last: new Map(), busy: false };

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// Every call carries the token (when one is set) as `Authorization: Bearer <token>`.
async function api(method, path) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(path, { method, headers });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = text; }
  if (res.status === 401 || res.status === 403) {
    const why = res.status === 401
      ? "the master needs an API token (teraslice.api_tokens): enter one above"
      : "the API token was refused: enter a token the master accepts";
    throw new ApiError(res.status, `${method} ${path}: ${res.status} — ${why}`);
  }
  if (!res.ok) {
    const detail = body && body.error ? body.error : text;
    throw new ApiError(res.status, `${method} ${path}: ${res.status} ${detail}`);
  }
  return body;
}

function showProblem(message) {
  const el = $("#problem");
  el.textContent = message || "";
  el.hidden = !message;
}

function cell(row, cls, text) {
  let td = row.querySelector("td." + cls.split(" ")[0]);
  if (!td) { td = document.createElement("td"); td.className = cls; row.appendChild(td); }
  if (td.textContent !== String(text)) td.textContent = text;
  return td;
}

function actionsCell(exId) {
  const td = document.createElement("td");
  td.className = "actions";
  for (const action of ["stop", "pause", "resume"]) {
    const b = document.createElement("button");
    b.textContent = action;
    b.dataset.action = action;
    b.addEventListener("click", (e) => { e.stopPropagation(); operate(exId, action); });
    td.appendChild(b);
  }
  const n = document.createElement("input");
  n.type = "number"; n.min = "1"; n.className = "scale-workers"; n.title = "total workers";
  n.addEventListener("click", (e) => e.stopPropagation());
  const s = document.createElement("button");
  s.textContent = "scale"; s.dataset.action = "scale";
  s.addEventListener("click", (e) => { e.stopPropagation(); operate(exId, "scale", n.value); });
  td.append(n, s);
  return td;
}

async function operate(exId, action, workers) {
  const id = encodeURIComponent(exId);
  let path = `/ex/${id}/_${action}`;
  if (action === "scale") {
    if (!/^[1-9][0-9]*$/.test(String(workers))) {
      showProblem("scale: workers must be a whole number of at least 1");
      return;
    }
    path = `/ex/${id}/_workers?total=${workers}`;
  }
  try {
    await api("POST", path);
    showProblem("");
  } catch (e) {
    showProblem(e.message);
  }
  await poll();
}

// slices/s and records/s: the change of the controller's `processed` and `records` (records
// the fetchers returned) between two polls of a running controller.
function rates(exId, processed, records) {
  const now = performance.now();
  const prev = view.last.get(exId);
  view.last.set(exId, { processed, records, now });
  if (!prev || now <= prev.now) return ["", ""];
  const per = (a, b) => ((a - b) * 1000 / (now - prev.now)).toFixed(1);
  return [per(processed, prev.processed), per(records, prev.records)];
}

function renderExecutions(executions, controllers) {
  const stats = new Map(controllers.map((c) => [c.ex_id, c]));
  const tbody = $("#executions tbody");
  const seen = new Set();
  for (const ex of executions) {
    const id = ex.ex_id;
    seen.add(id);
    let row = view.rows.get(id);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.exId = id;
      row.addEventListener("click", () => { view.selected = id; poll(); });
      view.rows.set(id, row);
    }
    tbody.appendChild(row); // keeps the master's order
    const c = stats.get(id) || {};
    const s = ex._slicer_stats || {};
    const processed = c.processed ?? s.processed ?? 0;
    cell(row, "name", ex.name);
    cell(row, "ex-id", id);
    const st = cell(row, "status", "");
    st.innerHTML = "";
    const badge = document.createElement("span");
    badge.className = "badge badge-" + ex._status;
    badge.textContent = ex._status;
    st.appendChild(badge);
    cell(row, "workers num", c.workers_active !== undefined ? `${c.workers_active}/${ex.workers}` : ex.workers);
    cell(row, "processed num", processed);
    cell(row, "failed num", c.failed ?? s.failed ?? 0);
    cell(row, "queued num", c.queued ?? 0);
    const [slices, records] = stats.has(id) ? rates(id, processed, c.records ?? 0) : ["", ""];
    cell(row, "rate num", slices);
    cell(row, "records-rate num", records);
    if (!row.querySelector("td.actions")) row.appendChild(actionsCell(id));
    const active = ACTIVE.includes(ex._status);
    row.querySelector('[data-action="stop"]').disabled = !active;
    row.querySelector('[data-action="pause"]').disabled = ex._status !== "running";
    row.querySelector('[data-action="resume"]').disabled = ex._status !== "paused";
    row.querySelector('[data-action="scale"]').disabled = ex._status !== "running";
    row.classList.toggle("selected", id === view.selected);
  }
  for (const [id, row] of view.rows) {
    if (!seen.has(id)) { row.remove(); view.rows.delete(id); }
  }
}

function fillTable(sel, rows) {
  const tbody = $(sel + " tbody");
  tbody.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement("tr");
    for (const [cls, text] of cells) {
      const td = document.createElement("td");
      td.className = cls; td.textContent = text ?? "";
      tr.appendChild(td);
    }
    return tr;
  }));
}

function processes(state) {
  return Object.values(state || {}).flatMap((node) =>
    (node.active || []).map((p) => ({ ...p, node_id: node.node_id })));
}

function renderNodes(state) {
  fillTable("#nodes", Object.values(state || {}).map((n) => [
    ["node", n.node_id], ["hostname", n.hostname], ["slots num", n.total],
    ["available num", n.available],
    ["processes", (n.active || []).map((p) => `${p.assignment} ${p.ex_id || ""} (${p.pid ?? p.worker_id})`).join(", ")],
  ]));
}

async function renderDetail(state) {
  const panel = $("#detail");
  const id = view.selected;
  panel.hidden = !id;
  if (!id) return;
  $("#detail-id").textContent = id;
  fillTable("#detail-workers", processes(state)
    .filter((p) => p.ex_id === id && p.assignment === "worker")
    .map((p) => [["node", p.node_id], ["worker-id", p.worker_id], ["pid num", p.pid]]));
  const errors = await api("GET", `/ex/${encodeURIComponent(id)}/errors?size=50`);
  fillTable("#detail-errors", (errors || []).map((e) => [
    ["slice-id", e.slice_id], ["updated", e._updated], ["error", e.error],
  ]));
}

async function poll() {
  if (view.busy) return;
  view.busy = true;
  try {
    const [root, state, executions, controllers] = await Promise.all([
      api("GET", "/"), api("GET", "/cluster/state"), api("GET", "/ex?size=100"),
      api("GET", "/cluster/controllers"),
    ]);
    $("#cluster").textContent = `${root.name} · ${root.clustering_type}`;
    renderExecutions(executions || [], controllers || []);
    renderNodes(state);
    await renderDetail(state);
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
    if ($("#problem").dataset.fromPoll) { showProblem(""); delete $("#problem").dataset.fromPoll; }
  } catch (e) {
    showProblem(e.message);
    $("#problem").dataset.fromPoll = "1";
  } finally {
    view.busy = false;
  }
}

$("#token").value = sessionStorage.getItem(TOKEN_KEY) || "";
$("#token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const token = $("#token").value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
  poll();
});
poll();
setInterval(poll, POLL_MS);
