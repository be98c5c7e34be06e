// Responses: every utter_* with its variations, searchable; rules checked as you type; saved to the
// working copy with a diff.

import { api } from './api.js';
import { $, clear, debounce, h } from '/shared/dom.js';

let all = [];
let current = null;

export function initResponses() {
  $('#response-search').addEventListener('input', renderList);
  $('#response-add').addEventListener('click', () => addVariation(''));
  $('#response-save').addEventListener('click', save);
  return { shown: load };
}

async function load() {
  const data = await api('GET', '/api/v1/studio/responses');
  all = data.responses;
  $('#diff').textContent = data.diff || '（没有改动）';
  renderList();
}

function renderList() {
  const query = $('#response-search').value.trim();
  const list = clear($('#response-list'));
  for (const r of all) {
    if (query && !r.name.includes(query) && !r.variations.some((v) => v.includes(query))) continue;
    const item = h('li', { 'data-name': r.name, class: r.problems.length ? 'flag' : '' },
      h('button', { type: 'button', class: 'link', onclick: () => edit(r) }, r.name),
      h('span', { class: 'hint' }, r.variations[0] || ''));
    list.append(item);
  }
}

function edit(r) {
  current = r.name;
  $('#response-editor').hidden = false;
  $('#response-name').textContent = r.name;
  $('#response-values').textContent = r.values.length ? `可用的取值：${r.values.map((v) => `{${v}}`).join(' ')}` : '没有取值';
  clear($('#response-variations'));
  for (const v of r.variations) addVariation(v);
  showProblems(r.problems);
}

function addVariation(text) {
  const area = h('textarea', { class: 'variation', rows: 2 });
  area.value = text;
  area.addEventListener('input', check);
  $('#response-variations').append(h('div', { class: 'variation-row' }, area, h('span', { class: 'len' })));
}

function variations() {
  return [...document.querySelectorAll('#response-variations textarea')].map((t) => t.value);
}

const check = debounce(async () => {
  if (!current) return;
  try {
    const result = await api('POST', '/api/v1/studio/responses/check', { name: current, variations: variations() });
    showProblems(result.problems);
    const lens = document.querySelectorAll('#response-variations .len');
    result.lengths.forEach((n, i) => { if (lens[i]) lens[i].textContent = `约${n}字`; });
  } catch (err) {
    showProblems([err.message]);
  }
}, 250);

function showProblems(problems) {
  const list = clear($('#response-problems'));
  for (const p of problems) list.append(h('li', { class: 'error' }, p));
  if (!problems.length) list.append(h('li', { class: 'ok' }, '符合规则'));
}

async function save() {
  try {
    const result = await api('PUT', `/api/v1/studio/responses/${current}`, { variations: variations() });
    showProblems(result.problems);
    $('#diff').textContent = result.diff || '（没有改动）';
    const data = await api('GET', '/api/v1/studio/responses');
    all = data.responses;
    renderList();
  } catch (err) {
    showProblems([err.message]);
  }
}
