// The studio's API calls with the designer token (from the URL fragment once, then local storage).

const TOKEN_KEY = 'homefin.studio.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A fragment token never silently replaces a different stored one: the designer is asked first. */
export function loadToken() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    history.replaceState(null, '', location.pathname + location.search);
    let offered = '';
    try {
      offered = decodeURIComponent(match[1]);
    } catch (err) {
      offered = '';
    }
    const stored = localStorage.getItem(TOKEN_KEY);
    if (offered && (!stored || stored === offered || window.confirm('这个链接带有另一个设计人员凭证。要替换已保存的凭证吗？'))) {
      localStorage.setItem(TOKEN_KEY, offered);
    }
  }
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

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
    throw new ApiError(0, 'network', '网络连接失败');
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
