// Check: run conversation tests (written here, or every test of the project) with progress, and
// show each failure with what the assistant actually said.

import { api } from './api.js';
import { $, clear, h } from '/shared/dom.js';

const EXAMPLE = `cases:
  - name: 新风机十二期先说年化利率
    device: {household: 李家, kind: speaker}
    turns:
      - user: 新风机分十二期每个月多少钱
        in_order: ["年化利率", "月供"]
        not_says: ["免息"]
        card: {type: installment_quote, apr_text: "13.03%"}
`;

export function initCheck() {
  $('#check-yaml').value = EXAMPLE;
  $('#check-run').addEventListener('click', () => run({ kind: 'conversations', yaml: $('#check-yaml').value }));
  $('#check-run-all').addEventListener('click', () => run({ kind: 'conversations' }));
  $('#check-validate').addEventListener('click', () => run({ kind: 'validate' }));
  $('#check-heldout').addEventListener('click', () => run({ kind: 'heldout' }));
  $('#check-train').addEventListener('click', () => run({ kind: 'train' }));
  return {};
}

async function run(body) {
  const results = clear($('#check-results'));
  for (const b of document.querySelectorAll('#view-check button')) b.disabled = true;
  try {
    const started = await api('POST', '/api/v1/studio/checks', body);
    $('#check-progress').hidden = false;
    let job;
    do {
      await new Promise((resolve) => setTimeout(resolve, 500));
      job = await api('GET', `/api/v1/studio/checks/${started.job_id}`);
      showProgress(job);
      render(results, job.results);
    } while (job.state === 'running');
    if (job.error) results.append(h('li', { class: 'error' }, `检查中断：${job.error}`));
    if (job.kind !== 'train') $('#check-count').textContent = `完成：${job.passed}/${job.total} 通过`;
  } catch (err) {
    results.append(h('li', { class: 'error' }, err.message));
  } finally {
    for (const b of document.querySelectorAll('#view-check button')) b.disabled = false;
  }
}

function showProgress(job) {
  if (job.kind === 'train') {
    const { stage, fraction, detail, elapsed_s: spent } = job.progress;
    const clock = `${Math.floor(spent / 60)}:${String(Math.floor(spent % 60)).padStart(2, '0')}`;
    $('#check-bar').style.width = `${Math.round(100 * fraction)}%`;
    $('#check-count').textContent = `${stage || '准备'} ${Math.round(100 * fraction)}%  ${clock}${detail ? '  ' + detail : ''}`;
    return;
  }
  $('#check-bar').style.width = `${job.total ? Math.round((100 * job.done) / job.total) : 100}%`;
  $('#check-count').textContent = `${job.done}/${job.total}，通过 ${job.passed}`;
}

function render(list, items) {
  clear(list);
  for (const r of items) {
    list.append(h('li', { class: r.ok ? 'ok' : 'failed' },
      h('b', {}, `${r.ok ? '通过' : '失败'}：${r.name}`),
      r.ok && r.name !== '训练' ? null : h('pre', { class: 'report' }, r.report)));
  }
}
