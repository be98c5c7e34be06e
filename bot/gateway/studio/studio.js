// The designer studio: tabs, token setup, and the five views (each in its own module).

import { api, loadToken, saveToken } from './api.js';
import { $ } from '/shared/dom.js';
import { initTry } from './try.js';
import { initResponses } from './responses.js';
import { initTraining } from './training.js';
import { initFlows } from './flows.js';
import { initCheck } from './check.js';

const views = {};

function show(name) {
  for (const tab of document.querySelectorAll('.tab')) tab.classList.toggle('active', tab.dataset.view === name);
  for (const view of document.querySelectorAll('.view')) {
    const active = view.id === `view-${name}`;
    view.hidden = !active;
    view.classList.toggle('active', active);
  }
  if (views[name] && views[name].shown) views[name].shown();
}

async function start() {
  const status = $('#status');
  if (!loadToken()) {
    show('setup');
    status.textContent = '需要设计人员凭证';
    $('#setup-form').addEventListener('submit', (event) => {
      event.preventDefault();
      saveToken($('#setup-token').value.trim());
      location.reload();
    });
    return;
  }
  let catalog;
  try {
    catalog = await api('GET', '/api/v1/studio/catalog');
  } catch (err) {
    status.textContent = err.message;
    status.classList.add('error');
    return;
  }
  status.textContent = `租户：${catalog.tenant}`;
  views.try = initTry(catalog);
  views.responses = initResponses();
  views.training = initTraining();
  views.flows = initFlows();
  views.check = initCheck();
  for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => show(tab.dataset.view));
  document.body.dataset.ready = 'true';
}

start();
