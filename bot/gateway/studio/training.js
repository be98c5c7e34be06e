// Training data: examples per intent with counts, duplicates across intents, held-out overlap.

import { api } from './api.js';
import { $, clear, h } from '/shared/dom.js';

let data = null;
let current = null;

export function initTraining() {
  $('#example-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!current) return;
    try {
      const result = await api('POST', '/api/v1/studio/training', { intent: current, text: $('#example-text').value });
      $('#example-result').textContent = `已加入工作副本 ${result.file}`;
      $('#example-text').value = '';
      await load();
    } catch (err) {
      $('#example-result').textContent = err.message;
    }
  });
  return { shown: load };
}

async function load() {
  data = await api('GET', '/api/v1/studio/training');
  const list = clear($('#intent-list'));
  for (const [intent, count] of Object.entries(data.counts)) {
    list.append(h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => showIntent(intent) }, intent),
      h('span', { class: 'hint' }, ` ${count} 句`)));
  }
  const flags = clear($('#training-flags'));
  flags.append(h('p', {}, `跨意图重复的例句：${data.duplicates.length ? '' : '没有'}`));
  for (const d of data.duplicates) flags.append(h('p', { class: 'warn' }, `${d.text}（${d.intents.join('、')}）`));
  flags.append(h('p', {}, `与留出测试集重合的例句：${data.heldout_overlap.length ? data.heldout_overlap.join('、') : '没有'}`));
  if (current) showIntent(current);
}

function showIntent(intent) {
  current = intent;
  $('#intent-name').textContent = `${intent}（${data.counts[intent]} 句）`;
  const list = clear($('#examples'));
  for (const e of data.intents[intent]) {
    const marks = [e.duplicate ? '重复' : '', e.heldout ? '在留出集' : ''].filter(Boolean).join(' ');
    list.append(h('li', { class: marks ? 'flag' : '' }, e.text, h('span', { class: 'hint' }, ` ${e.file} ${marks}`)));
  }
}
