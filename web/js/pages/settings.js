// pages/settings.js: the PFU switch and its limits (`set
// advanced-settings`) and the management protocols (`set protocols`).
// Each change is one command; the page shows what the controller answered
// and reads the settings back.

import * as api from '../api.js';
import { h, replace, notice, errorText } from '../dom.js';
import { PROTOCOLS, PFU_LIMITS } from '../labels.js';

function toggle(id, checked, label, onchange) {
  const input = h('input', { type: 'checkbox', role: 'switch', id, checked, class: 'switch-input', onchange });
  return h('label', { class: 'switch', for: id }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' }, h('span', { class: 'switch-thumb' })),
    h('span', { class: 'switch-label' }, label));
}

export function mount(el) {
  const pfuBody = h('div');
  const protoBody = h('div');
  const pfuMsg = h('div', { 'aria-live': 'polite' });
  const protoMsg = h('div', { 'aria-live': 'polite' });

  el.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Settings'), h('p', { class: 'muted' }, 'Enclosure settings apply to both controllers; each change takes effect at once.')),
    h('div', { class: 'grid-2' },
      h('section', { class: 'card', 'aria-labelledby': 'set-pfu' },
        h('div', { class: 'card-head' }, h('h2', { id: 'set-pfu' }, 'Partner firmware update')), pfuMsg, pfuBody),
      h('section', { class: 'card', 'aria-labelledby': 'set-proto' },
        h('div', { class: 'card-head' }, h('h2', { id: 'set-proto' }, 'Management protocols')), protoMsg, protoBody)));

  async function apply(msgBox, words, reload) {
    msgBox.replaceChildren();
    try {
      const doc = await api.run('set', ...words);
      replace(msgBox, notice('ok', api.messages(doc).join(' ')));
    } catch (e) {
      replace(msgBox, notice('bad', errorText(e)));
    }
    await reload();
  }

  async function loadPfu() {
    let s;
    try {
      s = api.first(await api.run('show', 'advanced-settings'), 'advanced-settings-table') || {};
    } catch (e) {
      replace(pfuBody, notice('bad', 'Could not read the settings: ', errorText(e)));
      return;
    }
    const on = s['partner-firmware-upgrade-numeric'] === 1;
    const auto = s['pfu-auto-rollback-numeric'] === 1;
    const inputs = {};
    const form = h('form', {
      class: 'limits',
      onsubmit: (ev) => {
        ev.preventDefault();
        const words = [];
        for (const [key] of PFU_LIMITS) {
          if (String(inputs[key].value) !== String(s[key])) words.push(key, inputs[key].value);
        }
        if (!words.length) {
          replace(pfuMsg, notice('info', 'Nothing changed.'));
          return;
        }
        apply(pfuMsg, ['advanced-settings', ...words], loadPfu);
      },
    },
    PFU_LIMITS.map(([key, label, unit, help, min, max]) => {
      inputs[key] = h('input', { type: 'number', id: `in-${key}`, name: key, min, max, step: 1, required: true, value: s[key] ?? '', inputmode: 'numeric' });
      return h('div', { class: 'field' },
        h('label', { for: `in-${key}` }, label),
        h('div', { class: 'with-unit' }, inputs[key], h('span', { class: 'unit' }, unit)),
        h('p', { class: 'help' }, help));
    }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn', 'data-action': 'save-limits' }, 'Save limits')));
    replace(pfuBody,
      h('div', { class: 'setting-row' },
        toggle('set-pfu-enabled', on, h('span', null, h('strong', null, 'Partner firmware update'), h('span', { class: 'muted block' },
          on ? 'On: after a firmware load, this controller brings its partner to the same bundle.' : 'Off: a firmware load changes only the controller it was loaded into.')),
        (ev) => apply(pfuMsg, ['advanced-settings', 'partner-firmware-upgrade', ev.target.checked ? 'enabled' : 'disabled'], loadPfu))),
      h('div', { class: 'setting-row' },
        toggle('set-pfu-auto-rollback', auto, h('span', null, h('strong', null, 'Automatic roll-back'), h('span', { class: 'muted block' },
          'When PFU halts, return the updated controller to its previous bundle by itself (once).')),
        (ev) => apply(pfuMsg, ['advanced-settings', 'pfu-auto-rollback', ev.target.checked ? 'enabled' : 'disabled'], loadPfu))),
      form);
  }

  async function loadProtocols() {
    let p;
    try {
      p = api.first(await api.run('show', 'protocols'), 'security-communications-protocols') || {};
    } catch (e) {
      replace(protoBody, notice('bad', 'Could not read the protocols: ', errorText(e)));
      return;
    }
    const thisPage = location.protocol === 'https:' ? 'https' : 'http';
    const present = PROTOCOLS.filter(([prop]) => prop in p);
    const isOn = (prop) => p[`${prop}-numeric`] === 1;
    // A service this controller does not provide is listed by name while
    // it is off; one reported on keeps its switch, so it can be turned off.
    const shown = present.filter(([prop, , , , served]) => served || isOn(prop));
    const absent = present.filter((x) => !shown.includes(x));
    replace(protoBody, h('ul', { class: 'proto-list' }, shown.map(([prop, word, label, note]) => {
      const on = isOn(prop);
      return h('li', { class: 'setting-row' }, toggle(`proto-${word}`, on,
        h('span', null, h('strong', null, label), word === thisPage ? h('span', { class: 'tag' }, 'this page') : null,
          note ? h('span', { class: 'muted block' }, note) : null),
        async (ev) => {
          const want = ev.target.checked;
          if (!want && word === thisPage && !confirm(`Turn off ${label}? This page uses it: the browser loses the connection once it is off.`)) {
            ev.target.checked = true;
            return;
          }
          await apply(protoMsg, ['protocols', word, want ? 'enabled' : 'disabled'], loadProtocols);
        }));
    })),
    absent.length ? h('p', { class: 'muted not-provided' }, h('strong', null, 'Not provided by this controller (off): '),
      absent.map(([, , label]) => label).join(', '), '.') : null);
  }

  loadPfu();
  loadProtocols();
  return () => {};
}
