// The gateway's HTTP API with this panel's device token; errors carry the gateway's code and message.

const TOKEN_KEY = 'homefin.panel.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const REPLACE_TOKEN_QUESTION =
  '这个链接带有另一台设备的凭证。要用它替换这台面板已保存的凭证吗？（不确定请选“取消”）';

/** The device token: from the URL fragment once (#token=…, never sent to a server), then storage.
 *  A fragment token never silently replaces a different stored one: the user is asked first. */
export function loadToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', location.pathname + location.search); // out of the address either way
    let offered = '';
    try {
      offered = decodeURIComponent(match[1]);
    } catch (err) {
      offered = '';
    }
    const stored = localStorage.getItem(TOKEN_KEY);
    if (offered && (!stored || stored === offered || window.confirm(REPLACE_TOKEN_QUESTION))) {
      localStorage.setItem(TOKEN_KEY, offered);
    }
  }
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/** Call the API; resolves to the JSON body, rejects with ApiError. */
export async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${localStorage.getItem(TOKEN_KEY) || ''}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', '网络连接失败，请检查网络');
  }
  let data = null;
  try {
    data = await response.json();
  } catch (err) {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || 'http_error', error.message || '请求失败');
  }
  return data;
}

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
