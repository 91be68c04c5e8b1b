// dom.js: building elements. Text from the controller always goes in as
// text nodes (never parsed as HTML), so an event message cannot inject
// markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(el, attrs, children, isSvg) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (!isSvg && (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected')) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children, false);
}

export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children, true);
}

export function replace(el, ...children) {
  el.replaceChildren();
  return fill(el, null, children, false);
}

// A state word as a coloured pill: tone is ok, warn, bad, busy or idle.
export function pill(text, tone, attrs = {}) {
  return h('span', { ...attrs, class: ['pill', `pill-${tone}`, attrs.class] }, h('span', { class: 'dot', 'aria-hidden': 'true' }), text);
}

export function toneOfHealth(health) {
  const v = String(health || '').toLowerCase();
  if (v === 'ok') return 'ok';
  if (v === 'degraded') return 'warn';
  if (v === 'fault' || v === 'error') return 'bad';
  return 'idle';
}

export function toneOfStatus(status) {
  const v = String(status || '').toLowerCase();
  if (v === 'operational') return 'ok';
  if (v === 'down' || v === 'not operational' || v === 'unreachable') return 'bad';
  if (v.includes('restart') || v.includes('start') || v.includes('updat')) return 'busy';
  return 'warn';
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i && n < 10 ? 1 : 0)} ${units[i]}`;
}

// A notice inside a page: tone ok, warn, bad or info.
export function notice(tone, ...children) {
  return h('div', { class: ['notice', `notice-${tone}`], role: tone === 'bad' ? 'alert' : 'status' }, ...children);
}

export function errorText(e) {
  return e && e.message ? e.message : String(e);
}
