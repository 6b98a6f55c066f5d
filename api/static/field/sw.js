// The field page's service worker: keeps the page usable without network and sends recorded visits when the
// network returns (Background Sync where it exists; otherwise on the page's messages: `online`, a timer).
import { flush } from "./sender.js";

const SHELL_CACHE = "pension-cert-field-v1";
const SHELL = ["/staff/field/", "/staff/field/app.js", "/staff/field/db.js", "/staff/field/auth.js",
  "/staff/field/sender.js", "/staff/field/i18n.js", "/staff/field/field.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

// The page's files: network first (fresh when online), the cached copy in a dead zone. The API is not touched.
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((resp) => {
        if (resp.ok) {
          const copy = resp.clone();
          caches.open(SHELL_CACHE).then((c) => c.put(event.request, copy));
        }
        return resp;
      })
      .catch(() => caches.match(event.request).then((hit) => hit || Response.error())),
  );
});

async function tellPages() {
  const pages = await self.clients.matchAll({ type: "window" });
  for (const page of pages) page.postMessage({ type: "outbox-changed" });
}

self.addEventListener("sync", (event) => {
  if (event.tag === "field-outbox") event.waitUntil(flush(tellPages).then(tellPages));
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "flush") event.waitUntil(flush(tellPages).then(tellPages));
});
