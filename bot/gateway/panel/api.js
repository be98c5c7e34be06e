// The panel's API calls with its device token (shared/api.js), and the text turn.

import { ApiError, client } from '/shared/api.js';

export const REPLACE_TOKEN_QUESTION =
  '这个链接带有另一台设备的凭证。要用它替换这台面板已保存的凭证吗？（不确定请选“取消”）';

export { ApiError };
export const { api, forgetToken, loadToken, saveToken } = client('homefin.panel.token', REPLACE_TOKEN_QUESTION);

/** A text turn; a lost connection is retried once with the same turn_id (the gateway deduplicates).
 *  debug: also ask for the intent event (the debug drawer is open). */
export async function converse(text, debug = false) {
  const body = { text, turn_id: crypto.randomUUID(), debug };
  try {
    return await api('POST', '/api/v1/converse', body);
  } catch (err) {
    if (err.code !== 'network') throw err;
    return api('POST', '/api/v1/converse', body);
  }
}
