// The staff token: written by the staff login (/staff/) to sessionStorage, mirrored into IndexedDB for the
// service worker; refreshed under a Web Lock so the page and the worker never rotate the same token twice.
import { STORES, get, put } from "./db.js";

export const SESSION_KEY = "pension_cert.staff";
const SKEW_MS = 60_000;

export async function mirrorFromSession() {
  const raw = self.sessionStorage ? sessionStorage.getItem(SESSION_KEY) : null;
  if (!raw) return null;
  let token;
  try { token = JSON.parse(raw); } catch { return null; }
  if (!token || !token.access_token) return null;
  const stored = await get(STORES.auth, "staff");
  if (!stored || (token.expires_at || 0) >= (stored.expires_at || 0)) {
    await put(STORES.auth, token, "staff");
    return token;
  }
  return stored;
}

async function withLock(name, fn) {
  if (self.navigator && navigator.locks) return navigator.locks.request(name, fn);
  return fn();
}

async function refresh(token) {
  const resp = await fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: token.refresh_token }),
  });
  if (!resp.ok) return { ...token, expired: true };
  const body = await resp.json();
  return {
    ...token,
    access_token: body.access_token,
    refresh_token: body.refresh_token,
    expires_at: Date.now() + body.expires_in * 1000,
    expired: false,
  };
}

// A valid access token, or null (nobody logged in, or the login ended).
export async function accessToken({ force = false } = {}) {
  return withLock("pension_cert.staff.refresh", async () => {
    const token = await get(STORES.auth, "staff");
    if (!token || token.expired) return null;
    if (!force && (token.expires_at || 0) - Date.now() > SKEW_MS) return token.access_token;
    const fresh = await refresh(token);
    await put(STORES.auth, fresh, "staff");
    if (self.sessionStorage && !fresh.expired) sessionStorage.setItem(SESSION_KEY, JSON.stringify(fresh));
    return fresh.expired ? null : fresh.access_token;
  });
}
