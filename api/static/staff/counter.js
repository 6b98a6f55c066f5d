import { bindLangSwitch, label, localTime, tr } from "./labels.js";
import { guard, json } from "./session.js";

const session = guard(["counter", "supervisor", "admin"]);
const $ = (id) => document.getElementById(id);
const state = { pensioner: null, attemptId: null, certifyKey: null, stream: null };

function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.append(td); return td; }

function errorText(body) {
  if (!body) return tr("请求失败，请重试。", "Request failed; try again.");
  const advice = (body.detail && body.detail.advice) || [];
  const main = tr(body.message, body.message_en);
  return [main, ...advice.map((a) => tr(a.zh, a.en))].join(" ");
}

async function search(q) {
  const { ok, body } = await json(`/api/v1/pensioners?limit=20&q=${encodeURIComponent(q)}`);
  const tbody = $("results").querySelector("tbody");
  tbody.replaceChildren();
  if (!ok) { $("search-note").textContent = errorText(body); return; }
  $("search-note").textContent = tr(`找到 ${body.total} 人`, `${body.total} found`);
  $("results").hidden = body.items.length === 0;
  for (const p of body.items) {
    const row = document.createElement("tr");
    row.dataset.pensioner = p.id;
    row.tabIndex = 0;
    for (const text of [p.name, p.national_id, p.birth_date, p.phone || "—", label(p.pension_status)]) cell(row, text);
    row.addEventListener("click", () => openCard(p.id));
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") openCard(p.id); });
    tbody.append(row);
  }
  if (body.items.length === 1) openCard(body.items[0].id);
}

function seasonText(st) {
  if (st.state === "certified") {
    return tr(`本年度已认证（${label(st.channel)}，${localTime(st.certified_at)}）`,
      `Certified this season (${label(st.channel)}, ${localTime(st.certified_at)})`);
  }
  if (st.state === "pending") {
    return tr(`待认证，截止 ${st.deadline}（剩 ${st.days_left} 天）`, `Pending, due ${st.deadline} (${st.days_left} days left)`);
  }
  return tr(st.message, st.message_en);
}

function renderCard(c) {
  $("card").hidden = false;
  $("camera-panel").hidden = false;
  $("card-name").textContent = `${c.name}（${c.sex === "F" ? tr("女", "F") : tr("男", "M")}，${c.birth_date}）`;
  $("card-id").textContent = c.national_id;
  $("card-region").textContent = c.region_name;
  $("card-pension").textContent = label(c.pension_status) + (c.bedridden ? tr("；卧床", "; bedridden") : "");
  $("card-season").textContent = seasonText(c.status);
  $("card-season").dataset.state = c.status.state;
  $("card-face").textContent = c.face.enrolled
    ? tr(`已采集（${localTime(c.face.enrolled_at)}，同意方式：${label(c.face.consent_method)}）`,
      `Enrolled ${localTime(c.face.enrolled_at)} (consent: ${label(c.face.consent_method)})`)
    : tr("未采集", "Not enrolled");
  $("card-face").dataset.enrolled = String(c.face.enrolled);
  $("card-task").textContent = c.task
    ? `${label(c.task.reason)} · ${label(c.task.status)} · ${tr("截止", "due")} ${c.task.due_date}${c.task.assigned_to ? ` · ${c.task.assigned_to}` : ""}`
    : tr("无", "None");
  renderChannel(c);
  const tbody = $("checks").querySelector("tbody");
  tbody.replaceChildren();
  for (const a of c.checks) {
    const row = document.createElement("tr");
    row.dataset.decision = a.decision;
    cell(row, localTime(a.at));
    cell(row, label(a.channel));
    cell(row, label(a.decision)).className = a.decision === "match" ? "ok" : "bad";
    cell(row, a.reasons.filter((r) => r !== "no_cohort").map(label).join(tr("、", ", ")) || "—");
    tbody.append(row);
  }
  if (!c.checks.length) { const row = document.createElement("tr"); cell(row, tr("暂无核验记录", "No checks yet")).colSpan = 4; tbody.append(row); }
  syncButtons();
}

