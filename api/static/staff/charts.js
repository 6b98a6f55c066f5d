// Small SVG charts whose labels never overlap: each label is measured and moved to a free row, or hidden.
const NS = "http://www.w3.org/2000/svg";

export function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = text;
  return node;
}

function overlaps(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** Keep labels of `group` inside the chart and apart: shift at the edges, move down a row, or hide. */
export function declutter(svg, labels, { rows = 3, rowHeight = 16, fixed = [] } = {}) {
  const width = svg.viewBox.baseVal.width;
  const placed = fixed.map((f) => f.getBBox());  // labels that stay where they are (axis values)
  for (const label of labels) {
    const y0 = Number(label.getAttribute("y"));
    let box = label.getBBox();
    if (box.x < 2) { label.setAttribute("text-anchor", "start"); label.setAttribute("x", String(Number(label.getAttribute("x")) - box.x + 2)); }
    box = label.getBBox();
    if (box.x + box.width > width - 2) { label.setAttribute("text-anchor", "end"); label.setAttribute("x", String(width - 2)); }
    let ok = false;
    for (let row = 0; row < rows && !ok; row++) {
      label.setAttribute("y", String(y0 + row * rowHeight));
      box = label.getBBox();
      ok = !placed.some((other) => overlaps(box, other));
    }
    if (ok) placed.push(label.getBBox());
    else label.setAttribute("visibility", "hidden");
  }
}

const dayMs = 86_400_000;
const asDay = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10));
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);

/** Daily certifications (bars), the share certified (line), days-left ticks and today. */
export function trendChart(svg, s, tr) {
  svg.replaceChildren();
  const W = 1180, left = 56, right = 20, top = 30, bottom = 190;
  const today = asDay(s.today), deadline = s.deadline ? asDay(s.deadline) : today;
  const first = s.trend.length ? asDay(s.trend[0].day) : today;
  const start = Math.min(first, today, deadline - 30 * dayMs), end = Math.max(deadline, today);
  const span = Math.round((end - start) / dayMs) + 1, step = (W - left - right) / span;
  const x = (ms) => left + ((ms - start) / dayMs) * step;
  const peak = Math.max(1, ...s.trend.map((p) => p.certified));
  svg.append(el("line", { x1: left, x2: W - right, y1: bottom, y2: bottom, class: "axis" }));
  const axis = [el("text", { x: left - 6, y: top + 10, class: "tick", "text-anchor": "end" }, String(peak)),
    el("text", { x: left - 6, y: bottom, class: "tick", "text-anchor": "end" }, "0")];
  svg.append(...axis);
  let total = 0;
  const points = [];
  for (const p of s.trend) {
    const h = ((bottom - top) * p.certified) / peak, d = asDay(p.day);
    const bar = el("rect", { x: x(d), y: bottom - h, width: Math.max(step - 1, 1), height: h, class: "bar" });
    bar.append(el("title", {}, `${p.day}: ${p.certified}`));
    svg.append(bar);
    total += p.certified;
    if (d <= today) points.push(`${(x(d) + step / 2).toFixed(1)},${(bottom - ((bottom - top) * total) / Math.max(s.pensioners, 1)).toFixed(1)}`);
  }
  if (points.length) svg.append(el("polyline", { points: points.join(" "), class: "share" }));
  const labels = [];
  for (const n of [90, 60, 30, 14, 7, 0]) {
    const d = deadline - n * dayMs;
    if (d < start || d > end) continue;
    const cx = x(d) + step / 2;
    svg.append(el("line", { x1: cx, x2: cx, y1: top, y2: bottom, class: n === s.risk_days_left ? "risk-line" : "grid" }));
    labels.push(el("text", { x: cx, y: bottom + 18, class: "tick", "text-anchor": "middle", "data-tick": n },
      n === 0 ? tr("截止", "Deadline") : tr(`剩${n}天`, `${n} days left`)));
  }
  const tx = x(today) + step / 2;
  svg.append(el("line", { x1: tx, x2: tx, y1: top, y2: bottom, class: "today" }));
  labels.push(el("text", { x: tx, y: bottom + 18, class: "tick today-label", "text-anchor": "middle", "data-tick": "today" }, tr("今天", "Today")));
  labels.push(el("text", { x: left, y: bottom + 64, class: "tick", "text-anchor": "start" }, iso(start)));
  labels.push(el("text", { x: W - right, y: bottom + 64, class: "tick", "text-anchor": "end" }, iso(end)));
  labels.sort((a, b) => Number(a.getAttribute("x")) - Number(b.getAttribute("x")));
  for (const label of labels) svg.append(label);
  declutter(svg, labels.filter((l) => l.dataset.tick !== undefined), { fixed: axis });
  svg.append(el("text", { x: W - right, y: 14, class: "legend", "text-anchor": "end" },
    tr("柱：每日认证人数　线：累计认证比例", "Bars: certified per day   Line: share certified")));
}

