// Cards of CONTRACTS.md §4, rendered from their JSON. Money and rates arrive as strings and are shown
// as given (formatting only), so the panel never computes a figure of its own.
import { api } from './api.js';
import { h, yuan, when } from '/shared/dom.js';
import { usageChart, versusChart } from './chart.js';

export const SCOPE_NAMES = { energy_data: '用电数据', device_usage: '设备使用数据' };
export const APPLICATION_STATES = {
  pending: '待确认', confirmed: '已确认', cancelled: '已取消', expired: '已过期',
  approved: '已批准', declined: '未通过', disbursed: '已放款',
};
const KIND_NAMES = {
  installment: '分期', upgrade: '节能换新', warranty: '延保', insurance: '保险',
  trade_in: '以旧换新', subscription: '保养服务', points: '绿色积分',
};

const RENDERERS = {
  installment_quote: installmentQuote,
  energy_usage: energyUsage,
  energy_saving: energySaving,
  consent_request: consentRequest,
  application_status: applicationStatus,
  product_choice: productChoice,
  warranty_offer: warrantyOffer,
  insurance_handoff: insuranceHandoff,
  trade_in_quote: tradeInQuote,
  points_balance: pointsBalance,
  device_status: deviceStatus,
  offer_audit: offerAudit,
  subscription_offer: subscriptionCard,
  subscription_reminder: subscriptionCard,
  subscription_status: subscriptionCard,
};

/** The card element; ctx = {say(text), toast(text)}. */
export function renderCard(card, ctx) {
  const render = RENDERERS[card.type] || generic;
  const body = render(card, ctx);
  const el = h('article', { class: `card card-${card.type}`, 'data-card-type': card.type },
    card.title ? h('h3', { class: 'card-title' }, card.title) : null,
    body,
    suggestions(card, ctx));
  return el;
}

function suggestions(card, ctx) {
  if (!Array.isArray(card.suggestions) || !card.suggestions.length || card.type === 'consent_request') return null;
  return h('div', { class: 'chips' },
    card.suggestions.map((text) => h('button', { type: 'button', class: 'chip', onclick: () => ctx.say(text) }, text)));
}

function rows(pairs) {
  return h('table', { class: 'kv' }, h('tbody', {},
    pairs.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v, cls]) => h('tr', { class: cls || null }, h('th', { scope: 'row' }, k), h('td', {}, v)))));
}

function aprBlock(aprText, interestFree) {
  return h('div', { class: 'apr' },
    h('span', { class: 'apr-label' }, '年化利率（APR）'),
    h('span', { class: 'apr-value', 'data-testid': 'apr' }, aprText),
    interestFree ? h('span', { class: 'badge ok' }, '免息') : null);
}

/** A trade-in's parts, each under its own name: a credit is never shown as a price. */
function tradeInParts(t) {
  if (!t || !t.trade_in_credit) return [];
  return [
    ['价格', t.price ? yuan(t.price) : null],
    ['旧机抵扣', `−${yuan(t.trade_in_credit)}`],
    ['国家补贴', `−${yuan(t.subsidy)}`],
  ];
}

function installmentQuote(c) {
  return h('div', {},
    aprBlock(c.apr_text, c.interest_free === true),
    rows([
      ['每月还款', `${yuan(c.monthly_payment)} × ${c.periods}期`, 'strong'],
      ...tradeInParts(c.trade_in),
      ['分期本金', c.trade_in ? yuan(c.principal) : null],
      ['首付', yuan(c.down_payment)],
      ['手续费合计', yuan(c.fees_total)],
      ['总成本', yuan(c.total_cost), 'strong'],
      ['商品', c.product ? `${c.product.name}（${yuan(c.product.price)}）` : null],
      ['资金方', c.partner],
      ['补贴方', c.subsidised_by],
      ['可取消至', c.cancel_until ? when(c.cancel_until) : null],
    ]),
    c.monthly_saving ? h('div', { class: 'versus-box' },
      h('p', {}, `每月省电 ${yuan(c.monthly_saving)}，月供 ${yuan(c.monthly_payment)}`),
      versusChart(c.monthly_saving, c.monthly_payment)) : null);
}

function energyUsage(c) {
  return h('div', {},
    h('div', { class: 'figures' },
      h('div', { class: 'figure' }, h('span', { class: 'big' }, c.kwh), h('span', {}, '度')),
      h('div', { class: 'figure' }, h('span', { class: 'big' }, yuan(c.cost)), h('span', {}, '电费'))),
    Array.isArray(c.series) && c.series.length ? usageChart(c.series) : h('p', { class: 'hint' }, '暂无分时数据'));
}

