// 首页: at a glance — this month's energy so far vs the same days of last month with the top devices,
// open applications, green points, maintenance subscriptions (a coming renewal is a reminder, with the
// way to stop it), consent state, and two or three things to ask (tap to ask).
import { api } from './api.js';
import { KIND_NAMES, SCOPE_NAMES } from './cards.js';
import { usageChart } from './chart.js';
import { $, h, when, yuan } from '/shared/dom.js';

const STATES = { pending: '待确认', confirmed: '已确认' };

/** Load and render the home screen; ctx.say(text) asks a suggestion in the conversation. */
export async function loadHome(ctx) {
  const root = $('#home');
  try {
    const data = await api('GET', '/api/v1/me/home');
    root.replaceChildren(
      energyBox(data.energy),
      suggestionsBox(data.suggestions, ctx),
      applicationsBox(data.applications),
      pointsBox(data.points),
      subscriptionsBox(data.subscriptions || [], ctx),
      consentBox(data.consents));
  } catch (err) {
    root.replaceChildren(h('p', { class: 'error' }, err.message));
  }
}

function box(id, title, ...body) {
  return h('section', { class: 'panel-box home-box', id }, h('h2', {}, title), ...body);
}

function energyBox(e) {
  if (!e) return box('home-energy', '本月用电', h('p', { class: 'hint' }, '还没有用电记录'));
  const bars = e.last_kwh === null ? [] : [{ label: e.last_label, kwh: e.last_kwh }];
  return box('home-energy', '本月用电',
    h('div', { class: 'figures' },
      h('div', { class: 'figure' }, h('span', { class: 'big', 'data-field': 'kwh' }, e.kwh), h('span', {}, '度')),
      h('div', { class: 'figure' }, h('span', { class: 'big', 'data-field': 'cost' }, yuan(e.cost)), h('span', {}, '电费'))),
    e.last_kwh === null ? null
      : h('p', { class: 'hint', 'data-field': 'versus' }, `${e.last_label}：${e.last_kwh} 度，${yuan(e.last_cost)}`),
    usageChart([...bars, { label: e.period_label, kwh: e.kwh }], { width: 360, height: 110 }),
    h('ol', { class: 'top-devices' }, ...e.top_devices.map((d) =>
      h('li', { 'data-device': d.name }, h('span', {}, d.name), h('span', { class: 'hint' }, `${d.kwh} 度`)))));
}

function suggestionsBox(items, ctx) {
  return box('home-suggestions', '可以问我',
    h('div', { class: 'suggestions' }, ...items.map((text) =>
      h('button', { type: 'button', class: 'chip', onclick: () => ctx.say(text) }, text))));
}

function applicationsBox(apps) {
  return box('home-applications', '办理中的申请',
    apps.length === 0 ? h('p', { class: 'hint' }, '没有办理中的申请')
      : h('ul', { class: 'applications' }, ...apps.map((a) => h('li', { 'data-offer-id': a.offer_id },
        h('span', { class: 'badge' }, KIND_NAMES[a.kind] || a.kind),
        h('span', {}, a.subject),
        h('span', { class: 'hint' }, `${STATES[a.state] || a.state} · 可取消至 ${when(a.cancel_until)}`)))));
}

function pointsBox(p) {
  return box('home-points', '绿色积分',
    h('p', {}, h('span', { class: 'big', 'data-field': 'points' }, String(p.balance)), ' 分'),
    h('ul', { class: 'points-history' }, ...p.recent.map((m) => h('li', {},
      h('span', { class: m.delta > 0 ? 'plus' : 'minus' }, `${m.delta > 0 ? '+' : ''}${m.delta}`),
      h('span', { class: 'hint' }, m.reason)))));
}

function subscriptionsBox(subs, ctx) {
  return box('home-subscriptions', '保养订阅',
    subs.length === 0 ? h('p', { class: 'hint' }, '没有保养订阅')
      : h('ul', { class: 'subscriptions' }, ...subs.map((s) => h('li', {
        'data-subscription': String(s.subscription), 'data-state': s.state, class: s.reminder_due ? 'reminder' : null },
        h('span', {}, s.name),
        h('span', { class: 'hint' }, `${yuan(s.price)} / ${s.period_months}个月`),
        h('span', { class: s.reminder_due ? 'badge warn' : 'hint', 'data-field': 'renewal' }, s.auto_renew
          ? `${when(s.renews_at)} 自动续费${s.reminder_due ? '（即将续费）' : ''}`
          : `服务到 ${when(s.renews_at)}，不再续费`),
        s.auto_renew ? h('button', { type: 'button', class: 'chip', 'data-action': 'cancel-subscription',
          onclick: () => ctx.say(s.cancel_phrase) }, s.cancel_phrase) : null))));
}

function consentBox(scopes) {
  return box('home-consents', '数据授权',
    h('ul', { class: 'consents' }, ...scopes.map((s) => h('li', { 'data-scope': s.scope },
      h('span', {}, SCOPE_NAMES[s.scope] || s.scope),
      h('span', { class: `badge ${s.granted ? 'ok' : ''}` }, s.granted ? '已授权' : '未授权')))));
}
