// 我的数据: consents (grant / withdraw), the offers shown to this household, and deleting its data.
import { api } from './api.js';
import { $, h, when } from '/shared/dom.js';
import { KIND_NAMES, SCOPE_NAMES } from './cards.js';

export async function loadMyData() {
  await Promise.all([loadConsents(), loadOffers(), loadComplaints()]);
}

const COMPLAINT_KINDS = { complaint: '投诉', contact: '人工服务' };

async function loadComplaints() {
  const list = $('#complaints');
  try {
    const { complaints } = await api('GET', '/api/v1/me/complaints');
    list.replaceChildren(...(complaints.length ? complaints.map((t) => h('li', { 'data-ticket': t.ticket },
      h('span', { class: 'badge' }, COMPLAINT_KINDS[t.category] || t.category),
      h('span', {}, `编号 ${t.ticket}`),
      h('span', { class: 'hint' }, `${when(t.created_at)} · ${t.state === 'open' ? '处理中' : '已处理'}`)))
      : [h('li', { class: 'hint' }, '没有投诉或客服记录')]));
  } catch (err) {
    list.replaceChildren(h('li', { class: 'error' }, err.message));
  }
}

async function loadConsents() {
  const list = $('#consents');
  try {
    const data = await api('GET', '/api/v1/me/consents');
    list.replaceChildren(...data.scopes.map(scopeRow));
  } catch (err) {
    list.replaceChildren(h('li', { class: 'error' }, err.message));
  }
}

function scopeRow(s) {
  const button = h('button', {
    type: 'button', class: s.granted ? 'ghost' : 'primary', 'data-scope': s.scope,
    onclick: async () => {
      button.disabled = true;
      try {
        await api('POST', '/api/v1/me/consents', { scope: s.scope, granted: !s.granted, channel: 'panel' });
      } catch (err) {
        alertInline(err.message);
      }
      await loadConsents();
    },
  }, s.granted ? '撤回授权' : '授权');
  return h('li', { class: 'consent', 'data-scope': s.scope, 'data-granted': String(s.granted) },
    h('span', { class: 'scope-name' }, SCOPE_NAMES[s.scope] || s.scope),
    h('span', { class: `badge ${s.granted ? 'ok' : ''}` }, s.granted ? '已授权' : '未授权'),
    h('span', { class: 'hint' }, s.since ? `${when(s.since)} 通过${channelName(s.channel)}` : '从未授权'),
    button);
}

function channelName(channel) {
  return { voice: '语音', panel: '中控屏', api: '应用', seed: '开户时' }[channel] || channel;
}

async function loadOffers() {
  const list = $('#offers');
  try {
    const { offers } = await api('GET', '/api/v1/me/offers');
    if (!offers.length) {
      list.replaceChildren(h('li', { class: 'hint' }, '还没有给您推荐过任何方案'));
      return;
    }
    list.replaceChildren(...offers.map((o) => h('li', { class: 'offer', 'data-offer-id': o.offer_id },
      h('div', { class: 'offer-head' },
        h('span', { class: 'badge' }, KIND_NAMES[o.kind] || o.kind),
        h('span', {}, o.terms.product || o.terms.name || o.subject),
        o.apr !== null ? h('span', { class: 'apr-inline' }, `年化 ${(Number(o.apr) * 100).toFixed(2)}%`) : null,
        h('span', { class: 'hint' }, when(o.created_at))),
      h('p', {}, o.explanation),
      h('p', { class: 'hint' }, `用到的数据：${o.data_scopes.map((x) => SCOPE_NAMES[x] || x).join('、') || '无'}`))));
  } catch (err) {
    list.replaceChildren(h('li', { class: 'error' }, err.message));
  }
}

function alertInline(text) {
  $('#delete-result').textContent = text;
}

/** A confirmation in the page (no window.confirm: it blocks the panel and cannot be styled). */
export function confirmInPage(title, text) {
  return new Promise((resolve) => {
    const dialog = $('#confirm-dialog');
    $('#confirm-title').textContent = title;
    $('#confirm-text').textContent = text;
    dialog.hidden = false;
    const done = (answer) => {
      dialog.hidden = true;
      $('#confirm-yes').onclick = $('#confirm-no').onclick = null;
      resolve(answer);
    };
    $('#confirm-yes').onclick = () => done(true);
    $('#confirm-no').onclick = () => done(false);
  });
}

export function initMyData() {
  $('#delete-data').addEventListener('click', async () => {
    const sure = await confirmInPage('删除我的数据', '将撤回全部授权并删除已采集的用电和故障记录，无法恢复。确定删除吗？');
    if (!sure) return;
    try {
      const result = await api('DELETE', '/api/v1/me/data?channel=panel');
      $('#delete-result').textContent =
        `已删除 ${result.deleted.readings} 条用电记录、${result.deleted.faults} 条故障记录，并撤回全部授权。`;
    } catch (err) {
      $('#delete-result').textContent = err.message;
    }
    await loadMyData();
  });
}
