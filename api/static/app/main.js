// The pensioner app: hash routes, one task per screen; every screen talks to the public API only.
import { ApiError, LoginNeeded, call, tokens } from './api.js';
import { certifyScreens } from './certify.js';
import { button, field, h, show } from './dom.js';
import { lang, pick, setLang, t } from './i18n.js';
import { speak } from './speech.js';

const state = { me: null, nid: sessionStorage.getItem('pc_nid') || '', helper: false, notice: '' };
const PUBLIC = new Set(['login', 'code', 'verify']);

export function go(route) {
  if (location.hash === `#/${route}`) render();
  else location.hash = `#/${route}`;
}

// Back to login, keeping the place: after logging in the pensioner comes back to the same screen.
export function needLogin() {
  const place = location.hash.replace(/^#\//, '');
  if (place && !PUBLIC.has(place.split('/')[0])) sessionStorage.setItem('pc_place', place);
  state.notice = t('relogin');
  state.me = null;
  go('login');
}

export async function guard(work) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LoginNeeded) { needLogin(); return undefined; }
    throw error;
  }
}

export function errorText(error) {
  if (error instanceof ApiError && error.body && error.body.message) return pick(error.body.message, error.body.message_en);
  if (error instanceof ApiError && error.status === 0) return t('network');
  if (error instanceof TypeError) return t('network');
  return t('error_generic');
}

export async function me() {
  state.me ??= await call('GET', '/me');
  return state.me;
}

export function whose(person) {
  const vars = { name: person.name, nid: person.national_id_masked, phone: person.helper_phone_masked };
  return h('p', { class: 'whose', id: 'whose' }, t(person.helper_phone_masked ? 'whose_helper' : 'whose_self', vars));
}

function validNid(value) { return /^\d{17}[\dX]$/.test(value); }

function loginScreen() {
  const error = h('p', { class: 'error', id: 'error', role: 'alert' }, state.notice);
  state.notice = '';
  const [label, input] = field('nid', t('nid'), { inputmode: 'text', autocomplete: 'off', maxlength: 18, value: state.nid });
  async function send(helper) {
    const nid = input.value.trim().toUpperCase();
    if (!validNid(nid)) { error.textContent = t('bad_nid'); speak(t('bad_nid')); return; }
    try {
      await call('POST', '/auth/otp', { body: { national_id: nid, to_family_phone: helper }, auth: false });
      Object.assign(state, { nid, helper });
      sessionStorage.setItem('pc_nid', nid);
      go('code');
    } catch (e) { error.textContent = errorText(e); }
  }
  show('login', h('h1', {}, t('login_h')), h('p', {}, t('login_intro')), label, input, error,
    button(t('send_self'), () => send(false), { id: 'send-self' }),
    button(t('send_helper'), () => send(true), { id: 'send-helper', cls: 'secondary' }),
    h('p', { class: 'muted' }, t('helper_note')));
}

function codeScreen() {
  if (!state.nid) { go('login'); return; }
  const error = h('p', { class: 'error', id: 'error', role: 'alert' });
  const [label, input] = field('code', t('code'), { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8 });
  async function login() {
    const code = input.value.trim();
    if (!/^\d{4,8}$/.test(code)) { error.textContent = t('bad_code'); return; }
    try {
      tokens.set(await call('POST', '/auth/pensioner-token', { body: { national_id: state.nid, code }, auth: false }));
      state.me = null;
      const place = sessionStorage.getItem('pc_place');
      sessionStorage.removeItem('pc_place');
      go(place || 'status');
    } catch (e) { error.textContent = errorText(e); }
  }
  input.addEventListener('keydown', (e) => { if (e.key === 'Enter') login(); });
  show('code', h('h1', {}, t('code_h')), h('p', {}, t(state.helper ? 'code_sent_helper' : 'code_sent_self')),
    label, input, error, button(t('login'), login, { id: 'login' }),
    button(t('back'), () => go('login'), { cls: 'quiet' }));
}

function dateText(iso) {
  if (!iso) return '';
  const d = new Date(iso.length === 10 ? `${iso}T00:00:00` : iso);
  return lang() === 'en' ? d.toLocaleDateString('en-CA') : `${d.getFullYear()}年${d.getMonth() + 1}月${d.getDate()}日`;
}
export { dateText };

