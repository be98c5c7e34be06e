// The gateway's HTTP API for the panel and the studio: a token kept in local storage (taken once from
// the URL fragment, never sent to a server), JSON calls, errors carrying the gateway's code and message.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** A page's token and API calls, the token stored under `key`; `replaceQuestion` is asked before a
 *  token in a link replaces a different stored one. */
export function client(key, replaceQuestion) {
  return {
    /** The token: from the URL fragment once (#token=…, out of the address either way), then storage.
     *  A fragment token never silently replaces a different stored one: the user is asked first. */
    loadToken() {
      const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
      if (match) {
        history.replaceState(null, '', location.pathname + location.search);
        let offered = '';
        try {
          offered = decodeURIComponent(match[1]);
        } catch (err) {
          offered = '';
        }
        const stored = localStorage.getItem(key);
        if (offered && (!stored || stored === offered || window.confirm(replaceQuestion))) {
          localStorage.setItem(key, offered);
        }
      }
      return localStorage.getItem(key);
    },
    saveToken(token) {
      localStorage.setItem(key, token);
    },
    forgetToken() {
      localStorage.removeItem(key);
    },
    /** Call the API with a JSON body (or raw bytes with their type); resolves to the JSON body,
     *  rejects with ApiError. */
    api(method, path, body, type = 'application/json') {
      return call(localStorage.getItem(key) || '', method, path, body, type);
    },
  };
}

async function call(token, method, path, body, type) {
  const headers = { Authorization: `Bearer ${token}` };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = type;
    init.body = type === 'application/json' ? JSON.stringify(body) : body;
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
