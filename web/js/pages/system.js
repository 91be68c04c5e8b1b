// pages/system.js: the enclosure at a glance: the chassis drawing, the
// system's health and its reason, redundancy, and each controller.

import * as api from '../api.js';
import { h, replace, pill, toneOfHealth, toneOfStatus, notice, errorText } from '../dom.js';
import { drawEnclosure, moduleTone, moduleStateText } from '../enclosure.js';

const REFRESH_MS = 5000;
const COMPACT_BELOW_PX = 620;

function fact(label, value, extra) {
  return h('div', { class: 'fact' }, h('dt', null, label), h('dd', null, value, extra || null));
}

export function mount(el, { identity, store }) {
  const picture = h('div', { class: 'enclosure-frame' });
  const summary = h('div', { class: 'summary' });
  const cards = h('div', { class: 'grid-2' });
  const msg = h('div');
  let data = null;
  let last = 0;
  let busy = false;
  let compact = null;

  el.append(
    h('div', { class: 'page-head' }, h('h1', null, 'System'), h('p', { class: 'muted' }, 'The enclosure and its two controllers.')),
    msg,
    h('section', { class: 'card', 'aria-labelledby': 'enc-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'enc-title' }, 'Enclosure'),
        h('div', { class: 'legend', 'aria-hidden': 'true' },
          h('span', { class: 'lg lg-ok' }, 'Operational'), h('span', { class: 'lg lg-busy' }, 'Updating'), h('span', { class: 'lg lg-bad' }, 'Down'))),
      picture, summary),
    cards);

  function controllersView() {
    const progress = store.state.progress;
    const ids = ['A', 'B'];
    return ids.map((id) => {
      const c = (data.controllers || []).find((x) => x['controller-id'] === id) || {};
      const v = (data.versions || []).find((x) => x['object-name'] === `controller-${id.toLowerCase()}-versions`) || {};
      const p = (progress?.controllers || []).find((x) => String(x.controller).toUpperCase() === id);
      return {
        id,
        status: c.status || 'Unknown',
        health: c.health || 'N/A',
        healthReason: c['health-reason'] || '',
        bundle: (p && p['bundle-version']) || v['bundle-version'] || 'N/A',
        stage: p ? p.stage : 'idle',
        reachable: p ? p.reachable !== false : !/down/i.test(c.status || ''),
        local: identity.local === id,
        serial: c['serial-number'] || '',
        address: c['ip-address'] || '',
        position: c.position || '',
        scfw: c['sc-fw'] || v['sc-fw'] || '',
        mcfw: v['mc-fw'] || '',
      };
    });
  }

  function draw() {
    if (!data) return;
    const ctls = controllersView();
    const sys = data.system || {};
    const red = data.redundancy || {};
    const linkUp = /operational/i.test(sys['other-MC-status'] || '');
    compact = picture.clientWidth > 0 && picture.clientWidth < COMPACT_BELOW_PX;
    replace(picture, drawEnclosure(ctls, {
      linkUp, compact,
      title: ctls.map((c) => `Controller ${c.id}: ${moduleStateText(c)}, bundle ${c.bundle}, health ${c.health}`).join('; ') +
        `; partner link ${linkUp ? 'up' : 'down'}`,
    }));
    replace(summary, h('dl', { class: 'facts' },
      fact('System health', pill(sys.health || 'N/A', toneOfHealth(sys.health), { 'data-field': 'system-health' }),
        sys['health-reason'] ? h('div', { class: 'reason', 'data-field': 'health-reason' }, sys['health-reason']) : h('div', { class: 'reason muted' }, 'No fault reported.')),
      fact('Redundancy', pill(red['redundancy-status'] || 'N/A', /^redundant$/i.test(red['redundancy-status'] || '') ? 'ok' : 'warn'),
        h('div', { class: 'reason muted' }, red['redundancy-mode'] || '')),
      fact('Partner link', pill(linkUp ? 'Up' : 'Down', linkUp ? 'ok' : 'bad'),
        h('div', { class: 'reason muted' }, `Other MC: ${sys['other-MC-status'] || 'N/A'}`)),
      fact('System', h('span', null, sys['system-name'] || ''), h('div', { class: 'reason muted' }, `${sys['vendor-name'] || ''} ${sys['product-id'] || ''} \u00b7 SN ${sys['midplane-serial-number'] || ''}`))));
    replace(cards, ...ctls.map((c) => h('section', { class: 'card ctl-card', 'data-controller': c.id, 'aria-labelledby': `ctl-${c.id}` },
      h('div', { class: 'card-head' },
        h('h2', { id: `ctl-${c.id}` }, `Controller ${c.id}`, c.local ? h('span', { class: 'tag' }, 'this page') : null),
        pill(moduleStateText(c), moduleTone(c) === 'ok' ? 'ok' : moduleTone(c) === 'busy' ? 'busy' : toneOfStatus(c.status))),
      h('dl', { class: 'kv' },
        h('dt', null, 'Health'), h('dd', null, pill(c.health, toneOfHealth(c.health)), c.healthReason ? h('div', { class: 'reason' }, c.healthReason) : null),
        h('dt', null, 'Bundle'), h('dd', { class: 'mono', 'data-field': 'bundle-version' }, c.bundle),
        h('dt', null, 'Storage controller'), h('dd', { class: 'mono' }, c.scfw || 'N/A'),
        h('dt', null, 'Management controller'), h('dd', { class: 'mono' }, c.mcfw || 'N/A'),
        h('dt', null, 'Position'), h('dd', null, c.position || 'N/A'),
        h('dt', null, 'Address'), h('dd', { class: 'mono' }, c.address || 'N/A'),
        h('dt', null, 'Serial number'), h('dd', { class: 'mono' }, c.serial || 'N/A')))));
  }

  async function refresh(force) {
    if (busy || (!force && Date.now() - last < REFRESH_MS)) return;
    busy = true;
    try {
      const [sys, ctls, vers, red] = await Promise.all([
        api.run('show', 'system'), api.run('show', 'controllers'), api.run('show', 'versions'), api.run('show', 'redundancy-mode')]);
      data = {
        system: api.first(sys, 'system'),
        controllers: ctls.controllers || [],
        versions: vers.versions || [],
        redundancy: api.first(red, 'redundancy'),
      };
      last = Date.now();
      msg.replaceChildren();
      draw();
    } catch (e) {
      if (!e.network) replace(msg, notice('bad', 'Could not read the system: ', errorText(e)));
      else draw();
    } finally {
      busy = false;
    }
  }

  const off = store.subscribe(() => {
    draw();
    refresh(false);
  });
  const ro = new ResizeObserver(() => {
    const now = picture.clientWidth > 0 && picture.clientWidth < COMPACT_BELOW_PX;
    if (now !== compact) draw();
  });
  ro.observe(picture);
  refresh(true);
  return () => {
    off();
    ro.disconnect();
  };
}