// How messages reach the person: shown, and changed at their request to a channel this service offers.
function renderChannel(c) {
  const offered = c.channels_available;
  const sendsBy = offered.includes(c.preferred_channel) ? c.preferred_channel : "sms";
  $("channel-now").textContent = label(c.preferred_channel) + (sendsBy === c.preferred_channel ? "" : tr("（本地未开通，按短信发送）", " (not offered here: sent by SMS)"));
  $("card-channel").dataset.channel = c.preferred_channel;
  const select = $("channel-select");
  select.replaceChildren(...offered.map((ch) => { const o = document.createElement("option"); o.value = ch; o.textContent = label(ch); o.selected = ch === sendsBy; return o; }));
  $("channel-form").hidden = offered.length < 2 && c.preferred_channel === "sms";
}

async function changeChannel() {
  const channel = $("channel-select").value;
  const { ok, body } = await json(`/api/v1/pensioners/${state.pensioner.id}/preferred-channel`, {
    method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ channel }),
  });
  $("channel-note").className = ok ? "hint" : "error";
  $("channel-note").textContent = ok ? tr(`已改为${label(body.preferred_channel)}（已记录）`, `Changed to ${label(body.preferred_channel)} (recorded)`) : errorText(body);
  if (ok) await openCard(state.pensioner.id);
}

async function openCard(id) {
  const { ok, body } = await json(`/api/v1/pensioners/${id}/card`);
  if (!ok) { $("search-note").textContent = errorText(body); return; }
  if (!state.pensioner || state.pensioner.id !== body.id) { state.attemptId = null; state.certifyKey = null; $("outcome").replaceChildren(); $("channel-note").textContent = ""; }
  state.pensioner = body;
  history.replaceState(null, "", `?pensioner=${body.id}`);
  renderCard(body);
  startCamera();
}

async function startCamera() {
  if (state.stream) return;
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
    $("video").srcObject = state.stream;
    $("camera-error").hidden = true;
    setInterval(qualityHints, 700);
  } catch (err) {
    $("camera-error").textContent = tr(`无法打开摄像头（${err.name}）：请允许使用摄像头，或检查摄像头连接。`,
      `Cannot open the camera (${err.name}): allow camera access or check the cable.`);
    $("camera-error").hidden = false;
  }
}

// Live hints from a small copy of the picture: brightness and sharpness (the server's gates decide).
function qualityHints() {
  const video = $("video");
  if (!video.videoWidth) return;
  const c = document.createElement("canvas");
  c.width = 160; c.height = 120;
  const g = c.getContext("2d", { willReadFrequently: true });
  g.drawImage(video, 0, 0, 160, 120);
  const px = g.getImageData(0, 0, 160, 120).data;
  const luma = new Float32Array(160 * 120);
  let sum = 0;
  for (let i = 0; i < luma.length; i++) { luma[i] = 0.299 * px[4 * i] + 0.587 * px[4 * i + 1] + 0.114 * px[4 * i + 2]; sum += luma[i]; }
  let edges = 0;
  for (let y = 1; y < 119; y++) for (let x = 1; x < 159; x++) {
    const i = y * 160 + x;
    edges += Math.abs(4 * luma[i] - luma[i - 1] - luma[i + 1] - luma[i - 160] - luma[i + 160]);
  }
  const mean = sum / luma.length, sharp = edges / (158 * 118);
  const hints = [];
  if (mean < 60) hints.push(["too_dark", tr("光线太暗：请打开灯或面向光源", "Too dark: turn on a light")]);
  else if (mean > 200) hints.push(["too_bright", tr("光线太强：请避开直射光", "Too bright: avoid direct light")]);
  if (sharp < 4) hints.push(["too_blurred", tr("画面模糊：请保持不动，擦净镜头", "Blurred: keep still, clean the lens")]);
  if (!hints.length) hints.push(["ok", tr("画面良好：请正对镜头，摘下帽子和口罩", "Looks good: face the camera, no hat or mask")]);
  $("quality").replaceChildren(...hints.map(([code, text]) => { const li = document.createElement("li"); li.dataset.hint = code; li.textContent = text; return li; }));
}

