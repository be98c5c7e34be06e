// Bar charts as SVG (attributes and classes only: the CSP forbids inline styles).
import { s } from '/shared/dom.js';

/** Bars of an energy series [{label, kwh}]; every bar has a <title> with its value. */
export function usageChart(series, { width = 560, height = 180 } = {}) {
  const values = series.map((p) => Number(p.kwh) || 0);
  const max = Math.max(...values, 0.001);
  const pad = { left: 36, right: 8, top: 10, bottom: 26 };
  const inner = { w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
  const step = inner.w / Math.max(series.length, 1);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': '用电量柱状图' });
  svg.append(s('line', { class: 'axis', x1: pad.left, y1: pad.top + inner.h, x2: width - pad.right, y2: pad.top + inner.h }));
  svg.append(s('text', { class: 'tick', x: pad.left - 4, y: pad.top + 8, 'text-anchor': 'end' }, trim(max)));
  svg.append(s('text', { class: 'tick', x: pad.left - 4, y: pad.top + inner.h, 'text-anchor': 'end' }, '0'));
  const labelEvery = Math.ceil(series.length / 8);
  series.forEach((point, i) => {
    const h = (values[i] / max) * inner.h;
    const x = pad.left + i * step + step * 0.15;
    const bar = s('rect', { class: 'bar', x, y: pad.top + inner.h - h, width: Math.max(step * 0.7, 1), height: h });
    bar.append(s('title', {}, `${point.label}: ${point.kwh} 度`));
    svg.append(bar);
    if (i % labelEvery === 0) {
      svg.append(s('text', { class: 'tick', x: x + step * 0.35, y: height - 8, 'text-anchor': 'middle' }, point.label));
    }
  });
  return svg;
}

/** Two horizontal bars: monthly saving against monthly payment. */
export function versusChart(saving, payment, { width = 420 } = {}) {
  const a = Number(saving) || 0;
  const b = Number(payment) || 0;
  const max = Math.max(a, b, 0.001);
  const rows = [
    ['每月省电', a, 'bar saving'],
    ['每月月供', b, 'bar payment'],
  ];
  const svg = s('svg', { class: 'chart versus', viewBox: `0 0 ${width} 76`, role: 'img', 'aria-label': '每月省电与月供对比' });
  rows.forEach(([label, value, cls], i) => {
    const y = 6 + i * 36;
    const w = ((width - 170) * value) / max;
    svg.append(s('text', { class: 'tick', x: 0, y: y + 18 }, label));
    svg.append(s('rect', { class: cls, x: 72, y, width: Math.max(w, 1), height: 26 }));
    svg.append(s('text', { class: 'value', x: 80 + w, y: y + 18 }, `¥${value.toFixed(2)}`));
  });
  return svg;
}

function trim(value) {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}
