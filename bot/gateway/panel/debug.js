// The debug drawer: every pipeline event of every run, with its time since the run started.
import { $, h } from '/shared/dom.js';

const MAX_RUNS = 30;

export function showRun(label, events) {
  const list = h('ol', { class: 'events' });
  const run = h('li', { class: 'run' }, h('h3', {}, label), list);
  $('#runs').prepend(run);
  while ($('#runs').children.length > MAX_RUNS) $('#runs').lastElementChild.remove();
  (events || []).forEach((e) => addEvent(list, e));
  return list;
}

export function addEvent(list, event) {
  const data = summary(event.data || {});
  list.append(h('li', { class: `event ev-${event.type}`, 'data-event': event.type },
    h('span', { class: 'ev-time' }, `${Number(event.at_ms || 0).toFixed(0)} ms`),
    h('span', { class: 'ev-type' }, event.type),
    data ? h('code', {}, data) : null));
}

function summary(data) {
  const copy = { ...data };
  if (copy.card && typeof copy.card === 'object') copy.card = copy.card.type;
  const text = JSON.stringify(copy);
  return text === '{}' ? '' : text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

export function initDebug() {
  const toggle = $('#debug-toggle');
  toggle.addEventListener('click', () => {
    const open = $('#debug').hidden;
    $('#debug').hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
  });
  $('#debug-clear').addEventListener('click', () => $('#runs').replaceChildren());
}
