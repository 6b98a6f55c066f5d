// Reading aloud with the browser's own speech synthesis (zh-CN first); silent where there is none.
import { lang } from './i18n.js';

export function canSpeak() { return 'speechSynthesis' in window && 'SpeechSynthesisUtterance' in window; }

export function speak(text) {
  if (!canSpeak() || !text) return;
  const u = new SpeechSynthesisUtterance(text);
  u.lang = lang() === 'en' ? 'en-US' : 'zh-CN';
  u.rate = 0.85;
  const voice = speechSynthesis.getVoices().find((v) => v.lang.replace('_', '-').startsWith(u.lang.slice(0, 2)));
  if (voice) u.voice = voice;
  speechSynthesis.cancel();
  speechSynthesis.speak(u);
  window.__spoken = [...(window.__spoken || []), text]; // what was read aloud (tests look at it)
}

export function stop() { if (canSpeak()) speechSynthesis.cancel(); }
