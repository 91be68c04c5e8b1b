// halt.js: the halted-PFU banner shown above every page, and the roll-back
// action. A halt leaves the two controllers on different bundles; the
// banner says so in red with the two ways out (docs/pfu.md): roll forward
// (bring the partner to the target) or roll back this controller.

import * as api from './api.js';
import { h, errorText } from './dom.js';
import * as store from './store.js';

let advice = { key: '', text: '', previous: '', reason: '' };

// The controller's own words for the ways out (show
// firmware-update-status, "PFU Ways Out"), fetched once per halt.
async function loadAdvice(key) {
  advice = { key, text: '', previous: '', reason: '' };
  try {
    const doc = await api.run('show', 'firmware-update-status');
    const f = api.first(doc, 'firmware-update-status') || {};
    const text = f['pfu-advice'] && f['pfu-advice'] !== 'N/A' ? f['pfu-advice'] : '';
    const reason = f['pfu-reason'] && f['pfu-reason'] !== 'N/A' ? f['pfu-reason'] : '';
    const m = /return this controller to (\S+?) \(/.exec(text);
    advice = { key, text, previous: m ? m[1] : '', reason };
  } catch {
    advice = { key, text: '', previous: '', reason: '' };
  }
}

// "3 attempts failed; last while X: Y" -> "while X: Y" (the count is
// said already).
function lastFailure(reason) {
  const m = /^\d+ attempts? failed; last (while .*)$/.exec(reason);
  return m ? m[1] : `: ${reason}`;
}

function controllerOf(p, id) {
  return (p.controllers || []).find((c) => String(c.controller).toUpperCase() === id) || {};
}

export function confirmRollback({ local, previous, target }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'rb-title' },
      h('h2', { id: 'rb-title' }, `Roll back controller ${local}?`),
      h('p', null, `Controller ${local} returns to ${previous ? `bundle ${previous}` : 'the bundle in its other flash bank'}`,
        ` and restarts into it, so that both controllers run the same firmware again. `,
        `Bundle ${target || 'the new bundle'} stays on its other bank; PFU stops trying.`),
      h('p', null, 'Its management services are away for the restart (about a minute); this page reconnects by itself.'),
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close('cancel') }, 'Cancel'),
        h('button', { type: 'button', class: 'btn btn-danger', 'data-action': 'confirm-rollback', onclick: () => dlg.close('ok') },
          `Roll back controller ${local}`)));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export async function rollback(local, target) {
  const ok = await confirmRollback({ local, previous: advice.previous, target });
  if (!ok) return null;
  // Stamped before the command: its restart may come before its reply.
  const since = Date.now();
  api.expectRestart();
  const doc = await api.run('rollback', 'firmware', 'noprompt');
  store.setRollback({ to: advice.previous, from: target, since, local });
  return doc;
}

// What the operator chose on each page (the ways out shown or folded),
// and what the last roll-back attempt answered: both outlive re-renders.
const expanded = {};
let rollbackNote = null; // { ok, text }

// What the banner depends on beyond the progress document, so that the
// frame re-renders it only when something it shows changed.
export function haltSignature() {
  return JSON.stringify([advice, rollbackNote, expanded]);
}

// The banner for the current state, or null when PFU is not halted. On
// the Settings and Events pages the ways out start folded (the banner
// still opens the page); System and Firmware show them.
export function haltBanner(state, identity, page) {
  const p = state.progress;
  if (!p || !store.isHalted(p)) return null;
  const pfu = p.pfu || {};
  const key = `${pfu.target}/${pfu.attempts}`;
  if (advice.key !== key) {
    loadAdvice(key).then(() => store.pollNow());
  }
  const local = identity.local || 'A';
  const partner = local === 'A' ? 'B' : 'A';
  const target = pfu.target || 'the new bundle';
  const partnerBundle = controllerOf(p, partner)['bundle-version'] || 'its old bundle';
  const result = h('div', { class: 'halt-status', role: 'status' },
    rollbackNote ? (rollbackNote.ok ? rollbackNote.text : [h('strong', null, 'Roll-back refused: '), rollbackNote.text]) : null);
  const button = h('button', {
    type: 'button', class: 'btn btn-danger', 'data-action': 'rollback',
    onclick: async () => {
      button.disabled = true;
      rollbackNote = null;
      result.replaceChildren();
      try {
        const doc = await rollback(local, target);
        if (doc) rollbackNote = { ok: true, text: api.messages(doc).join(' ') };
      } catch (e) {
        rollbackNote = { ok: false, text: errorText(e) };
      } finally {
        button.disabled = false;
        store.pollNow();
      }
    },
  }, `Roll back controller ${local}\u2026`);
  // The partner's page: on the family's standard port it is at the same
  // port of the partner's address; elsewhere only the address is known.
  const partnerLink = identity.partnerAddress && !location.port
    ? h('a', { href: `${location.protocol}//${identity.partnerAddress}/`, target: '_blank', rel: 'noopener' },
      `controller ${partner}'s management page`)
    : `controller ${partner}'s management page${identity.partnerAddress ? ` (${identity.partnerAddress})` : ''}`;
  const open = page in expanded ? expanded[page] : !['settings', 'events'].includes(page);
  const details = h('details', { class: 'halt-details', open },
    h('summary', null, 'The two ways out: roll forward or roll back'),
    h('div', { class: 'halt-ways' },
      h('div', { class: 'halt-way' },
        h('h3', null, '1. Roll forward'),
        h('p', null, `Fix controller ${partner} (its events say what failed), then load ${target} into it: from `,
          partnerLink, ', or over FTP with ', h('code', null, 'put BUNDLE flash:force'),
          `. The halt clears by itself once controller ${partner} runs ${target}.`)),
      h('div', { class: 'halt-way' },
        h('h3', null, '2. Roll back'),
        h('p', null, `Return controller ${local} to ${advice.previous || 'its previous bundle'}, so both match again. It restarts into its other flash bank.`),
        button, result)),
    advice.text ? h('p', { class: 'halt-advice' }, h('strong', null, 'Controller says: '), advice.text) : null);
  details.addEventListener('toggle', () => {
    expanded[page] = details.open;
  });
  return h('section', { class: 'halt-banner', role: 'alert', 'aria-labelledby': 'halt-title', 'data-banner': 'pfu-halted' },
    h('div', { class: 'halt-head' },
      h('span', { class: 'halt-icon', 'aria-hidden': 'true' }, '!'),
      h('div', null,
        h('h2', { id: 'halt-title' }, 'Partner firmware update halted'),
        h('p', null,
          `Controller ${local} runs ${target}; controller ${partner} is still on ${partnerBundle}. `,
          `PFU stopped after ${pfu.attempts ?? '?'} of ${pfu.limit ?? '?'} failed attempts`,
          advice.reason ? '. Last failure ' : '.', advice.reason ? h('span', { class: 'halt-reason', 'data-field': 'halt-reason' }, lastFailure(advice.reason)) : null),
        h('p', { class: 'halt-next' }, 'The controllers run different firmware until you take one of the two ways out.'))),
    details);
}
