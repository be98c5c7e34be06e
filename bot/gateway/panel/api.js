// The panel's API calls with its device token (shared/api.js), and the text turn.

import { ApiError, client } from '/shared/api.js';

export { ApiError };
export const { api, forgetToken, loadToken, saveToken } = client('homefin.panel.token');

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