function grab() {
  const video = $("video"), canvas = $("frame");
  canvas.width = video.videoWidth; canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

function show(kind, text, advice = [], decision = "") {
  const box = document.createElement("div");
  box.className = `result ${kind}`;
  box.dataset.result = kind;
  box.dataset.decision = decision;
  const p = document.createElement("p"); p.textContent = text; box.append(p);
  if (advice.length) { const ul = document.createElement("ul"); for (const a of advice) { const li = document.createElement("li"); li.textContent = tr(a.zh, a.en); ul.append(li); } box.append(ul); }
  $("outcome").replaceChildren(box);
  window.outcomes = (window.outcomes || 0) + 1;  // tests wait for the next result
}

function syncButtons() {
  $("enrol").disabled = !$("consent").checked;
  $("certify").disabled = !state.attemptId || state.pensioner?.status.state === "certified";
}

async function busy(button, work) {
  button.disabled = true;
  try { await work(); } finally { button.disabled = false; syncButtons(); }
}

async function enrol() {
  if (!$("consent").checked) return show("bad", tr("请先确认本人已签署同意书。", "Record the consent first."));
  const form = new FormData();
  for (let i = 0; i < 3; i++) { form.append("photos", await grab(), `enrol-${i}.jpg`); await pause(350); }
  form.append("consent_method", $("consent-method").value);
  form.append("source", "counter");
  const { ok, body } = await json(`/api/v1/pensioners/${state.pensioner.id}/face`, { method: "PUT", body: form });
  if (!ok) return show("bad", errorText(body), []);
  show("ok", tr(`人脸采集成功（${body.templates.length} 个模板），请点击“人脸核验”。`, `Enrolled (${body.templates.length} templates); now verify.`));
  await openCard(state.pensioner.id);
}

async function verify() {
  const form = new FormData();
  form.append("photo", await grab(), "check.jpg");
  const { ok, body } = await json(`/api/v1/pensioners/${state.pensioner.id}/face-verifications`, { method: "POST", body: form });
  if (!ok) return show("bad", errorText(body));
  state.attemptId = body.decision === "match" ? body.attempt_id : null;
  state.certifyKey = null;
  const reasons = body.reasons.filter((r) => r !== "no_cohort").map(label).join(tr("、", ", "));
  show(body.decision === "match" ? "ok" : "bad", `${label(body.decision)}${reasons ? `：${reasons}` : ""}`, body.advice, body.decision);
  await openCard(state.pensioner.id);
}

async function certify() {
  state.certifyKey = state.certifyKey || crypto.randomUUID();  // a retry after a lost answer replays, never twice
  const { ok, body } = await json("/api/v1/certifications/counter", {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": state.certifyKey },
    body: JSON.stringify({ national_id: state.pensioner.national_id, attempt_id: state.attemptId }),
  });
  if (!ok) return show("bad", errorText(body));
  show("ok", tr(body.message, body.message_en));
  receipt(body);
  await openCard(state.pensioner.id);
}

function receipt(cert) {
  const p = state.pensioner;
  $("r-name").textContent = p.name;
  $("r-id").textContent = `${p.national_id.slice(0, 6)}********${p.national_id.slice(-4)}`;
  $("r-season").textContent = String(cert.season_year);
  $("r-channel").textContent = label(cert.channel);
  $("r-at").textContent = localTime(cert.certified_at);
  $("r-clerk").textContent = session.username;
  $("r-no").textContent = `${cert.season_year}-${String(cert.id).padStart(8, "0")}`;
  $("receipt").hidden = false;
}

if (session) {
  bindLangSwitch();
  if (session.role !== "counter") $("to-supervisor").hidden = false;
  $("consent").addEventListener("change", syncButtons);
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); search($("q").value.trim()); });
  $("enrol").addEventListener("click", (e) => busy(e.currentTarget, enrol));
  $("verify").addEventListener("click", (e) => busy(e.currentTarget, verify));
  $("certify").addEventListener("click", (e) => busy(e.currentTarget, certify));
  $("print").addEventListener("click", () => window.print());
  $("channel-form").addEventListener("submit", (e) => { e.preventDefault(); busy($("channel-save"), changeChannel); });
  document.addEventListener("langchange", () => { if (state.pensioner) renderCard(state.pensioner); });
  const id = new URLSearchParams(location.search).get("pensioner");
  if (id && /^\d+$/.test(id)) openCard(Number(id));
}
