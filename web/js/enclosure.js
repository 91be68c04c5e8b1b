// enclosure.js: the front of the 2U chassis as SVG: controller A above B,
// each with its state colour, bundle version, health and partner link.
// Two drawings of the same facts: a wide one, and a compact one for narrow
// screens (where the wide one's text would shrink below reading size).

import { s } from './dom.js';

const LED = { ok: '#34c759', busy: '#f5b301', bad: '#ff453a', idle: '#9aa4b2' };
const STATE_FILL = { ok: '#1f7a3a', busy: '#8a5a00', bad: '#b3261e', idle: '#4b5563' };

// What one controller module shows, from the page's facts.
//   c: { id, status, health, bundle, stage, reachable, link, local }
export function moduleTone(c) {
  if (!c.reachable || /down/i.test(c.status)) return 'bad';
  if (c.stage && c.stage !== 'idle') return 'busy';
  if (/operational/i.test(c.status) && /^ok$/i.test(c.health)) return 'ok';
  if (/operational/i.test(c.status)) return 'busy';
  return 'bad';
}

export function moduleStateText(c) {
  if (!c.reachable) return 'Not reachable';
  if (c.stage && c.stage !== 'idle') return STAGE_WORDS[c.stage] || c.stage;
  return c.status || 'Unknown';
}

const STAGE_WORDS = {
  receiving: 'Receiving firmware',
  verifying: 'Verifying firmware',
  flashing: 'Writing firmware',
  activating: 'Activating firmware',
  restarting: 'Restarting',
  pfu: 'Updating partner',
};

function ports(x, y) {
  const g = s('g', { 'aria-hidden': 'true' });
  const labels = ['MGMT', 'SAS 0', 'SAS 1', 'SVC'];
  labels.forEach((l, i) => {
    const px = x + i * 58;
    g.append(s('rect', { x: px, y, width: 44, height: 26, rx: 3, fill: '#0f141b', stroke: '#5a6677', 'stroke-width': 1 }));
    g.append(s('rect', { x: px + 12, y: y + 6, width: 20, height: 14, rx: 1.5, fill: '#2b3440' }));
    g.append(s('text', { x: px + 22, y: y + 40, 'text-anchor': 'middle', class: 'svg-port' }, l));
  });
  return g;
}

function ears(w, hgt) {
  return [
    s('rect', { x: 0, y: 6, width: 26, height: hgt - 12, rx: 4, fill: '#b9c1cc', stroke: '#8e98a6' }),
    s('circle', { cx: 13, cy: 30, r: 5, fill: '#7a8594' }),
    s('circle', { cx: 13, cy: hgt - 30, r: 5, fill: '#7a8594' }),
    s('rect', { x: w - 26, y: 6, width: 26, height: hgt - 12, rx: 4, fill: '#b9c1cc', stroke: '#8e98a6' }),
    s('circle', { cx: w - 13, cy: 30, r: 5, fill: '#7a8594' }),
    s('circle', { cx: w - 13, cy: hgt - 30, r: 5, fill: '#7a8594' }),
  ];
}

// The partner link as this controller sees it: a dot and a word.
function link(up) {
  return [
    s('tspan', { class: 'svg-key' }, 'Partner link '),
    s('tspan', { fill: up ? LED.ok : LED.bad, 'font-weight': 700 }, up ? '\u25CF Up' : '\u25CB Down'),
  ];
}

