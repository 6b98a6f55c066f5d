// Chinese first; English on request (kept in localStorage).
const TEXT = {
  zh: {
    title: "上门认证", online: "在线", offline: "离线", waiting_title: "待发送的走访", waiting_empty: "没有待发送的走访。",
    tasks_title: "我的任务（按截止日期）", back: "← 返回任务列表", outcome: "走访结果", death_date: "死亡日期",
    new_region: "新住址所在社区代码（12位）", next_due: "下次走访日期（可不填，默认3天后）",
    consent: "本人已签字同意拍照用于人脸比对", shoot_photo: "拍摄本人照片", shoot_form: "拍摄签字的认证表",
    photo: "本人照片", form_scan: "认证表", gps_retry: "重新定位", note: "备注", save: "保存并发送",
    loading: "正在读取任务…", no_tasks: "目前没有待走访的任务。", cached_tasks: "离线：显示上次读取的任务（{time}）。",
    tasks_failed: "无法读取任务，请稍后再试。", due: "截止 {date}", overdue: "已逾期", phone: "本人电话", family: "家属电话",
    map: "地图导航", coords_house: "住址坐标", coords_community: "社区坐标（无住址坐标）", no_coords: "暂无坐标",
    landmark: "标志物", record: "记录走访", camera_starting: "正在打开相机…", camera_ready: "相机已就绪。",
    camera_denied: "相机权限被拒绝：无法拍照，本次走访将交主管复核。",
    camera_unavailable: "相机不可用：无法拍照，本次走访将交主管复核。",
    gps_locating: "正在定位…", gps_ok: "定位成功：{lat}, {lon}（精度约 {acc} 米）",
    gps_inaccurate: "定位精度约 {acc} 米，超过 200 米：已记录原因，本次走访将交主管复核。",
    gps_denied: "定位权限被拒绝：已记录原因，本次走访将交主管复核。",
    gps_unavailable: "无法定位：已记录原因，本次走访将交主管复核。", gps_timeout: "定位超时：已记录原因，本次走访将交主管复核。",
    gps_unsupported: "此设备不支持定位：已记录原因，本次走访将交主管复核。",
    need_outcome: "请选择走访结果。", need_photo: "认证通过需要拍摄本人照片。", need_form: "认证通过需要拍摄签字的认证表。",
    need_death: "请填写死亡日期并拍摄死亡证明。", need_region: "请填写新住址所在社区代码（12位数字）。",
    saved: "已保存，有网络时自动发送。", st_waiting: "等待网络，恢复后自动发送", st_login: "登录已过期，请重新登录后自动发送",
    st_server: "服务器忙，稍后自动重试", st_refused: "未被接受：{msg}", remove: "移除", recorded_at: "记录于 {time}",
    sent_summary: "已发送 {n} 条走访。", already: "这次走访已由另一台设备记录（记录编号 {id}）。",
  },
  en: {
    title: "Home visits", online: "Online", offline: "Offline", waiting_title: "Visits waiting to be sent",
    waiting_empty: "Nothing is waiting to be sent.", tasks_title: "My tasks (by due date)", back: "← Back to tasks",
    outcome: "Outcome", death_date: "Date of death", new_region: "New community code (12 digits)",
    next_due: "Next visit (optional; 3 days later by default)", consent: "Signed consent to a photo for face matching",
    shoot_photo: "Photo of the pensioner", shoot_form: "Photo of the signed form", photo: "Pensioner", form_scan: "Form",
    gps_retry: "Locate again", note: "Notes", save: "Save and send", loading: "Loading tasks…",
    no_tasks: "No visits to make.", cached_tasks: "Offline: the tasks as last loaded ({time}).",
    tasks_failed: "Could not load the tasks; try again later.", due: "due {date}", overdue: "overdue", phone: "Phone",
    family: "Family", map: "Map", coords_house: "house position", coords_community: "community position (house unknown)",
    no_coords: "no position", landmark: "Landmark", record: "Record visit", camera_starting: "Starting the camera…",
    camera_ready: "Camera ready.", camera_denied: "Camera permission denied: no photo; this visit goes to review.",
    camera_unavailable: "No camera: no photo; this visit goes to review.", gps_locating: "Locating…",
    gps_ok: "Located: {lat}, {lon} (about {acc} m)",
    gps_inaccurate: "Accuracy about {acc} m, worse than 200 m: recorded; this visit goes to review.",
    gps_denied: "Location permission denied: recorded; this visit goes to review.",
    gps_unavailable: "No position: recorded; this visit goes to review.", gps_timeout: "Location timed out: recorded; this visit goes to review.",
    gps_unsupported: "No location on this device: recorded; this visit goes to review.",
    need_outcome: "Choose the outcome.", need_photo: "A certification needs the pensioner's photo.",
    need_form: "A certification needs a photo of the signed form.", need_death: "Enter the date of death and photograph the certificate.",
    need_region: "Enter the new community code (12 digits).", saved: "Saved; it is sent when there is network.",
    st_waiting: "Waiting for network; sent automatically", st_login: "Login expired; log in again and it is sent",
    st_server: "Server busy; retried automatically", st_refused: "Not accepted: {msg}", remove: "Remove",
    recorded_at: "recorded {time}", sent_summary: "{n} visit(s) sent.", already: "This visit was already recorded from another device (visit {id}).",
  },
};

export let lang = (self.localStorage && localStorage.getItem("pension_cert.lang")) || "zh";

export function setLang(value) {
  lang = value === "en" ? "en" : "zh";
  localStorage.setItem("pension_cert.lang", lang);
}

export function t(key, vars = {}) {
  const text = (TEXT[lang] && TEXT[lang][key]) || TEXT.zh[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : ""));
}

export function applyStatic(root = document) {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}