function energySaving(c) {
  const inst = c.installment;
  return h('div', {},
    rows([
      ['现有设备', c.device ? `${c.device.name}${c.device.energy_grade ? `（${c.device.energy_grade}级能效）` : ''}` : null],
      ['推荐换成', c.product ? `${c.product.name}（${yuan(c.product.price)}）` : null],
      ['每年省电', `${c.kwh_saved_per_year} 度`],
      ['每年省钱', yuan(c.money_saved_per_year), 'strong'],
      ['回本时间', c.payback_months ? `${c.payback_months} 个月` : null],
      ['每年积分', c.points_per_year],
    ]),
    inst ? h('div', { class: 'versus-box' },
      aprBlock(inst.apr_text, false),
      h('p', {}, `${inst.periods}期：每月省电 ${yuan(inst.monthly_saving)}，月供 ${yuan(inst.monthly_payment)}，每月净支出 ${yuan(inst.net_monthly_cost)}`),
      versusChart(inst.monthly_saving, inst.monthly_payment)) : null,
    c.assumptions ? h('p', { class: 'hint' },
      `按电价 ${c.assumptions.price_per_kwh} 元/度、${c.assumptions.covered_days || ''}天实测用电估算`) : null);
}

function consentRequest(c, ctx) {
  const status = h('p', { class: 'result', 'aria-live': 'polite' });
  const scopes = (c.scopes || []).map((x) => x.scope);
  const buttons = h('div', { class: 'actions' });
  const grant = h('button', { type: 'button', class: 'primary', 'data-action': 'grant' }, '同意授权');
  const decline = h('button', { type: 'button', class: 'ghost', 'data-action': 'decline' }, '不同意');
  grant.addEventListener('click', async () => {
    grant.disabled = decline.disabled = true;
    try {
      await api('POST', '/api/v1/me/consents',
        { scopes, granted: true, channel: 'panel', notice_version: c.notice_version });
      status.textContent = '已授权，可随时在“我的数据”里撤回';
      buttons.remove();
      ctx.say((c.suggestions && c.suggestions[0]) || '好的');
    } catch (err) {
      status.textContent = err.message;
      grant.disabled = decline.disabled = false;
    }
  });
  decline.addEventListener('click', () => {
    buttons.remove();
    status.textContent = '未授权，不影响查询您家设备的情况';
    ctx.say((c.suggestions && c.suggestions[1]) || '不用了');
  });
  buttons.append(grant, decline);
  return h('div', {},
    h('ul', { class: 'scopes' }, (c.scopes || []).map((x) => h('li', { 'data-scope': x.scope }, x.data || SCOPE_NAMES[x.scope] || x.scope))),
    c.purpose ? h('p', {}, c.purpose) : null,
    c.withdraw ? h('p', { class: 'hint' }, c.withdraw) : null,
    buttons, status);
}

function applicationStatus(c, ctx) {
  const holder = h('div', {});
  fillApplication(holder, c, ctx);
  return holder;
}

function fillApplication(holder, c, ctx) {
  const t = c.terms || {};
  const status = h('p', { class: 'result', 'aria-live': 'polite' });
  const qr = h('figure', { class: 'qr' });
  holder.replaceChildren(...[
    h('p', { class: `state state-${c.state}` }, APPLICATION_STATES[c.state] || c.state),
    c.apr_text ? aprBlock(c.apr_text, false) : null,
    rows([
      ['资金方/卖方', t.partner || t.seller],
      ['项目', t.product || t.name],
      ...tradeInParts(t),
      ['分期本金', t.trade_in_credit && t.financed_principal ? yuan(t.financed_principal) : null],
      ['期数', t.periods ? `${t.periods}期` : null],
      ['每月还款', t.monthly_payment ? yuan(t.monthly_payment) : null],
      ['总成本', t.total_cost ? yuan(t.total_cost) : (t.price ? yuan(t.price) : null)],
      ['确认期限', c.state === 'pending' ? when(c.expires_at) : null],
      ['可取消至', when(c.cancel_until)],
    ]),
    c.state === 'pending' ? h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', 'data-action': 'confirm', onclick: () => act('confirm') }, '在面板上确认'),
      h('button', { type: 'button', class: 'ghost', 'data-action': 'cancel', onclick: () => act('cancel') }, '取消申请')) : null,
    c.state === 'confirmed' ? h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'ghost', 'data-action': 'cancel', onclick: () => act('cancel') }, '取消申请')) : null,
    c.state === 'pending' ? qr : null,
    status,
  ].filter(Boolean));
  if (c.state === 'pending') loadQr(qr, c.offer_id);

  async function act(what) {
    try {
      const card = await api('POST', `/api/v1/me/applications/${c.offer_id}/${what}`);
      fillApplication(holder, card, ctx);
    } catch (err) {
      status.textContent = err.message;
    }
  }
}

