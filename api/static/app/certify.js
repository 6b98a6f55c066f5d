// Certify by face: camera permission, face outline with live hints, spoken steps, upload, the answer.
import { ApiError, LoginNeeded, call, refresh, upload } from './api.js';
import * as camera from './camera.js';
import { button, h, show } from './dom.js';
import { pick, t } from './i18n.js';
import { speak, stop } from './speech.js';

const LEAD_SECONDS = 1.5;
const RETRY_STATUS = new Set([0, 500, 502, 504]); // a dropped connection or a gateway in between: send it again

export function certifyScreens({ go, guard, me, whose, errorText, state }) {
  let stream = null;
  let hintTimer = 0;
  state.perAction ??= 4;

  function release() {
    clearInterval(hintTimer);
    camera.close(stream);
    stream = null;
  }
  window.addEventListener('hashchange', () => { if (!location.hash.startsWith('#/camera')) release(); });

  async function permission() {
    if (camera.support() !== 'ok') { go('camera-problem/unsupported'); return; }
    const person = await me();
    show('certify', h('h1', {}, t('perm_h')), whose(person), h('p', { class: 'big' }, t('perm_text')),
      h('img', { class: 'picture', src: '/app/img/allow-camera.svg', alt: t('perm_text'), width: 320, height: 240 }),
      button(t('perm_btn'), () => go('camera'), { id: 'open-camera' }),
      button(t('visit_btn'), () => go('visit'), { cls: 'secondary' }));
    speak(t('perm_text'));
  }

  function limitText() {
    const minutes = Math.max(1, Math.round((state.challengeTtl || 120) / 60));
    return t('limit', { n: '2–3', s: state.perAction, m: minutes });
  }

  async function preview() {
    if (camera.support() !== 'ok') { go('camera-problem/unsupported'); return; }
    const video = h('video', { id: 'preview', autoplay: true, muted: true, playsinline: true });
    const hint = h('p', { class: 'hint', id: 'hint', role: 'status' }, t('hint_wait'));
    const limit = h('p', { id: 'limit', class: 'tips' }, limitText());
    const slower = button(t('slower', { s: 6 }), () => { state.perAction = 6; limit.textContent = limitText(); slower.remove(); }, { cls: 'quiet', id: 'slower' });
    const ready = button(t('ready'), () => run(video, hint, ready), { id: 'ready' });
    const steps = h('div', { id: 'steps', 'aria-live': 'assertive' });
    show('camera', h('h1', {}, t('cam_h')), h('div', { class: 'split' },
      h('div', { class: 'stage' }, video, h('img', { src: '/app/img/face-outline.svg', alt: '' })),
      h('div', {}, hint, steps, ready, limit, state.perAction < 6 ? slower : null, h('p', { class: 'tips' }, t('cam_tips')))));
    try {
      stream = await camera.open(video);
    } catch (error) {
      release();
      go(`camera-problem/${camera.problem(error)}`);
      return;
    }
    const canvas = document.createElement('canvas');
    let last = '';
    hintTimer = setInterval(() => {
      const seen = camera.lighting(video, canvas);
      if (!seen) return;
      hint.textContent = t(seen.hint);
      hint.className = `hint ${seen.hint === 'hint_ok' ? 'ok' : 'bad'}`;
      hint.dataset.hint = seen.hint;
      if (seen.hint !== last && seen.hint !== 'hint_ok') speak(t(seen.hint));
      last = seen.hint;
    }, 400);
    speak(t('cam_tips'));
  }

  function countdown(steps, text, index, total, seconds) {
    return new Promise((resolve) => {
      const left = h('p', { class: 'countdown', id: 'countdown' }, String(seconds));
      steps.replaceChildren(index ? h('p', { class: 'big', id: 'step-of' }, t('step_of', { i: index, n: total })) : null,
        h('p', { class: 'huge', id: 'step' }, text), left);
      speak(text);
      let n = seconds;
      const timer = setInterval(() => {
        n -= 1;
        left.textContent = String(Math.max(n, 0));
        if (n <= 0) { clearInterval(timer); resolve(); }
      }, 1000);
    });
  }

  async function run(video, hint, ready) {
    ready.disabled = true;
    let challenge;
    try {
      challenge = await guard(() => call('POST', '/me/liveness-challenges', { body: {} }));
    } catch (error) {
      ready.disabled = false;
      hint.textContent = errorText(error);
      hint.className = 'hint bad';
      return;
    }
    if (!challenge) return;
    clearInterval(hintTimer);
    const steps = document.getElementById('steps');
    document.getElementById('slower')?.remove();
    ready.remove();
    document.getElementById('screen').classList.add('recording');
    const seconds = LEAD_SECONDS + challenge.actions.length * state.perAction;
    const recording = camera.record(stream, Math.min(seconds, challenge.capture.max_video_seconds - 0.5));
    await countdown(steps, t('get_ready'), 0, 0, 1);
    for (const [i, action] of challenge.actions.entries()) {
      await countdown(steps, t(`act_${action}`), i + 1, challenge.actions.length, state.perAction);
    }
    const blob = await recording;
    release();
    state.pending = { blob, key: crypto.randomUUID(), challengeId: challenge.challenge_id, tries: 0 };
    go('upload');
  }

  function form(pending) {
    const body = new FormData();
    body.append('challenge_id', pending.challengeId);
    body.append('mirrored', 'false');
    body.append('video', pending.blob, pending.blob.type.includes('mp4') ? 'answer.mp4' : 'answer.webm');
    return body;
  }

  function wait(seconds, note, text) {
    return new Promise((resolve) => {
      let n = seconds;
      note.textContent = text(n);
      const timer = setInterval(() => {
        n -= 1;
        note.textContent = text(Math.max(n, 0));
        if (n <= 0) { clearInterval(timer); if (again) again.hidden = true; resolve(); }
      }, 1000);
      const again = document.getElementById('upload-again');
      if (again) {
        again.hidden = false;
        again.addEventListener('click', () => { clearInterval(timer); again.hidden = true; resolve(); }, { once: true });
      }
    });
  }

  // Sends the same recording with the same Idempotency-Key until an answer arrives: a retry never certifies twice.
  async function send(pending, bar, note) {
    for (;;) {
      try {
        pending.tries += 1;
        return await upload('/me/certifications', form(pending), {
          key: pending.key,
          onProgress: (share) => { bar.value = share; if (share >= 1) note.textContent = t('upload_checking'); },
        });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        if (error.status === 401) { await refresh(); continue; }
        if (RETRY_STATUS.has(error.status)) {
          await wait(Math.min(3 * pending.tries, 15), note, (s) => t('upload_dropped', { s }));
        } else if (error.status === 503 || (error.status === 409 && error.code === 'request_in_progress')) {
          await wait(error.retryAfter || 5, note, (s) => t('upload_busy', { s }));
        } else {
          throw error;
        }
        bar.value = 0;
      }
    }
  }

  async function uploadScreen() {
    const pending = state.pending;
    if (!pending) { go('certify'); return; }
    const bar = h('progress', { id: 'progress', max: 1, value: 0 });
    const note = h('p', { class: 'big', id: 'upload-note', role: 'status' }, t('upload_text'));
    show('upload', h('h1', {}, t('upload_h')), bar, note,
      h('button', { type: 'button', id: 'upload-again', class: 'secondary', hidden: true }, t('upload_again')));
    speak(t('upload_h'));
    try {
      state.result = await send(pending, bar, note);
      state.pending = null;
      go('result');
    } catch (error) {
      if (error instanceof LoginNeeded) throw error;
      state.pending = null;
      state.result = { decision: 'error', message: errorText(error), advice: [] };
      go('result');
    }
  }

  function nextSteps(decision) {
    const again = button(t('try_again'), () => go('camera'), { id: 'try-again' });
    const visit = button(t('visit_btn'), () => go('visit'), { id: 'to-visit', cls: 'secondary' });
    const office = h('p', { class: 'big', id: 'go-office' }, t('go_office'));
    if (decision === 'certified') return [button(t('receipt_btn'), () => go('receipt'), { id: 'to-receipt' })];
    if (decision === 'no_match' || decision === 'locked' || decision === 'presentation_attack') return [office, visit];
    return [again, office, visit];
  }

  async function result() {
    const answer = state.result;
    if (!answer) { go('status'); return; }
    if (answer.decision === 'certified') state.me = null;
    const ok = answer.decision === 'certified';
    const heading = answer.decision === 'error' ? t('error_generic') : t(`res_${answer.decision}`);
    const advice = (answer.advice || []).map((a) => h('li', { 'data-reason': a.reason }, pick(a.zh, a.en)));
    show('result', h('section', { class: `card ${ok ? 'ok' : 'bad'}`, id: 'result', 'data-decision': answer.decision },
      h('p', { class: 'huge' }, heading),
      ok ? h('p', { class: 'big' }, t('res_certified_text')) : null,
      answer.message ? h('p', { class: 'error' }, answer.message) : null,
      advice.length ? h('ul', { class: 'steps', id: 'advice' }, advice) : null),
    h('h2', {}, t('next_h')), nextSteps(answer.decision),
    button(t('status_btn'), () => go('status'), { cls: 'quiet', id: 'to-status' }));
    speak([heading, ...advice.map((li) => li.textContent)].join('。'));
  }

  function problem(kind) {
    stop();
    const text = { denied: t('cam_denied'), missing: t('cam_missing') }[kind] || t('cam_unsupported');
    show('camera-problem', h('h1', {}, t('cam_denied_h')),
      h('img', { class: 'picture small', src: '/app/img/no-camera.svg', alt: '', width: 120, height: 84 }),
      h('p', { class: 'big', id: 'problem', 'data-kind': kind || 'unsupported' }, text),
      button(t('visit_btn'), () => go('visit'), { id: 'to-visit' }),
      kind === 'unsupported' ? null : button(t('cam_retry'), () => go('camera'), { cls: 'secondary' }),
      button(t('status_btn'), () => go('status'), { cls: 'quiet' }));
    speak(text);
  }

  return { certify: permission, camera: preview, upload: uploadScreen, result, 'camera-problem': problem };
}
