// Sending the outbox: each visit once, with its own Idempotency-Key (a retry gets the first answer back).
import { accessToken } from "./auth.js";
import { STORES, all, del, put } from "./db.js";

const FILES = ["photo", "form_scan", "death_certificate"];
let running = null;

function body(item) {
  const form = new FormData();
  for (const [name, value] of Object.entries(item.fields)) {
    if (value !== null && value !== undefined && value !== "") form.append(name, String(value));
  }
  for (const name of FILES) {
    if (item.files && item.files[name]) form.append(name, item.files[name], `${name}.jpg`);
  }
  return form;
}

async function post(item, token) {
  return fetch(`/api/v1/home-visits/${item.task_id}/visits`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Idempotency-Key": item.key },
    body: body(item),
  });
}

async function sendOne(item) {
  let token = await accessToken();
  if (!token) return { ...item, state: "waiting", note: "login" };
  let resp = await post(item, token);
  if (resp.status === 401) {
    token = await accessToken({ force: true });
    if (!token) return { ...item, state: "waiting", note: "login" };
    resp = await post(item, token);
  }
  const answer = await resp.json().catch(() => ({}));
  if (resp.status === 201) return { ...item, state: "sent", result: answer, sent_at: Date.now() };
  if (resp.status >= 500 || resp.status === 429) return { ...item, state: "waiting", note: "server" };
  // Refused for good (already recorded from another device, task closed, bad input): the worker is told.
  return { ...item, state: "refused", error: { status: resp.status, ...answer } };
}

async function flushOnce(notify) {
  const items = (await all(STORES.outbox)).filter((i) => i.state === "waiting").sort((a, b) => a.created_at - b.created_at);
  let sent = 0;
  for (const item of items) {
    let next;
    try {
      next = await sendOne(item);
    } catch {
      next = { ...item, state: "waiting", note: "offline", attempts: (item.attempts || 0) + 1 };
    }
    if (next.state === "sent") {
      await put(STORES.sent, { key: next.key, task_id: next.task_id, name: next.name, outcome: next.outcome, sent_at: next.sent_at, visit_id: next.result.id });
      await del(STORES.outbox, next.key);
      sent += 1;
    } else {
      await put(STORES.outbox, next);
    }
    notify();
    if (next.note === "offline") break; // no network: the rest waits for the next try
  }
  return sent;
}

// Send what is waiting; concurrent calls share one run.
export function flush(notify = () => {}) {
  if (!running) running = flushOnce(notify).finally(() => { running = null; });
  return running;
}
