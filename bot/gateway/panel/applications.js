// 「待办 / 我的申请」: every application of the household, live (household event stream), with a
// badge counting the ones waiting for confirmation. Confirm here (panel tap), by the phone (QR), or
// cancel within the window.
import { api } from './api.js';
import { APPLICATION_STATES, loadQr } from './cards.js';
import { $, h } from '/shared/dom.js';
import { startEvents } from './events.js';

const CANCELLABLE = new Set(['pending', 'confirmed', 'approved']);
let loading = null;

function money(v) { return v ? `${v} 元` : null; }

function when(iso) { return iso ? new Date(iso).toLocaleString('zh-CN', { hour12: false }) : null; }

function line(label, value) {
  return value ? h('div', { class: 'row' }, h('span', { class: 'label' }, label), h('span', { class: 'value' }, value)) : null;
}

function item(app) {
  const t = app.terms || {};
  const status = h('p', { class: 'result', 'aria-live': 'polite' });
  const qr = h('figure', { class: 'qr' });
  const pending = app.state === 'pending';
  const open = CANCELLABLE.has(app.state) && (pending || new Date(app.cancel_until) > new Date());
  async function act(what) {
    try {
      await api('POST', `/api/v1/me/applications/${app.offer_id}/${what}`);
      refreshApplications();
    } catch (err) {
      status.textContent = err.message;
    }
  }
  const node = h('li', { class: `application state-${app.state}`, 'data-application-id': String(app.application_id), 'data-state': app.state },
    h('p', { class: `state state-${app.state}` }, APPLICATION_STATES[app.state] || app.state),
    app.apr_text ? h('p', { class: 'apr' }, `年化利率 ${app.apr_text}`) : null,
    line('项目', t.product || t.name),
    line('资金方/卖方', app.partner),
    line('价格', t.trade_in_credit ? money(t.price) : null),
    line('旧机抵扣', t.trade_in_credit ? `−${money(t.trade_in_credit)}` : null),
    line('国家补贴', t.trade_in_credit ? `−${money(t.subsidy || '0.00')}` : null),
    line('分期本金', t.trade_in_credit ? money(t.financed_principal) : null),
    line('期数', t.periods ? `${t.periods}期` : null),
    line('每月还款', money(t.monthly_payment)),
    line('总成本', money(t.total_cost || t.price)),
    line('确认期限', pending ? when(app.expires_at) : null),
    line('可取消至', open && !pending ? when(app.cancel_until) : null),
    h('ol', { class: 'history' }, ...(app.history || []).map((e) => h('li', {}, `${when(e.at)} ${APPLICATION_STATES[e.state] || e.state}`))),
    h('div', { class: 'actions' },
      pending && !app.phone_only ? h('button', { type: 'button', class: 'primary', 'data-action': 'confirm', onclick: () => act('confirm') }, '在面板上确认') : null,
      open ? h('button', { type: 'button', class: 'ghost', 'data-action': 'cancel', onclick: () => act('cancel') }, '取消申请') : null),
    pending ? qr : null,
    status);
  if (pending) loadQr(qr, app.offer_id);
  return node;
}

/** Reload the list and the badge (coalesced while a load is running). */
export async function refreshApplications() {
  if (loading) return loading;
  loading = (async () => {
    try {
      const { applications } = await api('GET', '/api/v1/me/applications');
      const waiting = applications.filter((a) => a.state === 'pending').length;
      const badge = $('#applications-badge');
      badge.textContent = waiting ? String(waiting) : '';
      badge.hidden = !waiting;
      const list = $('#applications');
      list.replaceChildren(...applications.map(item));
      $('#applications-empty').hidden = applications.length > 0;
    } catch (err) {
      $('#applications-empty').hidden = false;
      $('#applications-empty').textContent = err.message;
    } finally {
      loading = null;
    }
  })();
  return loading;
}

export function initApplications() {
  refreshApplications();
  startEvents(() => refreshApplications(), (state) => {
    $('#view-applications').dataset.stream = state;
    if (state === 'live') refreshApplications(); // catch up whatever changed while disconnected
  });
}
