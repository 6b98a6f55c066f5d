import { childrenChart, trendChart, weeksChart } from "./charts.js";
import { bindLangSwitch, label, localTime, tr } from "./labels.js";
import { download, guard, json } from "./session.js";

const session = guard(["supervisor", "admin"]);
const $ = (id) => document.getElementById(id);
const COLOURS = {
  certified: "#2e7d4f", pending: "#c98a00", at_risk: "#b03a2e",
  too_dark: "#37474f", too_blurred: "#7e57c2", head_turned: "#0277bd", no_match: "#b03a2e",
  liveness: "#ef6c00", presentation_attack: "#6d4c41", other: "#9e9e9e",
};
const params = new URLSearchParams(location.search);
const region = params.get("region");
const data = {};

function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.append(td); return td; }
function q(extra = {}) {
  const p = new URLSearchParams();
  if (region) p.set("region", region);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : "";
}
function fail(body) { $("page-error").textContent = body ? tr(body.message, body.message_en) : tr("加载失败", "Failed to load"); $("page-error").hidden = false; }

function kpis(s) {
  const items = [["pensioners", tr("参保人数", "Pensioners")], ["certified", tr("已认证", "Certified")], ["pending", tr("待认证", "Pending")],
    ["at_risk", tr("高风险", "At risk")], ["projected_suspensions", tr("预计暂停", "Projected suspensions")],
    ["home_visits_open", tr("上门待办", "Visits open")], ["failed_attempts", tr("手机认证失败次数", "Failed app attempts")],
    ["undeliverable", tr("短信未送达", "Texts undelivered")],
    ["certified_with_exemption", tr("免部分动作认证", "Certified with actions exempted")]];
  $("kpis").replaceChildren(...items.map(([k, name]) => {
    const div = document.createElement("div"); div.className = `kpi ${k}`;
    const b = document.createElement("b"); b.dataset.k = k; b.textContent = String(s[k]);
    const span = document.createElement("span"); span.textContent = name;
    div.append(b, span); return div;
  }));
  $("season-note").textContent = tr(`${s.season}年度 · 截止 ${s.deadline ?? "—"}（剩 ${s.days_left ?? "—"} 天）· 统计于 ${localTime(s.computed_at)}`,
    `Season ${s.season} · deadline ${s.deadline ?? "—"} (${s.days_left ?? "—"} days left) · computed ${localTime(s.computed_at)}`);
}

function crumbs(s) {
  $("region-name").textContent = s.name;
  $("region-name").dataset.region = s.region;
  const nav = $("crumbs");
  nav.replaceChildren();
  if (region) { const a = document.createElement("a"); a.href = "/staff/supervisor/"; a.textContent = tr("返回本辖区", "Back to my jurisdiction"); nav.append(a); }
  for (const c of s.children) {
    const a = document.createElement("a"); a.href = `/staff/supervisor/?region=${c.region}`; a.textContent = c.name; a.dataset.drill = c.region; nav.append(a);
  }
}

function renderSummary() {
  const s = data.summary;
  kpis(s); crumbs(s);
  trendChart($("trend"), s, tr);
  childrenChart($("children-chart"), s.children.length ? s.children : [{ ...s, name: s.name }], tr, COLOURS);
}

function renderFailures() {
  const f = data.failures;
  const table = $("failure-table");
  table.replaceChildren();
  const head = document.createElement("tr");
  cell(head, tr("年龄段", "Age band"));
  for (const r of f.reasons) cell(head, label(r));
  cell(head, tr("合计", "Total"));
  table.append(head);
  const n = (b, r) => f.cells.find((c) => c.band === b && c.reason === r)?.attempts || 0;
  const peak = Math.max(1, ...f.cells.map((c) => c.attempts));
  for (const b of f.bands) {
    const row = document.createElement("tr"); row.dataset.band = b;
    cell(row, label(b));
    let sum = 0;
    for (const r of f.reasons) { const v = n(b, r); sum += v; const td = cell(row, String(v)); td.dataset.reason = r; td.className = `heat-${Math.ceil((4 * v) / peak)}`; }
    cell(row, String(sum));
    table.append(row);
  }
  const regions = $("failure-regions");
  regions.replaceChildren();
  const rh = document.createElement("tr"); cell(rh, tr("地区", "Region")); for (const r of f.reasons) cell(rh, label(r)); cell(rh, tr("合计", "Total")); regions.append(rh);
  for (const g of f.regions) {
    const row = document.createElement("tr"); row.dataset.region = g.region; cell(row, g.name);
    for (const r of f.reasons) cell(row, String(g.by_reason[r] || 0));
    cell(row, String(g.total)); regions.append(row);
  }
  weeksChart($("failure-weeks"), f.weeks, f.reasons, COLOURS, label, tr);
}

async function decide(visitId, decision, note, row) {
  const { ok, body } = await json(`/api/v1/home-visits/${visitId}/review`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ decision, note: note || null }),
  });
  if (!ok) return fail(body);
  row.dataset.done = decision;
  await Promise.all([loadReview(), loadTasks()]);  // a rejection reopens the task: it shows for reassigning
}

