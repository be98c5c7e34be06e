// Try: what the NLU makes of an utterance, then the sandbox conversation's answer.

import { api } from './api.js';
import { $, clear, h } from '/shared/dom.js';
import { openMic } from '/shared/mic.js';

export function initTry(catalog) {
  const select = $('#try-household');
  for (const name of catalog.households) select.append(h('option', { value: name }, name));
  renderWords(catalog.words);
  $('#try-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('#try-text').value.trim();
    if (!text) return;
    await attempt(() => api('POST', '/api/v1/studio/try', { text, household: select.value }), () => {
      $('#try-text').value = '';
      return text;
    });
  });
  initVoice(select);
  $('#try-reset').addEventListener('click', async () => {
    const result = await api('POST', '/api/v1/studio/sandbox', { household: select.value });
    clear($('#try-chat'));
    $('#try-sandbox').textContent = `沙盒：${result.sandbox.household}的新副本`;
  });
  return {};
}

/** Run one try (typed or spoken) and show it; `said()` gives the user's words of the result. */
async function attempt(call, said) {
  for (const id of ['#try-send', '#try-record', '#try-file']) $(id).disabled = true;
  try {
    const result = await call();
    renderNlu(result.nlu);
    renderTurn(said(result), result.turn);
    $('#try-sandbox').textContent = `沙盒：${result.sandbox.household}的副本 · 模型：${result.sandbox.model}`;
  } catch (err) {
    clear($('#try-nlu')).append(h('p', { class: 'error' }, err.message));
  } finally {
    for (const id of ['#try-send', '#try-record', '#try-file']) $(id).disabled = false;
  }
}

/** Speak a try: record from the microphone (click to start, click to stop) or upload a WAV; the
 *  gateway's recogniser turns it into text exactly as for a spoken turn of the sandbox's panel. */
function initVoice(select) {
  const button = $('#try-record');
  let recording = null;
  const send = (wav) => attempt(
    () => api('POST', `/api/v1/studio/try/audio?household=${encodeURIComponent(select.value)}`, wav, 'audio/wav'),
    (result) => {
      $('#try-transcript').textContent = `识别结果：${result.transcript}`;
      return result.transcript;
    },
  );
  button.addEventListener('click', async () => {
    if (recording) {
      const { capture, frames } = recording;
      recording = null;
      capture.close();
      button.textContent = '录一句';
      button.setAttribute('aria-pressed', 'false');
      await send(wavOf(frames, capture.sampleRate));
      return;
    }
    try {
      const capture = await openMic();
      recording = { capture, frames: [] };
      capture.onFrame = (frame) => recording && recording.frames.push(new Int16Array(frame));
      button.textContent = '停止并识别';
      button.setAttribute('aria-pressed', 'true');
      $('#try-transcript').textContent = '正在录音…';
    } catch (err) {
      $('#try-transcript').textContent = '无法打开麦克风，可以上传一段 WAV 录音';
    }
  });
  $('#try-file').addEventListener('change', async (event) => {
    const file = event.target.files[0];
    event.target.value = '';
    if (file) await send(await file.arrayBuffer());
  });
}

/** PCM16 mono frames → a WAV file. */
function wavOf(frames, rate) {
  const samples = frames.reduce((n, f) => n + f.length, 0);
  const out = new DataView(new ArrayBuffer(44 + samples * 2));
  const text = (at, s) => [...s].forEach((c, i) => out.setUint8(at + i, c.charCodeAt(0)));
  text(0, 'RIFF');
  out.setUint32(4, 36 + samples * 2, true);
  text(8, 'WAVEfmt ');
  out.setUint32(16, 16, true);
  out.setUint16(20, 1, true);
  out.setUint16(22, 1, true);
  out.setUint32(24, rate, true);
  out.setUint32(28, rate * 2, true);
  out.setUint16(32, 2, true);
  out.setUint16(34, 16, true);
  text(36, 'data');
  out.setUint32(40, samples * 2, true);
  let at = 44;
  for (const frame of frames) {
    for (const sample of frame) {
      out.setInt16(at, sample, true);
      at += 2;
    }
  }
  return out.buffer;
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
