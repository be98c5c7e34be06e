// Try: what the NLU makes of an utterance, then the sandbox conversation's answer.

import { api } from './api.js';
import { $, clear, h } from '/shared/dom.js';

export function initTry(catalog) {
  const select = $('#try-household');
  for (const name of catalog.households) select.append(h('option', { value: name }, name));
  renderWords(catalog.words);
  $('#try-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('#try-text').value.trim();
    if (!text) return;
    $('#try-send').disabled = true;
    try {
      const result = await api('POST', '/api/v1/studio/try', { text, household: select.value });
      renderNlu(result.nlu);
      renderTurn(text, result.turn);
      $('#try-sandbox').textContent = `沙盒：${result.sandbox.household}的副本`;
      $('#try-text').value = '';
    } catch (err) {
      clear($('#try-nlu')).append(h('p', { class: 'error' }, err.message));
    } finally {
      $('#try-send').disabled = false;
    }
  });
  $('#try-reset').addEventListener('click', async () => {
    const result = await api('POST', '/api/v1/studio/sandbox', { household: select.value });
    clear($('#try-chat'));
    $('#try-sandbox').textContent = `沙盒：${result.sandbox.household}的新副本`;
  });
  return {};
}

function renderWords(words) {
  const box = clear($('#catalog-words'));
  for (const [kind, label] of [['device_type', '品类'], ['brand', '品牌'], ['product', '商品编号']]) {
    box.append(h('p', {}, h('b', {}, `${label}：`), words[kind].join('、')));
  }
}

function renderNlu(nlu) {
  const box = clear($('#try-nlu'));
  const conf = (c) => (c === undefined ? '' : Number(c).toFixed(2));
  box.append(
    h('p', {}, h('b', {}, '归一化后的文字：'), h('span', { id: 'nlu-normalized' }, nlu.normalized)),
    h('p', {}, h('b', {}, '意图：'), h('span', { id: 'nlu-intent' }, nlu.intent.name), ` （置信度 ${conf(nlu.intent.confidence)}）`),
  );
  if (nlu.fallback) box.append(h('p', { class: 'warn', id: 'nlu-fallback' }, nlu.fallback));
  box.append(h('h3', {}, '意图排序'));
  const ranking = h('ol', { class: 'ranking', id: 'nlu-ranking' });
  for (const r of nlu.intent_ranking) {
    ranking.append(h('li', {}, h('span', { class: 'name' }, r.name),
      h('span', { class: 'meter' }, h('span', { class: 'fill', 'data-width': Math.round(r.confidence * 100) })),
      h('span', { class: 'num' }, conf(r.confidence))));
  }
  box.append(ranking);
  for (const fill of ranking.querySelectorAll('.fill')) fill.style.width = `${fill.dataset.width}%`;
  box.append(h('h3', {}, '实体'));
  const table = h('table', { id: 'nlu-entities' }, h('tr', {}, h('th', {}, '实体'), h('th', {}, '规范值'), h('th', {}, '原文'), h('th', {}, '抽取器'), h('th', {}, '本租户商品词')));
  for (const e of nlu.entities) {
    table.append(h('tr', {}, h('td', {}, e.entity), h('td', {}, String(e.value)), h('td', {}, e.text || ''),
      h('td', {}, e.extractor || ''), h('td', {}, e.in_catalog ? '是' : '否')));
  }
  if (!nlu.entities.length) table.append(h('tr', {}, h('td', { colspan: 5 }, '没有实体')));
  box.append(table);
}

function renderTurn(text, turn) {
  const chat = $('#try-chat');
  chat.append(h('li', { class: 'user' }, text));
  for (const reply of turn.replies || []) {
    const item = h('li', { class: 'bot' }, reply.text || '');
    if (reply.card) {
      item.append(h('details', { class: 'card' }, h('summary', {}, `卡片：${reply.card.type}`),
        h('pre', {}, JSON.stringify(reply.card, null, 2))));
    }
    chat.append(item);
  }
  const events = (turn.events || []).map((e) => e.type).join(' → ');
  chat.append(h('li', { class: 'events' }, `事件：${events}`));
  chat.lastElementChild.scrollIntoView({ block: 'end' });
}
