// The field page: my tasks, recording a visit (camera, position, outcome, notes), and the outbox.
import { accessToken, mirrorFromSession } from "./auth.js";
import { STORES, all, del, get, put } from "./db.js";
import { applyStatic, lang, setLang, t } from "./i18n.js";
import { flush } from "./sender.js";

const LOGIN = "/staff/?next=/staff/field/";
const MAX_ACCURACY_M = 200;
const RETRY_MS = 15_000;
const $ = (id) => document.getElementById(id);
const state = { tasks: [], outcomes: [], task: null, stream: null, position: null, cameraReason: null, photo: null, formScan: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function localTime(ms) {
  return new Date(ms).toLocaleString(lang === "en" ? "en-GB" : "zh-CN", { timeZone: "Asia/Shanghai", hour12: false });
}

async function api(path) {
  const token = await accessToken();
  if (!token) { location.replace(LOGIN); throw new Error("login"); }
  const resp = await fetch(`/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  if (resp.status === 401) { location.replace(LOGIN); throw new Error("login"); }
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  return resp.json();
}

// --- tasks -----------------------------------------------------------------------------------------------

function tasksStatus(key, vars = {}) {
  state.tasksStatus = key ? { key, vars } : null;
  $("tasks-status").textContent = key ? t(key, vars) : "";
}

const colon = () => (lang === "en" ? ": " : "：");

async function loadTasks() {
  tasksStatus("loading");
  try {
    const [tasks, outcomes] = await Promise.all([api("/home-visits"), api("/home-visits/outcomes")]);
    await put(STORES.cache, { tasks, outcomes, at: Date.now() }, "tasks");
    Object.assign(state, { tasks, outcomes });
    tasksStatus(tasks.length ? null : "no_tasks");
  } catch (err) {
    if (err.message === "login") return;
    const cached = await get(STORES.cache, "tasks");
    if (cached) {
      Object.assign(state, { tasks: cached.tasks, outcomes: cached.outcomes });
      tasksStatus("cached_tasks", { time: localTime(cached.at) });
    } else {
      tasksStatus("tasks_failed");
    }
  }
  renderTasks();
}

function coordsLine(task) {
  if (task.target_latitude == null) return el("p", { className: "line muted", text: t("no_coords") });
  const lat = task.target_latitude.toFixed(5);
  const lon = task.target_longitude.toFixed(5);
  const which = task.target_source === "house" ? t("coords_house") : t("coords_community");
  return el("p", { className: "line muted", "data-coords": `${lat},${lon}`, text: `${which}${colon()}` },
    el("span", { className: "nowrap", text: `${lat}, ${lon}` }));
}

function taskLinks(task) {
  const links = el("div", { className: "links" });
  if (task.phone) links.append(el("a", { href: `tel:${task.phone}`, text: `${t("phone")} ${task.phone}` }));
  if (task.family_phone) links.append(el("a", { href: `tel:${task.family_phone}`, text: `${t("family")} ${task.family_phone}` }));
  if (task.target_latitude != null) {
    const geo = `geo:${task.target_latitude},${task.target_longitude}`;
    links.append(el("a", { href: geo, className: "map", text: t("map") }));
  }
  const button = el("button", { type: "button", text: t("record"), "data-task": String(task.id) });
  button.addEventListener("click", () => openVisit(task));
  links.append(button);
  return links;
}

function renderTasks() {
  const list = $("tasks");
  list.replaceChildren();
  for (const task of state.tasks) {
    const reason = lang === "en" ? task.reason_label_en : task.reason_label;
    const name = el("p", { className: "name", text: task.name },
      el("span", { className: "tag", text: reason }),
      task.overdue ? el("span", { className: "tag overdue", text: t("overdue") }) : null);
    const street = [task.address_street, task.address_house].filter(Boolean).join("");
    const li = el("li", { "data-task-id": String(task.id) }, name,
      el("p", { className: "line", text: t("due", { date: task.due_date }) }),
      el("p", { className: "line", text: `${task.address}${street}` }),
      task.address_landmark ? el("p", { className: "line", text: `${t("landmark")}${colon()}${task.address_landmark}` }) : null,
      coordsLine(task), taskLinks(task));
    list.append(li);
  }
}

// --- the visit form ---------------------------------------------------------------------------------------

function renderOutcomes() {
  const box = $("outcomes");
  for (const old of box.querySelectorAll("label")) old.remove();
  for (const o of state.outcomes) {
    const input = el("input", { type: "radio", name: "outcome", value: o.value });
    input.addEventListener("change", showExtras);
    box.append(el("label", {}, input, document.createTextNode(lang === "en" ? o.label_en : o.label)));
  }
}

function chosen() {
  const input = document.querySelector('input[name="outcome"]:checked');
  return input ? state.outcomes.find((o) => o.value === input.value) : null;
}

function showExtras() {
  const o = chosen();
  $("extra-death").hidden = !(o && o.needs_death_date);
  $("extra-moved").hidden = !(o && o.needs_new_region);
  $("extra-revisit").hidden = !(o && (o.value === "not_at_home" || o.value === "hospitalised"));
  $("extra-consent").hidden = !(o && o.needs_photo);
}

function status(id, text, level = "ok") {
  $(id).textContent = text;
  $(id).dataset.level = level;
}

async function startCamera() {
  state.cameraReason = null;
  $("camera-live").hidden = false;
  status("camera-status", t("camera_starting"));
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    state.cameraReason = "camera_unavailable";
    status("camera-status", t("camera_unavailable"), "warn");
    $("camera-live").hidden = true;
    return;
  }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1280 } }, audio: false });
    $("preview").srcObject = state.stream;
    await $("preview").play().catch(() => {});
    status("camera-status", t("camera_ready"));
  } catch (err) {
    const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
    state.cameraReason = denied ? "camera_denied" : "camera_unavailable";
    status("camera-status", t(state.cameraReason), "warn");
  }
  $("shoot-photo").disabled = $("shoot-form").disabled = Boolean(state.cameraReason);
  $("camera-live").hidden = Boolean(state.cameraReason); // no black box and no buttons that cannot work
}

function stopCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
}

function shoot(target, thumb) {
  const video = $("preview");
  if (!video.videoWidth) return;
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => {
    state[target] = blob;
    $(thumb).src = URL.createObjectURL(blob);
    $(thumb).hidden = false;
  }, "image/jpeg", 0.88);
}

function locate() {
  state.position = null;
  status("gps-status", t("gps_locating"));
  if (!navigator.geolocation) {
    state.position = { reason: "unsupported" };
    status("gps-status", t("gps_unsupported"), "warn");
    return;
  }
  navigator.geolocation.getCurrentPosition((pos) => {
    const { latitude, longitude, accuracy } = pos.coords;
    const inaccurate = accuracy > MAX_ACCURACY_M;
    state.position = { latitude, longitude, accuracy, reason: inaccurate ? "inaccurate" : null };
    const vars = { lat: latitude.toFixed(5), lon: longitude.toFixed(5), acc: Math.round(accuracy) };
    status("gps-status", t(inaccurate ? "gps_inaccurate" : "gps_ok", vars), inaccurate ? "warn" : "ok");
  }, (err) => {
    const reason = { 1: "denied", 2: "unavailable", 3: "timeout" }[err.code] || "unavailable";
    state.position = { reason };
    status("gps-status", t(`gps_${reason}`), "warn");
  }, { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 });
}

function openVisit(task) {
  state.task = task;
  Object.assign(state, { photo: null, formScan: null });
  for (const id of ["photo-thumb", "form-thumb"]) $(id).hidden = true;
  for (const id of ["note", "death-date", "new-region", "next-due"]) $(id).value = "";
  $("consent").checked = false;
  $("visit-error").textContent = "";
  $("visit-name").textContent = task.name;
  const street = [task.address_street, task.address_house].filter(Boolean).join("");
  const landmark = task.address_landmark ? `（${task.address_landmark}）` : "";
  $("visit-address").textContent = `${task.address}${street}${landmark}`;
  renderOutcomes();
  showExtras();
  $("tasks-view").hidden = true;
  $("visit-view").hidden = false;
  window.scrollTo(0, 0);
  startCamera();
  locate();
}

function closeVisit() {
  stopCamera();
  state.task = null;
  $("visit-view").hidden = true;
  $("tasks-view").hidden = false;
}

function problem(o) {
  if (!o) return "need_outcome";
  if (o.needs_photo && !state.cameraReason && !state.photo) return "need_photo";
  if (o.needs_form_scan && !state.cameraReason && !state.formScan) return "need_form";
  if (o.needs_death_date && (!$("death-date").value || (!state.formScan && !state.cameraReason))) return "need_death";
  if (o.needs_new_region && !/^\d{12}$/.test($("new-region").value)) return "need_region";
  return null;
}

function visitFields(o) {
  const pos = state.position || { reason: "unavailable" };
  return {
    outcome: o.value,
    visited_at: new Date().toISOString(),
    latitude: pos.latitude ?? null,
    longitude: pos.longitude ?? null,
    position_accuracy_m: pos.accuracy != null ? Math.round(pos.accuracy * 10) / 10 : null,
    position_missing_reason: pos.reason,
    photo_missing_reason: state.cameraReason && (o.needs_photo || o.needs_form_scan) ? state.cameraReason : null,
    consent_recorded: o.needs_photo ? $("consent").checked : null,
    death_date: o.needs_death_date ? $("death-date").value : null,
    new_region_code: o.needs_new_region ? $("new-region").value : null,
    next_due_date: $("extra-revisit").hidden ? null : $("next-due").value || null,
    note: $("note").value.trim() || null,
  };
}

async function save() {
  const o = chosen();
  const issue = problem(o);
  if (issue) { $("visit-error").textContent = t(issue); return; }
  const files = { photo: o.needs_photo ? state.photo : null, form_scan: o.value === "deceased" ? null : state.formScan };
  if (o.value === "deceased") files.death_certificate = state.formScan;
  const item = {
    key: crypto.randomUUID(), task_id: state.task.id, name: state.task.name, outcome: o.value,
    fields: visitFields(o), files, created_at: Date.now(), state: "waiting", attempts: 0,
  };
  await put(STORES.outbox, item);
  state.tasks = state.tasks.filter((task) => task.id !== item.task_id || o.value === "not_at_home" || o.value === "hospitalised");
  closeVisit();
  renderTasks();
  tasksStatus("saved");
  await renderOutbox();
  requestSend();
}

// --- the outbox -------------------------------------------------------------------------------------------

function outcomeLabel(value) {
  const o = state.outcomes.find((x) => x.value === value);
  return o ? (lang === "en" ? o.label_en : o.label) : value;
}

function stateText(item) {
  if (item.state === "refused") {
    const err = item.error || {};
    if (err.code === "visit_already_recorded") return t("already", { id: err.detail ? err.detail.visit_id : "" });
    return t("st_refused", { msg: (lang === "en" ? err.message_en : err.message) || err.status });
  }
  return t({ login: "st_login", server: "st_server" }[item.note] || "st_waiting");
}

async function renderOutbox() {
  const items = (await all(STORES.outbox)).sort((a, b) => a.created_at - b.created_at);
  const list = $("outbox");
  list.replaceChildren();
  for (const item of items) {
    const li = el("li", { "data-state": item.state, "data-key": item.key, "data-attempts": String(item.attempts || 0) },
      el("strong", { text: `${item.name} · ${outcomeLabel(item.outcome)}` }),
      el("span", { className: "state", text: t("recorded_at", { time: localTime(item.created_at) }) }),
      el("span", { className: "state", text: stateText(item) }));
    if (item.state === "refused") {
      const remove = el("button", { type: "button", text: t("remove") });
      remove.addEventListener("click", () => del(STORES.outbox, item.key).then(renderOutbox));
      li.append(remove);
    }
    list.append(li);
  }
  $("waiting-empty").hidden = items.length > 0;
  const sent = await all(STORES.sent);
  // A visit just reached the server: reload the tasks (a new due date, a closed task) when online.
  if (state.sentCount !== undefined && sent.length > state.sentCount && navigator.onLine && !state.task) loadTasks();
  state.sentCount = sent.length;
  $("sent-summary").hidden = sent.length === 0;
  $("sent-summary").textContent = t("sent_summary", { n: sent.length });
}

async function requestSend() {
  const reg = navigator.serviceWorker && (await navigator.serviceWorker.getRegistration("/staff/field/"));
  const worker = reg && (reg.active || reg.waiting || reg.installing);
  if (worker) {
    if (reg.sync) reg.sync.register("field-outbox").catch(() => {});
    worker.postMessage({ type: "flush" });
  } else {
    await flush(renderOutbox); // no service worker (old browser): the page sends itself
    await renderOutbox();
  }
}

function showNetwork() {
  const online = navigator.onLine;
  $("net").dataset.state = online ? "online" : "offline";
  $("net").textContent = t(online ? "online" : "offline");
}

function rerender() {
  applyStatic();
  $("lang").textContent = lang === "en" ? "中文" : "English";
  $("lang").lang = lang === "en" ? "zh-CN" : "en";
  showNetwork();
  if (state.tasksStatus) tasksStatus(state.tasksStatus.key, state.tasksStatus.vars);
  renderTasks();
  renderOutbox();
  if (state.task) { renderOutcomes(); showExtras(); }
}

async function start() {
  const token = await mirrorFromSession();
  if (!token && !(await get(STORES.auth, "staff"))) { location.replace(LOGIN); return; }
  if (navigator.serviceWorker) {
    await navigator.serviceWorker.register("/staff/field/sw.js", { scope: "/staff/field/", type: "module" }).catch(() => null);
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data && event.data.type === "outbox-changed") renderOutbox();
    });
  }
  $("lang").addEventListener("click", () => { setLang(lang === "en" ? "zh" : "en"); rerender(); });
  $("back").addEventListener("click", closeVisit);
  $("save").addEventListener("click", save);
  $("gps-retry").addEventListener("click", locate);
  $("shoot-photo").addEventListener("click", () => shoot("photo", "photo-thumb"));
  $("shoot-form").addEventListener("click", () => shoot("formScan", "form-thumb"));
  window.addEventListener("online", () => { showNetwork(); requestSend(); loadTasks(); });
  window.addEventListener("offline", showNetwork);
  setInterval(() => { if (navigator.onLine) requestSend(); }, RETRY_MS);
  rerender();
  await loadTasks();
  requestSend();
  document.body.dataset.ready = "1";
}

start();