function renderReview() {
  const tbody = $("review-table").querySelector("tbody");
  tbody.replaceChildren();
  for (const item of data.review) {
    const v = item.visit, row = document.createElement("tr");
    row.dataset.visit = v.id;
    cell(row, item.name); cell(row, item.national_id_masked); cell(row, label(v.outcome)); cell(row, localTime(v.visited_at));
    cell(row, (v.review_reasons || []).map(label).join(tr("、", ", ")));
    const note = document.createElement("input"); note.maxLength = 1000; note.className = "note"; note.placeholder = tr("复核意见", "Note");
    cell(row, "").append(note);
    const act = cell(row, "");
    for (const [decision, zh, en, cls] of [["accepted", "通过", "Approve", "go"], ["rejected", "驳回", "Reject", "danger"]]) {
      const b = document.createElement("button"); b.type = "button"; b.className = cls; b.dataset.decision = decision; b.textContent = tr(zh, en);
      b.addEventListener("click", () => { b.disabled = true; decide(v.id, decision, note.value.trim(), row); });
      act.append(b);
    }
    tbody.append(row);
  }
  if (!data.review.length) { const row = document.createElement("tr"); cell(row, tr("没有待复核的上门认证", "Nothing to review")).colSpan = 7; tbody.append(row); }
}

async function assign(taskId, staffId, select) {
  const { ok, body } = await json(`/api/v1/home-visits/${taskId}/assign`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ staff_id: Number(staffId) }),
  });
  if (!ok) { select.value = ""; return fail(body); }
  await loadTasks();
}

function renderTasks() {
  const tbody = $("task-table").querySelector("tbody");
  tbody.replaceChildren();
  const names = Object.fromEntries(data.staff.map((s) => [s.id, s.display_name || s.username]));
  for (const t of data.tasks) {
    const row = document.createElement("tr"); row.dataset.task = t.id;
    cell(row, t.name); cell(row, label(t.reason)); cell(row, t.due_date + (t.overdue ? tr("（逾期）", " (overdue)") : ""));
    cell(row, t.address); cell(row, t.assigned_staff_id ? names[t.assigned_staff_id] || `#${t.assigned_staff_id}` : tr("未分派", "Unassigned"));
    const select = document.createElement("select"); select.className = "picker";
    select.append(new Option(tr("选择人员…", "Choose…"), ""));
    for (const s of data.staff) if (s.id !== t.assigned_staff_id) select.append(new Option(`${s.display_name || s.username}（${s.region_name}）`, s.id));
    select.addEventListener("change", () => { if (select.value) assign(t.id, select.value, select); });
    cell(row, "").append(select);
    tbody.append(row);
  }
  if (!data.tasks.length) empty(tbody, tr("没有待上门的任务", "No open home-visit tasks"), 6);
}

function empty(tbody, text, span) {
  const row = document.createElement("tr");
  cell(row, text).colSpan = span;
  tbody.append(row);
}

function renderRisk() {
  const tbody = $("risk-table").querySelector("tbody");
  tbody.replaceChildren();
  for (const r of data.risk.items) {
    const row = document.createElement("tr"); row.dataset.pensioner = r.id;
    const a = document.createElement("a"); a.href = r.history_url; a.textContent = r.name;
    cell(row, "").append(a); cell(row, String(r.age)); cell(row, r.region_name); cell(row, String(r.days_left ?? "—"));
    cell(row, String(r.failed_attempts)); cell(row, r.reasons.map((x) => label(x.code)).join(tr("、", ", ")));
    cell(row, r.under_way.map((x) => label(x.code)).join(tr("、", ", ")) || "—");
    tbody.append(row);
  }
  if (!data.risk.items.length) empty(tbody, tr("没有高风险人员", "Nobody at risk"), 7);
}

async function loadReview() { const r = await json("/api/v1/home-visits/review"); if (!r.ok) return fail(r.body); data.review = r.body; renderReview(); }
async function loadTasks() {
  const [t, s] = await Promise.all([json("/api/v1/home-visits?status=open&limit=100"), json("/api/v1/staff?role=field")]);
  if (!t.ok || !s.ok) return fail((t.ok ? s : t).body);
  data.tasks = t.body; data.staff = s.body; renderTasks();
}

async function exportFile(ext) {
  const stamp = new Date().toISOString().slice(0, 10);
  const ok = await download(`/api/v1/risk/pensioners.${ext}${q()}`, `at-risk-${stamp}.${ext}`);
  $("export-note").textContent = ok ? tr("已下载", "Downloaded") : tr("导出失败", "Export failed");
}

async function load() {
  const [s, f, r] = await Promise.all([json(`/api/v1/risk/summary${q()}`), json(`/api/v1/risk/failures${q()}`), json(`/api/v1/risk/pensioners${q({ limit: 50 })}`)]);
  if (!s.ok) return fail(s.body);
  data.summary = s.body; renderSummary();
  if (f.ok) { data.failures = f.body; renderFailures(); }
  if (r.ok) { data.risk = r.body; renderRisk(); }
  await Promise.all([loadReview(), loadTasks()]);
  document.body.dataset.loaded = "true";
}

if (session) {
  bindLangSwitch();
  $("export-csv").addEventListener("click", () => exportFile("csv"));
  $("export-xlsx").addEventListener("click", () => exportFile("xlsx"));
  document.addEventListener("langchange", () => { renderSummary(); if (data.failures) renderFailures(); renderReview(); renderTasks(); if (data.risk) renderRisk(); });
  load();
}
