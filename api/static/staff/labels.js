// One label table for every code the staff pages show: [Chinese, English].
export const LABELS = {
  // face-check decisions and app answers
  match: ["通过", "Match"], no_match: ["比对未通过", "No match"], retry: ["需重拍", "Retry"],
  rejected: ["照片不合格", "Photo rejected"], liveness_failed: ["活体检测未通过", "Liveness failed"],
  presentation_attack: ["疑似翻拍或假体", "Presentation attack"], certified: ["已认证", "Certified"],
  locked: ["今日尝试次数已满", "Locked for today"],
  // photo quality and matching reasons
  no_face: ["未检测到人脸", "No face"], multiple_faces: ["多张人脸", "Several faces"],
  face_too_small: ["人脸太小", "Face too small"], too_blurred: ["照片模糊", "Blurred"], too_dark: ["光线太暗", "Too dark"],
  too_bright: ["光线太强", "Too bright"], head_turned: ["头部偏转", "Head turned"],
  score_above_threshold: ["相似度不足", "Score above threshold"], borderline_score: ["相似度临界", "Borderline score"],
  closer_to_other_person: ["更像他人", "Closer to another person"], raw_distance_too_large: ["差异过大", "Distance too large"],
  no_cohort: ["比对人群不足", "No cohort"], cohort_too_small: ["比对人群不足", "Cohort too small"],
  replayed_frames: ["重复使用旧画面", "Replayed frames"], person_switch: ["中途换人", "Person switched"],
  static_sequence: ["画面静止", "Static sequence"], wrong_order: ["动作顺序不对", "Wrong order"],
  no_good_frame: ["没有清晰画面", "No good frame"], too_short: ["录制太短", "Too short"], too_long: ["录制太长", "Too long"],
  no_frames: ["没有画面", "No frames"], bad_frame: ["画面格式错误", "Bad frame"], bad_timestamps: ["画面时间错误", "Bad timestamps"],
  "action_missing:blink": ["未眨眼", "No blink"], "action_missing:open_mouth": ["未张嘴", "Mouth not opened"],
  "action_missing:turn_left": ["未向左转头", "No left turn"], "action_missing:turn_right": ["未向右转头", "No right turn"],
  "action_missing:nod": ["未点头", "No nod"],
  // failure buckets and age bands (why people fail)
  liveness: ["活体检测", "Liveness"], other: ["其他", "Other"],
  under_60: ["60岁以下", "Under 60"], "60_69": ["60–69岁", "60–69"], "70_79": ["70–79岁", "70–79"],
  "80_89": ["80–89岁", "80–89"], "90_plus": ["90岁及以上", "90+"],
  // channels
  app: ["手机认证", "App"], counter: ["柜台认证", "Counter"], home_visit: ["上门认证", "Home visit"],
  self_service_terminal: ["自助终端", "Self-service terminal"], data_comparison: ["数据比对", "Data comparison"],
  // message channels (how reminders and notices reach a person; SMS the fallback)
  sms: ["手机短信", "SMS"], push: ["App通知", "App notification"], wechat: ["微信消息", "WeChat"],
  // pension and season states
  active: ["正常发放", "Paid"], on_hold: ["暂停核实中", "On hold"], suspended: ["已暂停发放", "Suspended"],
  terminated: ["已终止", "Terminated"], pending: ["待认证", "Pending"], no_season: ["无认证期", "No season"],
  // home-visit tasks, reasons, outcomes, review flags
  open: ["待上门", "Open"], done: ["已完成", "Done"], cancelled: ["已取消", "Cancelled"],
  bedridden: ["卧床或行动不便", "Bedridden or limited mobility"], age_80: ["80周岁以上高龄", "Aged 80+"],
  failed_attempts: ["手机认证多次未通过", "Failed app attempts"], help_request: ["本人或家属申请", "Help requested"],
  deceased: ["已去世", "Deceased"], not_at_home: ["不在家", "Not at home"], hospitalised: ["住院", "In hospital"],
  moved: ["已迁出", "Moved"], refused: ["拒绝认证", "Refused"], accepted: ["已通过", "Accepted"],
  gps_missing: ["缺少定位", "No GPS"], gps_outside_city: ["定位不在本市", "GPS outside city"],
  gps_far_from_address: ["定位离住址过远", "GPS far from address"], photo_no_match: ["现场照片不符", "Photo no match"],
  photo_retry: ["现场照片需复核", "Photo unclear"], photo_rejected: ["现场照片不合格", "Photo rejected"],
  photo_enrolled_unmatched: ["新采集照片未比对", "Enrolled photo unmatched"],
  death_awaiting_review: ["死亡待核实", "Death awaiting review"], transfer_awaiting_review: ["迁出待核实", "Transfer awaiting review"],
  certification_held: ["认证待核实", "Certification held"], deceased_reported: ["报告死亡，待核实", "Death reported, to verify"],
  death_reported: ["报告死亡", "Death reported"], moved_out_of_city: ["迁出本市，待核实", "Moved out of the city, to verify"],
  awaiting_review: ["待督导复核", "Awaiting review"], own_visit_review: ["本人上门的复核", "Reviewing own visit"],
  photo_liveness_failed: ["现场照片活体未通过", "Photo liveness failed"],
  photo_presentation_attack: ["现场照片疑似翻拍", "Photo looks like a replay"],
  // at-risk reasons
  deadline_near: ["临近截止", "Deadline near"], visit_overdue: ["上门已逾期", "Visit overdue"],
  no_phone: ["无联系电话", "No phone"], home_visit_open: ["已安排上门", "Home visit open"],
  home_visit_escalated: ["上门已督办", "Visit escalated"], reminders_sent: ["已发提醒", "Reminders sent"],
  // roles, consent
  admin: ["管理员", "Admin"], supervisor: ["督导", "Supervisor"], field: ["上门工作人员", "Field worker"],
  counter_signature: ["柜台签字", "Signed at the counter"], paper_form: ["纸质同意书", "Paper form"],
  app_screen: ["手机确认", "In the app"], home_visit_form: ["上门同意书", "Home-visit form"],
  // levels
  city: ["市", "City"], district: ["区/县", "District"], town: ["街道/镇", "Town"], community: ["社区/村", "Community"],
};

