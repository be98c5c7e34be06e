// Flows: rules and stories drawn as a graph (intents left, actions right); a chosen flow's path or the
// last sandbox conversation highlighted; unused intents and responses listed.

import { api } from './api.js';
import { $, clear, h, s } from '/shared/dom.js';

let graph = null;

export function initFlows() {
  $('#flows-last').addEventListener('change', () => highlight());
  return { shown: load };
}

async function load() {
  graph = await api('GET', '/api/v1/studio/flows');
  const list = clear($('#flow-list'));
  for (const flow of graph.flows) {
    const item = h('li', { 'data-flow': flow.name },
      h('button', { type: 'button', class: 'link', onclick: () => { $('#flows-last').checked = false; highlight(flow); } },
        `${flow.kind === 'story' ? '故事' : '规则'}：${flow.name}`));
    list.append(item);
  }
  const unused = clear($('#flows-unused'));
  unused.append(h('h2', {}, '没用到的'),
    h('p', {}, `意图：${graph.unused.intents.join('、') || '没有'}`),
    h('p', {}, `回复：${graph.unused.responses.join('、') || '没有'}`));
  draw();
  highlight(graph.flows.find((f) => f.name === graph.headline));
}

function draw() {
  const intents = graph.nodes.filter((n) => n.id.startsWith('intent:'));
  const actions = graph.nodes.filter((n) => !n.id.startsWith('intent:'));
  const rowH = 26;
  const height = Math.max(intents.length, actions.length) * rowH + 20;
  const pos = {};
  intents.forEach((n, i) => { pos[n.id] = [170, 20 + i * rowH]; });
  actions.forEach((n, i) => { pos[n.id] = [560, 20 + i * rowH]; });
  const svg = s('svg', { id: 'flow-svg', viewBox: `0 0 760 ${height}`, width: '100%', role: 'img', 'aria-label': '流程图' });
  for (const e of graph.edges) {
    const [x1, y1] = pos[e.from];
    const [x2, y2] = pos[e.to];
    const d = `M${x1},${y1} C${(x1 + x2) / 2 + (x1 > x2 ? 60 : 0)},${y1} ${(x1 + x2) / 2 - (x1 > x2 ? 60 : 0)},${y2} ${x2},${y2}`;
    svg.append(s('path', { d, class: 'edge', 'data-from': e.from, 'data-to': e.to }));
  }
  for (const n of graph.nodes) {
    const [x, y] = pos[n.id];
    const [kind, name] = n.id.split(':');
    const anchor = kind === 'intent' ? 'end' : 'start';
    svg.append(s('g', { class: `node ${kind}`, 'data-node': n.id },
      s('circle', { cx: x, cy: y, r: 5 }),
      s('text', { x: kind === 'intent' ? x - 10 : x + 10, y: y + 4, 'text-anchor': anchor }, name)));
  }
  clear($('#flow-graph')).append(svg);
}

function highlight(flow) {
  let steps = [];
  let title = '';
  if ($('#flows-last').checked) {
    steps = graph.last_path || [];
    title = steps.length ? '上一次沙盒对话的路径' : '还没有沙盒对话（先在“试一试”里说几句）';
  } else if (flow) {
    steps = flow.steps;
    title = `${flow.kind === 'story' ? '故事' : '规则'}：${flow.name}（${flow.file}）`;
  }
  $('#flow-title').textContent = title;
  const nodes = new Set(steps);
  const pairs = new Set(steps.slice(1).map((b, i) => `${steps[i]}>${b}`));
  for (const el of document.querySelectorAll('#flow-svg .node')) el.classList.toggle('hl', nodes.has(el.dataset.node));
  for (const el of document.querySelectorAll('#flow-svg .edge')) {
    el.classList.toggle('hl', pairs.has(`${el.dataset.from}>${el.dataset.to}`));
  }
  for (const el of document.querySelectorAll('#flow-list li')) el.classList.toggle('active', !!flow && el.dataset.flow === flow.name);
}