export async function loadQr(figure, offerId) {
  try {
    const { svg } = await api('GET', `/api/v1/me/applications/${offerId}/qr`);
    const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const node = doc.documentElement;
    if (node.nodeName.toLowerCase() !== 'svg') return;
    node.querySelectorAll('script, foreignObject').forEach((bad) => bad.remove());
    node.setAttribute('class', 'qr-code');
    node.setAttribute('role', 'img');
    node.setAttribute('aria-label', '手机扫码确认');
    figure.replaceChildren(document.importNode(node, true), h('figcaption', {}, '用手机扫码，在手机上完成确认'));
  } catch (err) {
    figure.replaceChildren(h('figcaption', {}, '二维码暂时无法显示'));
  }
}

function productChoice(c, ctx) {
  return h('div', { class: 'options' }, (c.options || []).map((o) =>
    h('button', { type: 'button', class: 'option', onclick: () => ctx.say(o.short_name || o.name) },
      h('strong', {}, o.name), h('span', {}, yuan(o.price)),
      o.energy_grade ? h('span', { class: 'badge' }, `${o.energy_grade}级能效`) : null)));
}

function warrantyOffer(c) {
  return rows([
    ['设备', c.device_type], ['年限', `${c.years}年`], ['价格', yuan(c.price), 'strong'],
    ['保障', c.coverage], ['服务方', c.provider], ['上门费', c.onsite_fee_covered ? '包含' : '不含'],
  ]);
}

function insuranceHandoff(c) {
  return h('div', {},
    rows([['保险公司', c.insurer], ['保障', c.coverage], ['参考价格', yuan(c.reference_price)], ['期限', `${c.term_months}个月`]]),
    h('p', { class: 'hint' }, '保险由持牌保险公司销售，请在保险公司页面了解条款并投保：'),
    h('p', { class: 'url' }, c.handoff_url));
}

function tradeInQuote(c) {
  return rows([
    ['旧机', `${c.device_type}（${c.old_age_years}年）`], ['旧机估值', yuan(c.old_unit_value)],
    ['补贴', yuan(c.subsidy)], ['补贴来源', c.subsidy_source], ['合计抵扣', yuan(c.total), 'strong'],
  ]);
}

function pointsBalance(c) {
  return h('div', {},
    h('div', { class: 'figures' }, h('div', { class: 'figure' }, h('span', { class: 'big' }, c.balance), h('span', {}, '积分'))),
    h('ul', { class: 'list' }, (c.rewards || []).map((r) => h('li', {}, `${r.name}：${r.points_price} 分`))));
}

function deviceStatus(c) {
  return h('ul', { class: 'list' }, (c.devices || []).map((d) => h('li', {},
    h('strong', {}, d.name), ` · 购于 ${d.purchased_on}（${d.age_years}年）· `,
    d.in_warranty ? h('span', { class: 'badge ok' }, '保修期内') : h('span', { class: 'badge' }, '已过保'),
    d.faults_last_year ? ` · 近一年故障 ${d.faults_last_year} 次` : '')));
}

function offerAudit(c) {
  return rows([
    ['类型', KIND_NAMES[c.kind] || c.kind], ['推荐理由', c.explanation],
    ['使用的数据', (c.data_scopes || []).map((x) => SCOPE_NAMES[x] || x).join('、') || '未使用设备数据'],
    ['时间', when(c.created_at)],
  ]);
}

/** A maintenance subscription: price per period, what it covers, and how it renews (or not). */
function subscriptionCard(c) {
  const every = c.period_months ? `${c.period_months}个月` : '';
  const r = c.renewal;
  let renewal = null;
  if (r) renewal = r.automatic ? `到期自动续费，续费前${r.reminder_days_before}天提醒，可随时取消` : '到期不自动续费';
  else if (c.renews_at) renewal = c.auto_renew ? `${when(c.renews_at)} 自动续费` : `服务到 ${when(c.renews_at)}，不再续费`;
  return rows([
    ['价格', c.points_price && c.paid_with === 'points' ? `${c.points_price} 积分` : `${yuan(c.price)} / ${every}`, 'strong'],
    ['服务内容', c.service],
    ['续费', renewal],
    ['取消方式', r ? `说“${r.cancel_phrase}”` : (c.auto_renew ? `说“${c.cancel_phrase}”` : null)],
  ]);
}

function generic(c) {
  const pairs = Object.entries(c)
    .filter(([k, v]) => !['type', 'title', 'suggestions'].includes(k) && (typeof v !== 'object' || v === null))
    .map(([k, v]) => [k, v === null ? '—' : String(v)]);
  return rows(pairs);
}

export { KIND_NAMES };