const PATTERNS = [
  [/^reminder_d?(\d+)$/, (n) => [n === "0" ? "截止当天提醒" : `截止前${n}天提醒`, n === "0" ? "Reminder on the day" : `Reminder ${n} days before`]],
  [/^reminder_family$/, () => ["亲属提醒", "Family reminder"]],
];

let lang = localStorage.getItem("pension_cert.lang") || "zh";

export function currentLang() { return lang; }

export function setLang(value) {
  lang = value === "en" ? "en" : "zh";
  localStorage.setItem("pension_cert.lang", lang);
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  for (const el of document.querySelectorAll("[data-zh]")) {
    el.textContent = lang === "en" ? el.dataset.en : el.dataset.zh;
  }
  for (const el of document.querySelectorAll("[data-ph-zh]")) {
    el.placeholder = lang === "en" ? el.dataset.phEn : el.dataset.phZh;
  }
}

/** The label of a code in the page's language; an unknown code reads "其他" with the code in brackets. */
export function label(code) {
  if (code === null || code === undefined || code === "") return "—";
  const pair = LABELS[code] || PATTERNS.map(([re, fn]) => (re.test(code) ? fn(code.match(re)[1]) : null)).find(Boolean);
  if (!pair) return lang === "en" ? `Other (${code})` : `其他（${code}）`;
  return lang === "en" ? pair[1] : pair[0];
}

/** zh or en text by the page's language. */
export function tr(zh, en) { return lang === "en" ? en : zh; }

const TZ = "Asia/Shanghai";

/** A UTC timestamp shown in Beijing time. */
export function localTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso.endsWith("Z") || /[+-]\d\d:\d\d$/.test(iso) ? iso : iso + "Z");
  return new Intl.DateTimeFormat("zh-CN", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(d);
}

export function bindLangSwitch() {
  const button = document.getElementById("lang");
  if (button) button.addEventListener("click", () => { setLang(currentLang() === "zh" ? "en" : "zh"); document.dispatchEvent(new Event("langchange")); });
  setLang(lang);
}