function rows(pairs, cls) {
  return h('dl', { class: cls }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function statusCard(st, visit) {
  const kind = { certified: 'ok', pending: 'warn', suspended: 'bad', on_hold: 'bad', terminated: 'bad' }[st.status] || '';
  const pairs = [];
  if (st.status === 'certified') pairs.push([t('certified_at'), dateText(st.certified_at)], [t('channel'), t(`ch_${st.channel}`)]);
  if (st.status === 'pending') {
    pairs.push([t('deadline'), dateText(st.deadline)]);
    pairs.push([t('days_left'), st.days_left >= 0 ? t('days', { n: st.days_left }) : t('overdue', { n: -st.days_left })]);
  }
  if (st.status === 'suspended') {
    pairs.push([t('suspended_since'), dateText(st.suspended_from)]);
    if (st.back_pay_months !== null && st.back_pay_months !== undefined) pairs.push([t('back_pay'), t('back_pay_months', { n: st.back_pay_months })]);
  }
  const card = h('section', { class: `card ${kind}`, id: 'status-card', 'data-status': st.status },
    h('p', { class: 'huge' }, t(`st_${st.status}`)), rows(pairs));
  if (st.status === 'suspended') card.append(h('p', { class: 'big' }, t('suspended_todo')));
  const booked = visit && visit.status === 'open'
    ? h('section', { class: 'card warn', id: 'visit-card' }, h('p', { class: 'big' }, t('visit_booked')), h('p', {}, t('visit_due', { date: dateText(visit.due_date) })))
    : null;
  return [card, booked];
}

async function statusScreen() {
  const person = await me();
  const [st, visit] = await Promise.all([call('GET', '/me/certification'), call('GET', '/me/home-visit-request')]);
  const actions = [];
  if (st.status === 'certified') actions.push(button(t('receipt_btn'), () => go('receipt'), { id: 'to-receipt' }));
  if (st.status === 'pending' || st.status === 'suspended') {
    actions.push(button(t('start'), () => go('certify'), { id: 'to-certify' }));
    actions.push(button(visit && visit.status === 'open' ? t('visit_status_btn') : t('visit_btn'), () => go('visit'), { id: 'to-visit', cls: 'secondary' }));
  }
  actions.push(button(t('channel_btn'), () => go('channel'), { cls: 'secondary', id: 'to-channel' }));
  actions.push(button(t('logout'), () => { tokens.clear(); state.me = null; go('login'); }, { cls: 'quiet', id: 'logout' }));
  // The main action comes right after the state, above the fold; the service's full message below it.
  show('status', h('h1', {}, t('status_h')), whose(person), statusCard(st, visit), actions.slice(0, 1),
    h('p', { id: 'status-message' }, pick(st.message, st.message_en)), actions.slice(1));
}

async function visitScreen() {
  const person = await me();
  const visit = await call('GET', '/me/home-visit-request');
  const error = h('p', { class: 'error', id: 'error', role: 'alert' });
  const parts = [h('h1', {}, t('visit_h')), whose(person)];
  if (visit && visit.status) {
    const text = { open: t('visit_open', { date: dateText(visit.due_date) }), done: t('visit_done'), cancelled: t('visit_cancelled') }[visit.status];
    parts.push(h('section', { class: 'card warn', id: 'visit-card', 'data-status': visit.status }, h('p', { class: 'big' }, text)));
  } else {
    const [label, input] = field('note', t('visit_note'), { maxlength: 200 });
    parts.push(h('p', {}, t('visit_text')), h('p', { id: 'visit-none' }, t('visit_none')), label, input, error,
      button(t('visit_submit'), async () => {
        try {
          await guard(() => call('POST', '/me/home-visit-request', { body: input.value.trim() ? { note: input.value.trim() } : {} }));
          render();
        } catch (e) { error.textContent = errorText(e); }
      }, { id: 'visit-submit' }));
  }
  parts.push(button(t('status_btn'), () => go('status'), { cls: 'quiet', id: 'to-status' }));
  show('visit', parts);
}

// How reminders and notices reach the pensioner: one big button per channel this service offers (SMS always).
async function channelScreen(saved) {
  const person = await me();
  const mine = await call('GET', '/me/preferred-channel');
  const error = h('p', { class: 'error', id: 'error', role: 'alert' });
  const nameOf = (o) => pick(o.name, o.name_en);
  const parts = [h('h1', {}, t('channel_h')), whose(person), h('p', {}, t('channel_intro'))];
  if (saved) {
    const chosen = mine.available.find((o) => o.channel === mine.sends_by);
    parts.push(h('section', { class: 'card ok', id: 'channel-saved', role: 'status' }, h('p', { class: 'big' }, t('channel_saved', { name: nameOf(chosen) }))));
  }
  if (mine.channel !== mine.sends_by) parts.push(h('p', { class: 'card warn', id: 'channel-not-offered' }, t('channel_not_offered')));
  const choose = async (channel) => {
    try {
      if (await guard(() => call('PUT', '/me/preferred-channel', { body: { channel } }))) await guard(() => channelScreen(true));
    } catch (e) { error.textContent = errorText(e); }
  };
  if (mine.available.length === 1) parts.push(h('p', { class: 'big', id: 'channel-only-sms' }, t('channel_only_sms')));
  else {
    parts.push(h('p', {}, t('channel_pick')));
    for (const o of mine.available) {
      const on = o.channel === mine.sends_by;
      parts.push(h('button', { type: 'button', class: on ? 'choice on' : 'choice secondary', id: `ch-${o.channel}`,
        'aria-pressed': String(on), 'data-channel': o.channel, onclick: () => choose(o.channel) },
      on ? `✓ ${nameOf(o)}${t('channel_current')}` : nameOf(o)));
    }
    parts.push(h('p', { class: 'muted' }, t('channel_fallback')));
  }
  parts.push(error, button(t('status_btn'), () => go('status'), { cls: 'quiet', id: 'to-status' }));
  show('channel', parts);
}

async function receiptScreen() {
  let receipt;
  try { receipt = await call('GET', '/me/certification/receipt'); } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
    show('receipt', h('h1', {}, t('receipt_h')), h('p', {}, t('receipt_none')), button(t('status_btn'), () => go('status')));
    return;
  }
  const download = async () => {
    const blob = await guard(() => call('GET', '/me/certification/receipt.pdf', { blob: true }));
    if (!blob) return;
    const link = h('a', { href: URL.createObjectURL(blob), download: `receipt-${receipt.certification_id}.pdf` });
    document.body.append(link); link.click(); link.remove();
  };
  show('receipt', h('article', { class: 'receipt', id: 'receipt' }, h('h1', {}, t('receipt_h')),
    rows([[t('receipt_name'), receipt.name], [t('receipt_nid'), receipt.national_id_masked], [t('receipt_year'), String(receipt.season_year)],
      [t('certified_at'), dateText(receipt.certified_at)], [t('channel'), t(`ch_${receipt.channel}`)],
      [t('receipt_id'), String(receipt.certification_id)], [t('receipt_code'), receipt.verification_code], [t('receipt_url'), receipt.verification_url]], 'stack')),
  button(t('receipt_pdf'), download, { id: 'receipt-pdf' }),
  button(t('receipt_print'), () => window.print(), { cls: 'secondary' }),
  button(t('status_btn'), () => go('status'), { cls: 'quiet' }));
}

async function verifyScreen(id, code) {
  let body = null;
  try { body = await call('GET', `/receipts/${encodeURIComponent(id)}?code=${encodeURIComponent(code || '')}`, { auth: false }); } catch (e) {
    if (!(e instanceof ApiError) || e.status >= 500) throw e;
  }
  const ok = body && body.valid;
  show('verify', h('h1', {}, t('verify_h')), h('section', { class: `card ${ok ? 'ok' : 'bad'}`, id: 'verify-card', 'data-valid': String(!!ok) },
    h('p', { class: 'huge' }, t(ok ? 'verify_ok' : 'verify_bad')),
    ok ? rows([[t('receipt_name'), body.name_masked], [t('receipt_nid'), body.national_id_masked], [t('receipt_year'), String(body.season_year)],
      [t('certified_at'), dateText(body.certified_at)], [t('channel'), t(`ch_${body.channel}`)]], 'stack') : null));
}

const certify = certifyScreens({ go, guard, me, whose, errorText, state });
const ROUTES = {
  login: loginScreen, code: codeScreen, status: statusScreen, visit: visitScreen, channel: () => channelScreen(false),
  receipt: receiptScreen,
  verify: verifyScreen, ...certify,
};

export async function render() {
  const [name, ...args] = (location.hash.replace(/^#\//, '') || 'status').split('/');
  const screen = ROUTES[name] || statusScreen;
  if (!PUBLIC.has(name) && !tokens.access && !tokens.refresh) { needLogin(); state.notice = ''; return; }
  try {
    await guard(() => screen(...args));
  } catch (error) {
    show('error', h('h1', {}, t('error_generic')), h('p', { class: 'error', id: 'error' }, errorText(error)),
      button(t('status_btn'), () => go('status')));
  }
}

function drawChrome() {
  document.getElementById('app-title').textContent = t('title');
  const switcher = document.getElementById('lang');
  switcher.textContent = lang() === 'en' ? '中文' : 'English';
  switcher.lang = lang() === 'en' ? 'zh-CN' : 'en';
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang() === 'en' ? 'zh' : 'en');
  drawChrome();
  render();
});
window.addEventListener('hashchange', render);
setLang(lang());
drawChrome();
render();
