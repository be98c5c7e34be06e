// The phone page behind the panel's QR: the audited terms (APR first), confirm or cancel.
// The single-use link in the address is the only credential.

const $ = (sel) => document.querySelector(sel);
const token = location.pathname.split('/').filter(Boolean).pop() || '';
const STATES = {
  pending: '待确认', confirmed: '已确认，已提交给资金方审核', cancelled: '已取消', expired: '已过期',
  approved: '已批准', declined: '未通过', disbursed: '已放款',
};

function yuan(v) { return v ? `${v} 元` : null; }

function row(label, value) {
  if (!value) return [];
  const dt = document.createElement('dt');
  dt.textContent = label;
  const dd = document.createElement('dd');
  dd.textContent = value;
  return [dt, dd];
}

function show(app) {
  const t = app.terms || {};
  $('#loading').hidden = true;
  $('#terms').hidden = false;
  $('#apr').textContent = app.apr_text ? `年化利率（IRR）${app.apr_text}` : '本申请不含分期利息';
  $('#rows').replaceChildren(
    ...row('资金方/卖方', app.partner),
    ...row('项目', t.product || t.name),
    ...row('价格', t.trade_in_credit ? yuan(t.price) : null),
    ...row('旧机抵扣', t.trade_in_credit ? `−${yuan(t.trade_in_credit)}` : null),
    ...row('国家补贴', t.trade_in_credit ? `−${yuan(t.subsidy || '0.00')}` : null),
    ...row('分期本金', t.trade_in_credit ? yuan(t.financed_principal) : null),
    ...row('期数', t.periods ? `${t.periods}期` : null),
    ...row('每月还款', yuan(t.monthly_payment)),
    ...row('费用合计', yuan(t.fees_total)),
    ...row('总成本', yuan(t.total_cost || t.price)),
    ...row('可取消至', app.cancel_until ? new Date(app.cancel_until).toLocaleString('zh-CN') : null),
  );
  $('#state').textContent = `状态：${STATES[app.state] || app.state}`;
  $('#state').dataset.state = app.state;
  const cancellable = ['pending', 'confirmed', 'approved'].includes(app.state)
    && (app.state === 'pending' || new Date(app.cancel_until) > new Date());
  $('#confirm').hidden = app.state !== 'pending';
  $('#cancel').hidden = !cancellable;
  $('#actions').hidden = !cancellable;
}

function fail(message) {
  $('#loading').hidden = true;
  $('#actions').hidden = true;
  $('#error').hidden = false;
  $('#error').textContent = message;
}

async function call(method, path) {
  let response;
  try {
    response = await fetch(path, { method, headers: { Accept: 'application/json' } });
  } catch (err) {
    throw new Error('网络连接失败，请稍后再试');
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.error && body.error.message) || '请求失败');
  return body;
}

async function act(what) {
  $('#confirm').disabled = $('#cancel').disabled = true;
  try {
    show(await call('POST', `/api/v1/phone/${encodeURIComponent(token)}/${what}`));
  } catch (err) {
    fail(err.message);
  }
}

async function main() {
  $('#confirm').addEventListener('click', () => act('confirm'));
  $('#cancel').addEventListener('click', () => act('cancel'));
  try {
    show(await call('GET', `/api/v1/phone/${encodeURIComponent(token)}`));
  } catch (err) {
    fail(err.message);
  }
}

main();