/** Horizontal bars per child region: certified, pending, at risk. */
export function childrenChart(svg, children, tr, colours) {
  svg.replaceChildren();
  const W = 1180, nameW = 200, row = 30, top = 28;
  const height = top + Math.max(children.length, 1) * row + 10;
  svg.setAttribute("viewBox", `0 0 ${W} ${height}`);
  const peak = Math.max(1, ...children.map((c) => c.pensioners));
  const scale = (W - nameW - 140) / peak;
  const keys = [["certified", tr("已认证", "Certified")], ["pending", tr("待认证", "Pending")], ["at_risk", tr("其中高风险", "of which at risk")]];
  keys.forEach(([k, name], i) => {
    svg.append(el("rect", { x: nameW + i * 170, y: 6, width: 14, height: 14, fill: colours[k] }));
    svg.append(el("text", { x: nameW + i * 170 + 20, y: 18, class: "legend" }, name));
  });
  children.forEach((c, i) => {
    const y = top + i * row;
    const name = el("text", { x: nameW - 8, y: y + 19, class: "tick", "text-anchor": "end", "data-child": c.region }, c.name);
    svg.append(name);
    while (name.getComputedTextLength() > nameW - 12 && name.textContent.length > 2) name.textContent = name.textContent.slice(0, -2) + "…";
    const done = c.certified * scale, wait = c.pending * scale, risk = c.at_risk * scale;
    svg.append(el("rect", { x: nameW, y: y + 5, width: done, height: 20, fill: colours.certified }));
    svg.append(el("rect", { x: nameW + done, y: y + 5, width: wait, height: 20, fill: colours.pending }));
    svg.append(el("rect", { x: nameW + done + wait - risk, y: y + 5, width: risk, height: 20, fill: colours.at_risk }));
    svg.append(el("text", { x: nameW + done + wait + 8, y: y + 19, class: "tick" }, `${c.certified}/${c.pensioners}`));
  });
}

/** Stacked bars of failed attempts per week, by reason. */
export function weeksChart(svg, weeks, reasons, colours, label, tr) {
  svg.replaceChildren();
  const W = 600, left = 40, right = 10, top = 28, bottom = 200;
  const peak = Math.max(1, ...weeks.map((w) => w.total));
  const step = (W - left - right) / Math.max(weeks.length, 1);
  svg.append(el("line", { x1: left, x2: W - right, y1: bottom, y2: bottom, class: "axis" }));
  const axis = el("text", { x: left - 6, y: top + 10, class: "tick", "text-anchor": "end" }, String(peak));
  svg.append(axis);
  const labels = [];
  weeks.forEach((w, i) => {
    let y = bottom;
    for (const r of reasons) {
      const h = ((bottom - top) * (w.by_reason[r] || 0)) / peak;
      if (!h) continue;
      y -= h;
      const bar = el("rect", { x: left + i * step + 2, y, width: Math.max(step - 4, 1), height: h, fill: colours[r] });
      bar.append(el("title", {}, `${w.week_start} ${label(r)}: ${w.by_reason[r]}`));
      svg.append(bar);
    }
    const t = el("text", { x: left + i * step + step / 2, y: bottom + 16, class: "tick", "text-anchor": "middle", "data-week": w.week_start },
      `${+w.week_start.slice(5, 7)}/${+w.week_start.slice(8, 10)}`);
    svg.append(t);
    labels.push(t);
  });
  declutter(svg, labels, { rows: 2, fixed: [axis] });
  if (!weeks.some((w) => w.total)) {
    svg.append(el("text", { x: (left + W - right) / 2, y: (top + bottom) / 2, class: "legend", "text-anchor": "middle" },
      tr("本认证期暂无手机认证失败", "No failed app attempts this season")));
  }
  reasons.forEach((r, i) => {
    const x = left + (i % 3) * 180, y = bottom + 42 + Math.floor(i / 3) * 18;
    svg.append(el("rect", { x, y: y - 11, width: 12, height: 12, fill: colours[r] }));
    svg.append(el("text", { x: x + 16, y, class: "legend" }, label(r)));
  });
  svg.append(el("text", { x: W - right, y: 14, class: "legend", "text-anchor": "end" }, tr("按周（每周首日）", "By week (first day)")));
}
