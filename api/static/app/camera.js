// The camera: permission, live lighting and distance hints, and the recording (MediaRecorder, WebM).

export function support() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return 'unsupported';
  if (!('MediaRecorder' in window)) return 'unsupported';
  return 'ok';
}

export function recorderType() {
  const types = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm', 'video/mp4'];
  return types.find((type) => MediaRecorder.isTypeSupported(type)) || '';
}

// 'denied' (the person or the browser refused), 'missing' (no camera) or 'unsupported'.
export function problem(error) {
  const name = error && error.name;
  if (name === 'NotAllowedError' || name === 'SecurityError') return 'denied';
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'NotReadableError') return 'missing';
  return 'unsupported';
}

export async function open(video) {
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15, max: 30 } },
  });
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  await video.play();
  return stream;
}

export function close(stream) {
  if (stream) stream.getTracks().forEach((track) => track.stop());
}

// Mean brightness and the share of skin-coloured pixels inside the face outline, on a small copy of the frame.
export function lighting(video, canvas) {
  const w = 48, h = 64;
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!video.videoWidth) return null;
  const vw = video.videoWidth, vh = video.videoHeight;
  const sw = Math.min(vw, vh * 0.75), sh = sw / 0.75; // the 3:4 stage, centred
  ctx.drawImage(video, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, w, h);
  const data = ctx.getImageData(0, 0, w, h).data;
  let sum = 0, n = 0, skin = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = (x - w / 2) / (w * 0.35), dy = (y - h * 0.475) / (h * 0.35);
      if (dx * dx + dy * dy > 1) continue;
      const i = (y * w + x) * 4, r = data[i], g = data[i + 1], b = data[i + 2];
      const luma = 0.299 * r + 0.587 * g + 0.114 * b;
      const cb = 128 - 0.1687 * r - 0.3313 * g + 0.5 * b, cr = 128 + 0.5 * r - 0.4187 * g - 0.0813 * b;
      if (cb > 77 && cb < 127 && cr > 133 && cr < 173) skin++;
      sum += luma; n++;
    }
  }
  const mean = sum / n, skinShare = skin / n;
  let hint = 'hint_ok';
  if (mean < 60) hint = 'hint_dark';
  else if (mean > 215) hint = 'hint_bright';
  else if (skinShare < 0.12) hint = 'hint_far';
  return { mean: Math.round(mean), skin: Math.round(skinShare * 100) / 100, hint };
}

export function record(stream, seconds) {
  return new Promise((resolve, reject) => {
    const mimeType = recorderType();
    const recorder = new MediaRecorder(stream, mimeType ? { mimeType, videoBitsPerSecond: 1200000 } : {});
    const chunks = [];
    recorder.ondataavailable = (e) => { if (e.data && e.data.size) chunks.push(e.data); };
    recorder.onerror = (e) => reject(e.error || new Error('recorder'));
    recorder.onstop = () => resolve(new Blob(chunks, { type: (mimeType || 'video/webm').split(';')[0] }));
    recorder.start(500);
    setTimeout(() => recorder.state !== 'inactive' && recorder.stop(), seconds * 1000);
  });
}
