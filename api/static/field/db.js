// IndexedDB shared by the page and the service worker: the staff token, the outbox of visits, cached tasks.
const DB_NAME = "pension_cert_field";
const VERSION = 1;
export const STORES = { auth: "auth", outbox: "outbox", sent: "sent", cache: "cache" };

let opening = null;

export function openDb() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore(STORES.auth);
        db.createObjectStore(STORES.cache);
        db.createObjectStore(STORES.outbox, { keyPath: "key" });
        db.createObjectStore(STORES.sent, { keyPath: "key" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => { opening = null; reject(req.error); };
    });
  }
  return opening;
}

function run(store, mode, action) {
  return openDb().then((db) => new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const req = action(tx.objectStore(store));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  }));
}

export const get = (store, key) => run(store, "readonly", (s) => s.get(key));
export const put = (store, value, key) => run(store, "readwrite", (s) => (key === undefined ? s.put(value) : s.put(value, key)));
export const del = (store, key) => run(store, "readwrite", (s) => s.delete(key));
export const all = (store) => run(store, "readonly", (s) => s.getAll());
