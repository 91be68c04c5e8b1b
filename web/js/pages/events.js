// pages/events.js: `show events` with filters. Severity and controller go
// to the controller as the command's own filters; event code and text
// narrow what came back.

import * as api from '../api.js';
import { h, replace, notice, errorText } from '../dom.js';
import { SEVERITIES } from '../labels.js';

const COUNTS = [50, 200, 1000];
const SEV_TONE = { CRITICAL: 'bad', ERROR: 'bad', WARNING: 'warn', INFORMATIONAL: 'idle' };

export function mount(el) {
  const sevBoxes = SEVERITIES.map((sv) => h('input', { type: 'checkbox', name: 'severity', value: sv, id: `sev-${sv.toLowerCase()}` }));
  const ctlSelect = h('select', { id: 'ev-controller', name: 'controller' },
    h('option', { value: 'both' }, 'A and B'), h('option', { value: 'a' }, 'A only'), h('option', { value: 'b' }, 'B only'));
  const lastSelect = h('select', { id: 'ev-last', name: 'last' }, COUNTS.map((n) => h('option', { value: n, selected: n === 200 }, `Newest ${n}`)));
  const codeInput = h('input', { id: 'ev-code', name: 'code', inputmode: 'numeric', placeholder: 'e.g. 269', autocomplete: 'off' });
  const textInput = h('input', { id: 'ev-text', name: 'text', type: 'search', placeholder: 'Words in the message', autocomplete: 'off' });
  const list = h('div', { class: 'events' });
  const count = h('span', { class: 'muted', 'aria-live': 'polite' });
  let events = [];
  let info = '';

  function draw() {
    const code = codeInput.value.trim();
    const words = textInput.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = events.filter((e) => (!code || String(e['event-code']) === code) &&
      words.every((w) => `${e.message} ${e['event-id']}`.toLowerCase().includes(w)));
    count.textContent = `${shown.length} of ${events.length} events`;
    if (!shown.length) {
      replace(list, h('p', { class: 'empty muted' }, events.length ? 'No event matches these filters.' : 'No events.'));
      return;
    }
    replace(list, info ? notice('info', info) : null, h('table', { class: 'events-table' },
      h('thead', null, h('tr', null, ['Time', 'Severity', 'Ctl', 'Code', 'ID', 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, shown.map((e) => h('tr', { class: `sev-${String(e.severity).toLowerCase()}`, 'data-code': e['event-code'] },
        h('td', { class: 'mono ev-time', 'data-label': 'Time' }, e['time-stamp']),
        h('td', { class: 'ev-sev', 'data-label': 'Severity' }, h('span', { class: ['sev', `sev-${SEV_TONE[e.severity] || 'idle'}`] }, e.severity)),
        h('td', { class: 'ev-ctl', 'data-label': 'Controller' }, e.controller),
        h('td', { class: 'mono ev-code', 'data-label': 'Code' }, e['event-code']),
        h('td', { class: 'mono ev-id', 'data-label': 'ID' }, e['event-id']),
        h('td', { class: 'ev-msg', 'data-label': 'Message' }, e.message))))));
  }

  async function load() {
    const words = ['show', 'events', 'last', lastSelect.value, ctlSelect.value];
    for (const b of sevBoxes) if (b.checked) words.push(b.value.toLowerCase());
    list.setAttribute('aria-busy', 'true');
    try {
      const doc = await api.run(...words);
      events = doc.events || [];
      info = (doc.status || []).slice(0, -1).map((s) => s.response).join(' ');
      draw();
    } catch (e) {
      replace(list, notice('bad', 'Could not read the events: ', errorText(e)));
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  for (const b of sevBoxes) b.addEventListener('change', load);
  ctlSelect.addEventListener('change', load);
  lastSelect.addEventListener('change', load);
  codeInput.addEventListener('input', draw);
  textInput.addEventListener('input', draw);

  el.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Events'), h('p', { class: 'muted' }, 'Both controllers\u2019 event logs, newest first.')),
    h('section', { class: 'card', 'aria-label': 'Event filters' },
      h('form', { class: 'filters', onsubmit: (ev) => { ev.preventDefault(); load(); } },
        h('fieldset', { class: 'sev-filter' }, h('legend', null, 'Severity'),
          sevBoxes.map((b, i) => h('label', { class: ['chip', `chip-${SEV_TONE[SEVERITIES[i]]}`] }, b, SEVERITIES[i].toLowerCase()))),
        h('div', { class: 'field' }, h('label', { for: 'ev-controller' }, 'Controller'), ctlSelect),
        h('div', { class: 'field' }, h('label', { for: 'ev-last' }, 'How many'), lastSelect),
        h('div', { class: 'field' }, h('label', { for: 'ev-code' }, 'Event code'), codeInput),
        h('div', { class: 'field field-wide' }, h('label', { for: 'ev-text' }, 'Text'), textInput),
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Refresh'), count))),
    h('section', { class: 'card card-flush' }, list));
  load();
  return () => {};
}
