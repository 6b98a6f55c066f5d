// The public API the page uses (the same a phone app would): tokens in sessionStorage, refreshed once on a 401.
const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(status, body, headers) {
    super(body?.message_en || body?.code || `HTTP ${status}`);
    this.status = status;
    this.code = body?.code || `http_${status}`;
    this.body = body || {};
    this.retryAfter = Number(headers?.get?.('Retry-After') || headers?.retryAfter || 0);
  }
}

export class LoginNeeded extends Error {}

export function deviceId() {
  let id = localStorage.getItem('pc_device');
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem('pc_device', id);
  }
  return id;
}

export const tokens = {
  get access() { return sessionStorage.getItem('pc_access'); },
  get refresh() { return sessionStorage.getItem('pc_refresh'); },
  set(pair) {
    sessionStorage.setItem('pc_access', pair.access_token);
    sessionStorage.setItem('pc_refresh', pair.refresh_token);
  },
  clear() {
    sessionStorage.removeItem('pc_access');
    sessionStorage.removeItem('pc_refresh');
  },
};

async function raw(method, path, { body, auth = true } = {}) {
  const headers = { 'X-Device-Id': deviceId() };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && tokens.access) headers.Authorization = `Bearer ${tokens.access}`;
  const resp = await fetch(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return resp;
}

let refreshing = null;

// One refresh at a time; a refused refresh means the login is over.
export async function refresh() {
  if (!tokens.refresh) throw new LoginNeeded();
  refreshing ??= (async () => {
    try {
      const resp = await raw('POST', '/auth/refresh', { body: { refresh_token: tokens.refresh }, auth: false });
      if (!resp.ok) { tokens.clear(); throw new LoginNeeded(); }
      tokens.set(await resp.json());
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function parse(resp) {
  const type = resp.headers.get('Content-Type') || '';
  return type.includes('json') ? resp.json() : null;
}

export async function call(method, path, { body, auth = true, blob = false } = {}) {
  let resp = await raw(method, path, { body, auth });
  if (resp.status === 401 && auth) {
    await refresh();
    resp = await raw(method, path, { body, auth });
    if (resp.status === 401) { tokens.clear(); throw new LoginNeeded(); }
  }
  if (!resp.ok) throw new ApiError(resp.status, await parse(resp), resp.headers);
  if (blob) return resp.blob();
  return parse(resp);
}

// multipart upload with progress (XMLHttpRequest: fetch has no upload progress); the same key on every retry.
export function upload(path, form, { key, onProgress }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', BASE + path);
    xhr.setRequestHeader('Authorization', `Bearer ${tokens.access}`);
    xhr.setRequestHeader('Idempotency-Key', key);
    xhr.setRequestHeader('X-Device-Id', deviceId());
    xhr.responseType = 'json';
    xhr.timeout = 180000;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.upload.onload = () => onProgress(1);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response);
      else reject(new ApiError(xhr.status, xhr.response, { retryAfter: xhr.getResponseHeader('Retry-After') }));
    };
    xhr.onerror = () => reject(new ApiError(0, { code: 'network' }));
    xhr.ontimeout = () => reject(new ApiError(0, { code: 'network' }));
    xhr.send(form);
  });
}
