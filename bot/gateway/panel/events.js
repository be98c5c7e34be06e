// The household event stream (GET /api/v1/me/events, server-sent events read through fetch so the
// device token goes in a header): one per panel; on a drop it reconnects with the last event id and
// the gateway replays everything after it, so no event is lost.
import { loadToken } from './api.js';

const RETRY_MS = 1000;

function parse(block) {
  const out = { event: 'message', id: null, data: '' };
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const at = line.indexOf(':');
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
    if (field === 'event') out.event = value;
    else if (field === 'id') out.id = value;
    else if (field === 'data') out.data += value;
  }
  return out;
}

/** Start the stream; onEvent(event) for each application event, onState('live'|'reconnecting'). */
export function startEvents(onEvent, onState = () => {}) {
  let last = null;
  async function connect() {
    const query = last === null ? '' : `?after=${encodeURIComponent(last)}`;
    try {
      const response = await fetch(`/api/v1/me/events${query}`, {
        headers: { Authorization: `Bearer ${loadToken() || ''}`, Accept: 'text/event-stream' },
        cache: 'no-store',
      });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onState('live');
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const message = parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (message.id !== null) last = message.id;
          if (message.event === 'application') onEvent(JSON.parse(message.data));
        }
      }
    } catch (err) {
      // fall through to the reconnect below
    }
    onState('reconnecting');
    setTimeout(connect, RETRY_MS);
  }
  connect();
}
