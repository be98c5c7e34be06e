// The central control panel: conversation with cards, push-to-talk, 我的数据, debug drawer.
import { converse, loadToken, saveToken } from './api.js';
import { initApplications } from './applications.js';
import { renderCard } from './cards.js';
import { addEvent, initDebug, showRun } from './debug.js';
import { $, h } from '/shared/dom.js';
import { loadHome } from './home.js';
import { initMyData, loadMyData } from './mydata.js';
import { initPairing } from './pairing.js';
import { PushToTalk } from './voice.js';

const ctx = { say: (text) => sendText(text) };

function show(view) {
  for (const section of document.querySelectorAll('.view')) {
    const active = section.id === `view-${view}`;
    section.hidden = !active;
    section.classList.toggle('active', active);
  }
  for (const tab of document.querySelectorAll('.tab')) tab.classList.toggle('active', tab.dataset.view === view);
  if (view === 'mydata') loadMyData();
}

function bubble(who, text, extraClass = '') {
  $('#home').hidden = true; // the home screen gives way to the conversation
  const item = h('li', { class: `msg ${who} ${extraClass}`.trim() }, text ? h('p', { class: 'text' }, text) : null);
  $('#conversation').append(item);
  item.scrollIntoView({ block: 'end' });
  return item;
}

function botReply(reply) {
  const item = bubble('bot', reply.text);
  if (reply.card) item.append(renderCard(reply.card, ctx));
  item.scrollIntoView({ block: 'end' });
}

async function sendText(raw) {
  const text = raw.trim();
  if (!text) return;
  bubble('user', text);
  const pending = bubble('bot', '…', 'pending');
  try {
    const outcome = await converse(text, !$('#debug').hidden);
    pending.remove();
    outcome.replies.forEach(botReply);
    showRun(`文字：${text}`, outcome.events);
  } catch (err) {
    pending.remove();
    bubble('bot', err.message, 'error');
    showRun(`文字：${text}`, [{ type: 'error', at_ms: 0, data: { code: err.code, message: err.message } }]);
  }
}

function voiceHandlers() {
  let live = null;
  let events = null;
  return {
    onState: (text) => { $('#status').textContent = text || '就绪'; },
    onEvent: (event) => {
      events = events || showRun('语音', []);
      addEvent(events, event);
      const data = event.data || {};
      if (event.type === 'stt-partial') {
        live = live || bubble('user', '', 'pending');
        live.replaceChildren(h('p', { class: 'text' }, data.text));
      } else if (event.type === 'stt-final') {
        live = live || bubble('user', '');
        live.classList.remove('pending');
        live.replaceChildren(h('p', { class: 'text' }, data.text));
      } else if (event.type === 'dialogue') {
        (data.replies || []).forEach(botReply);
      } else if (event.type === 'error') {
        bubble('bot', data.message, 'error');
      } else if (event.type === 'run-end') {
        live = null;
        events = null;
      }
    },
  };
}

function initPushToTalk(token) {
  const button = $('#ptt');
  const talk = new PushToTalk(token, voiceHandlers());
  const down = (e) => { e.preventDefault(); button.classList.add('active'); talk.start(); };
  const up = () => { if (button.classList.contains('active')) { button.classList.remove('active'); talk.stop(); } };
  button.addEventListener('pointerdown', down);
  button.addEventListener('pointerup', up);
  button.addEventListener('pointerleave', up);
  button.addEventListener('keydown', (e) => { if (e.key === ' ' && !e.repeat) down(e); });
  button.addEventListener('keyup', (e) => { if (e.key === ' ') up(); });
}

async function health(token) {
  try {  // a device token sees whether speech is up; anonymous callers only the status
    const r = await fetch('/healthz', { headers: { Authorization: `Bearer ${token}` } });
    const body = await r.json();
    const stt = body.components && body.components.stt;
    $('#status').textContent = body.status === 'down' ? '服务暂不可用' : stt && !stt.ok ? '就绪（语音识别未启用）' : '就绪';
    $('#ptt').disabled = Boolean(stt && !stt.ok);
  } catch (err) {
    $('#status').textContent = '无法连接';
  }
}

function start(token) {
  $('#view-setup').hidden = true;
  show('chat');
  $('#composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('#text');
    const text = input.value;
    input.value = '';
    sendText(text);
  });
  for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => show(tab.dataset.view));
  initPushToTalk(token);
  initMyData();
  loadHome(ctx);
  initApplications();
  health(token);
}

function main() {
  initDebug();
  const token = loadToken();
  if (token) {
    start(token);
    return;
  }
  for (const section of document.querySelectorAll('.view')) section.hidden = true;
  $('#view-setup').hidden = false;
  initPairing(() => location.reload());
}

main();
