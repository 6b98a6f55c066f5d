// The staff session: tokens in sessionStorage (one tab), bearer fetches, refreshed while used, ended when idle.
export const KEY = "pension_cert.staff";
export const HOME = {
  counter: "/staff/counter/", supervisor: "/staff/supervisor/", admin: "/staff/supervisor/", field: "/staff/field/",
};
const REFRESH_BEFORE_MS = 90_000; // refresh this long before the access token expires
const IDLE_MS = 15 * 60_000; // no click or key for this long: the session is let run out
let lastActivity = Date.now();
let refreshing = null;

export function load() {
  try { return JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { return null; }
}

function save(s) { sessionStorage.setItem(KEY, JSON.stringify(s)); }

export function clear() { sessionStorage.removeItem(KEY); }

/** A same-site path to return to after login (never another origin). */
export function safeNext(raw) {
  return raw && raw.startsWith("/") && !raw.startsWith("//") && !raw.includes("\\") ? raw : null;
}

export function toLogin() {
  const next = location.pathname + location.search;
  location.replace(`/staff/?next=${encodeURIComponent(next)}`);
}

function tokens(s, body) {
  return { ...s, access_token: body.access_token, refresh_token: body.refresh_token,
    expires_at: Date.now() + body.expires_in * 1000 };
}

export async function login(username, password) {
  const form = new URLSearchParams({ username, password });
  const resp = await fetch("/api/v1/auth/staff-token", { method: "POST", body: form });
  const body = await resp.json();
  if (!resp.ok) return { error: body };
  const me = await fetch("/api/v1/staff/me", { headers: { Authorization: `Bearer ${body.access_token}` } });
  const who = await me.json();
  if (!me.ok) return { error: who };
  const s = tokens({ role: who.role, username: who.username, region: who.region_code }, body);
  save(s);
  return { session: s, me: who };
}

async function refresh() {
  const s = load();
  if (!s) return null;
  if (!refreshing) {
    refreshing = fetch("/api/v1/auth/refresh", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: s.refresh_token }),
    }).then(async (resp) => {
      if (!resp.ok) { clear(); return null; }
      const next = tokens(s, await resp.json());
      save(next);
      return next;
    }).finally(() => { refreshing = null; });
  }
  return refreshing;
}

/** fetch with the bearer token; a token about to expire is refreshed first, a 401 once more, then the login. */
export async function api(path, options = {}) {
  lastActivity = Date.now();
  let s = load();
  if (!s) { toLogin(); throw new Error("not logged in"); }
  if (s.expires_at - Date.now() < REFRESH_BEFORE_MS) s = (await refresh()) || s;
  const send = (token) => fetch(path, { ...options, headers: { ...(options.headers || {}), Authorization: `Bearer ${token}` } });
  let resp = await send(s.access_token);
  if (resp.status === 401) {
    const again = await refresh();
    if (!again) { toLogin(); throw new Error("session ended"); }
    resp = await send(again.access_token);
  }
  return resp;
}

export async function json(path, options = {}) {
  const resp = await api(path, options);
  const body = resp.headers.get("content-type")?.includes("json") ? await resp.json() : null;
  return { ok: resp.ok, status: resp.status, body };
}

/** Keep the session alive while the page is used; an idle one runs out and goes back to the login. */
function keepAlive() {
  for (const ev of ["pointerdown", "keydown", "wheel", "touchstart"]) {
    addEventListener(ev, () => { lastActivity = Date.now(); }, { passive: true });
  }
  setInterval(async () => {
    const s = load();
    if (!s) return toLogin();
    const left = s.expires_at - Date.now();
    const idle = Date.now() - lastActivity;
    if (left < REFRESH_BEFORE_MS && idle < IDLE_MS) {
      if (!(await refresh())) toLogin();
    } else if (left <= 0) {
      clear();
      toLogin();
    }
  }, 15_000);
}

/** The page's session if its role may use the page; otherwise off to the login or to the role's own page. */
export function guard(roles) {
  const s = load();
  if (!s || s.expires_at <= Date.now()) { clear(); toLogin(); return null; }
  if (!roles.includes(s.role)) { location.replace(HOME[s.role] || "/staff/"); return null; }
  keepAlive();
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", () => { clear(); location.replace("/staff/"); });
  const who = document.getElementById("who");
  if (who) who.textContent = s.username;
  return s;
}

/** Download a file from the API with the page's session (a Blob and an <a download>). */
export async function download(path, filename) {
  const resp = await api(path);
  if (!resp.ok) return false;
  const blob = await resp.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  window.lastDownload = { filename, size: blob.size, type: blob.type, head: await blob.slice(0, 64).text() };
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return true;
}