function moduleWide(c, x, y, w, hgt, linkUp) {
  const tone = moduleTone(c);
  const g = s('g', { class: 'svg-module', 'data-controller': c.id, 'data-tone': tone });
  g.append(
    s('rect', { x, y, width: w, height: hgt, rx: 8, fill: '#2a3340', stroke: c.local ? '#6ea8fe' : '#10151c', 'stroke-width': c.local ? 3 : 2 }),
    s('rect', { x: x + 10, y: y + 10, width: 8, height: hgt - 20, rx: 4, fill: '#56606e' }),
    s('rect', { x: x + 30, y: y + 14, width: 54, height: hgt - 28, rx: 6, fill: STATE_FILL[tone] }),
    s('text', { x: x + 57, y: y + hgt / 2 + 13, 'text-anchor': 'middle', class: 'svg-letter' }, c.id),
    s('circle', { cx: x + 108, cy: y + 28, r: 9, fill: LED[tone], class: tone === 'busy' ? 'led-blink' : null }),
    s('text', { x: x + 126, y: y + 35, class: 'svg-title' }, `Controller ${c.id}${c.local ? ' (this page)' : ''}`),
    s('text', { x: x + 100, y: y + 64, class: 'svg-state' }, moduleStateText(c)),
    s('text', { x: x + 100, y: y + 92, class: 'svg-detail' },
      s('tspan', { class: 'svg-key' }, 'Bundle '), c.bundle || 'N/A',
      s('tspan', { class: 'svg-key', dx: 18 }, 'Health '), c.health || 'N/A'),
    s('line', { x1: x + 420, y1: y + 18, x2: x + 420, y2: y + hgt - 18, stroke: '#45505f', 'stroke-width': 1 }),
    s('text', { x: x + 440, y: y + 48, class: 'svg-key svg-small' }, 'PARTNER LINK'),
    s('text', { x: x + 440, y: y + 76, class: ['svg-detail', linkUp ? 'svg-up' : 'svg-down'] }, linkUp ? '\u25CF Up' : '\u25CB Down'),
    ports(x + 570, y + 20),
  );
  return g;
}

function moduleCompact(c, x, y, w, hgt, linkUp) {
  const tone = moduleTone(c);
  const g = s('g', { class: 'svg-module', 'data-controller': c.id, 'data-tone': tone });
  g.append(
    s('rect', { x, y, width: w, height: hgt, rx: 8, fill: '#2a3340', stroke: c.local ? '#6ea8fe' : '#10151c', 'stroke-width': c.local ? 3 : 2 }),
    s('rect', { x: x + 12, y: y + 14, width: 48, height: hgt - 28, rx: 6, fill: STATE_FILL[tone] }),
    s('text', { x: x + 36, y: y + hgt / 2 + 12, 'text-anchor': 'middle', class: 'svg-letter' }, c.id),
    s('circle', { cx: x + 84, cy: y + 30, r: 9, fill: LED[tone], class: tone === 'busy' ? 'led-blink' : null }),
    s('text', { x: x + 100, y: y + 37, class: 'svg-title' }, moduleStateText(c)),
    s('text', { x: x + 76, y: y + 70, class: 'svg-detail' }, s('tspan', { class: 'svg-key' }, 'Bundle '), c.bundle || 'N/A'),
    s('text', { x: x + 76, y: y + 100, class: 'svg-detail' }, s('tspan', { class: 'svg-key' }, 'Health '), c.health || 'N/A'),
    s('text', { x: x + 76, y: y + 130, class: 'svg-detail' }, link(linkUp)),
  );
  return g;
}

// The whole enclosure; linkUp: the partner link between A and B.
export function drawEnclosure(controllers, { linkUp, compact, title }) {
  const [a, b] = controllers;
  if (compact) {
    const w = 380;
    const hgt = 344;
    return s('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'enclosure-svg', role: 'img', 'aria-label': title },
      s('title', null, title),
      s('rect', { x: 2, y: 2, width: w - 4, height: hgt - 4, rx: 12, fill: '#c9d0d9', stroke: '#8e98a6', 'stroke-width': 2 }),
      moduleCompact(a, 12, 14, w - 24, 152, linkUp),
      moduleCompact(b, 12, 178, w - 24, 152, linkUp));
  }
  const w = 880;
  const hgt = 250;
  return s('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'enclosure-svg', role: 'img', 'aria-label': title },
    s('title', null, title),
    ...ears(w, hgt),
    s('rect', { x: 26, y: 2, width: w - 52, height: hgt - 4, rx: 6, fill: '#c9d0d9', stroke: '#8e98a6', 'stroke-width': 2 }),
    moduleWide(a, 40, 14, w - 80, 108, linkUp),
    moduleWide(b, 40, 128, w - 80, 108, linkUp));
}
