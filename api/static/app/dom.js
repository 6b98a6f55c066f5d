// A few helpers to draw a screen: h() builds elements (text only, never HTML strings), show() replaces the screen.
import { t } from './i18n.js';
import { speak } from './speech.js';

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// What "read aloud" says: the headings, paragraphs and values of the screen, in order.
export function screenText(root) {
  return [...root.querySelectorAll('h1, h2, p, .huge, .hint, dt, dd, li')]
    .map((el) => el.textContent.trim()).filter(Boolean).join('。');
}

export function speakButton() {
  return h('button', { type: 'button', class: 'speak', id: 'speak', onclick: () => speak(screenText(document.getElementById('screen'))) },
    h('img', { src: '/app/img/speaker.svg', alt: '', width: 28, height: 28, class: 'icon' }), t('speak'));
}

export function show(name, ...children) {
  const main = document.getElementById('screen');
  main.replaceChildren(...children.flat(Infinity).filter(Boolean), speakButton());
  main.dataset.screen = name;
  main.classList.remove('recording');
  document.title = `${t('title')}`;
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

export function button(label, onclick, { cls = '', id } = {}) {
  return h('button', { type: 'button', class: cls, id, onclick }, label);
}

export function field(id, label, attrs = {}) {
  return [h('label', { for: id }, label), h('input', { id, name: id, ...attrs })];
}
