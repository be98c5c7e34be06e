// First run: the installer types the 6–8 digit pairing code shown in the manufacturer's console;
// the panel trades it once at POST /api/v1/pair for its own device token (kept in local storage).
import { api, saveToken } from './api.js';
import { $ } from '/shared/dom.js';

const CODE = /^\d{6,8}$/;

/** Wire the first-run form; calls onPaired() once the token is stored. */
export function initPairing(onPaired) {
  const form = $('#setup-form');
  const input = $('#setup-code');
  const result = $('#setup-result');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = input.value.replace(/\s+/g, '');
    if (!CODE.test(code)) {
      result.textContent = '配对码是 6 到 8 位数字，请核对后再输入';
      return;
    }
    form.querySelector('button').disabled = true;
    result.textContent = '正在配对…';
    try {
      const paired = await api('POST', '/api/v1/pair', { code });
      if (paired.kind === 'hub') {
        result.textContent = '这是家庭网关的配对码，请输入中控屏的配对码';
        return;
      }
      saveToken(paired.token);
      result.textContent = '配对成功';
      onPaired();
    } catch (err) {
      result.textContent = err.message;
    } finally {
      form.querySelector('button').disabled = false;
    }
  });
}
