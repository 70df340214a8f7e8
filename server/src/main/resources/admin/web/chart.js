// A small line chart drawn as SVG elements (no library, no markup strings): one polyline per series over the day.
const NS = 'http://www.w3.org/2000/svg';

function node(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// points: [{at, in, out, ...}] oldest first; series: names drawn, each with the CSS class of its name.
export function lineChart(svg, points, series, { width = 720, height = 220, hours = 24 } = {}) {
  svg.replaceChildren();
  const pad = { l: 40, r: 10, t: 10, b: 24 };
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  const end = Date.now();
  const start = end - hours * 3600 * 1000;
  const max = Math.max(1, ...points.flatMap((p) => series.map((s) => p[s] || 0)));
  const top = niceTop(max);
  const x = (t) => pad.l + ((t - start) / (end - start)) * (width - pad.l - pad.r);
  const y = (v) => height - pad.b - (v / top) * (height - pad.t - pad.b);
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    svg.appendChild(node('line', { class: 'grid', x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v) }));
    svg.appendChild(node('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, formatCount(v)));
  }
  for (let h = 0; h <= hours; h += 6) {
    const t = start + h * 3600 * 1000;
    const label = h === hours ? 'now' : `-${hours - h} h`;
    svg.appendChild(node('text', { x: x(t), y: height - 6, 'text-anchor': 'middle' }, label));
  }
  svg.appendChild(node('line', { class: 'axis', x1: pad.l, x2: width - pad.r, y1: y(0), y2: y(0) }));
  for (const s of series) {
    const coords = points.filter((p) => Date.parse(p.at) >= start)
      .map((p) => `${x(Date.parse(p.at)).toFixed(1)},${y(p[s] || 0).toFixed(1)}`);
    if (coords.length > 1) svg.appendChild(node('polyline', { class: s, points: coords.join(' ') }));
    if (coords.length) {
      // the latest point (the step under way), also the only one on a server started minutes ago
      const [cx, cy] = coords[coords.length - 1].split(',');
      svg.appendChild(node('circle', { class: `${s} dot`, cx, cy, r: 3.5 }));
    }
  }
}

function niceTop(max) {
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

function formatCount(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
