// pages/firmware.js: both controllers' versions side by side, the bundle
// upload with its progress through verify, flash, restart and PFU to the
// end, and the PFU's status and attempt history.

import * as api from '../api.js';
import { h, replace, pill, notice, errorText, formatBytes } from '../dom.js';
import { VERSION_FIELDS, PFU_EVENT_CODE } from '../labels.js';
import { rollback } from '../halt.js';
import { readBundleManifest } from '../bundle.js';

const VERSIONS_REFRESH_MS = 10000;
const BUSY_REFRESH_MS = 2000; // versions and history while anything moves
const HISTORY_EVENTS = 300; // newest events searched for PFU progress
const HISTORY_SHOWN = 25;

// The steps of an update and the share of the bar each one fills.
const STEPS = [
  { id: 'upload', label: 'Upload', from: 0, to: 35 },
  { id: 'install', label: 'Verify & write', from: 35, to: 58 },
  { id: 'restart', label: 'Restart', from: 58, to: 68 },
  { id: 'pfu', label: 'Partner update', from: 68, to: 99 },
  { id: 'done', label: 'Done', from: 100, to: 100 },
];
const INSTALL_STAGES = ['receiving', 'verifying', 'flashing', 'activating'];
const STAGE_WORDS = {
  receiving: 'receiving the bundle',
  verifying: 'verifying the bundle',
  flashing: 'writing the flash',
  activating: 'activating the new bank',
  restarting: 'restarting',
  pfu: 'partner update running',
};

function ctlOf(p, id) {
  return (p?.controllers || []).find((c) => String(c.controller).toUpperCase() === id);
}

function pfuTone(status) {
  const v = String(status || '').toLowerCase();
  if (v === 'halted') return 'bad';
  if (v === 'complete') return 'ok';
  if (v === 'idle' || v === 'disabled' || !v) return 'idle';
  return 'busy';
}

export function mount(el, { identity, store }) {
  const versionsBody = h('div', { class: 'table-wrap' });
  const versionsNote = h('div');
  const pfuBody = h('div');
  const historyBody = h('div');
  const updateCard = h('section', { class: 'card', 'aria-labelledby': 'upd-title' });
  let versions = null;
  let lastVersions = 0;
  let lastHistory = 0;
  let flow = null; // the update this page started, see startUpdate()
  let file = null;
  let manifest = null;
  let readiness = null;
  let disposed = false;

  el.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Firmware'), h('p', { class: 'muted' }, 'Versions, updates and the partner firmware update (PFU).')),
    h('section', { class: 'card', 'aria-labelledby': 'ver-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'ver-title' }, 'Installed versions')),
      versionsNote, versionsBody),
    updateCard,
    h('div', { class: 'grid-2 grid-pfu' },
      h('section', { class: 'card', 'aria-labelledby': 'pfu-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'pfu-title' }, 'Partner firmware update')), pfuBody),
      h('section', { class: 'card', 'aria-labelledby': 'hist-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'hist-title' }, 'PFU history')), historyBody)));

  // ---- versions -------------------------------------------------------
  function drawVersions() {
    if (!versions) return;
    const a = versions.find((o) => o['object-name'] === 'controller-a-versions') || {};
    const b = versions.find((o) => o['object-name'] === 'controller-b-versions') || {};
    const same = a['bundle-version'] && a['bundle-version'] === b['bundle-version'];
    replace(versionsNote, same
      ? notice('ok', 'Both controllers run bundle ', h('strong', null, a['bundle-version']), '.')
      : notice('warn', 'The controllers run different bundles: A ', h('strong', null, a['bundle-version'] || 'N/A'),
        ', B ', h('strong', null, b['bundle-version'] || 'N/A'), '.'));
    const head = h('tr', null, h('th', { scope: 'col' }, 'Component'),
      h('th', { scope: 'col' }, 'Controller A', identity.local === 'A' ? h('span', { class: 'tag' }, 'this page') : null),
      h('th', { scope: 'col' }, 'Controller B', identity.local === 'B' ? h('span', { class: 'tag' }, 'this page') : null));
    const na = (v) => v === 'N/A' || v === '';
    const row = ([key, label]) => {
      const va = a[key] ?? 'N/A';
      const vb = b[key] ?? 'N/A';
      const differs = String(va) !== String(vb);
      return h('tr', { class: [differs && 'differs', key === 'bundle-version' && 'key-row'], 'data-field': key },
        h('th', { scope: 'row' }, label, differs ? h('span', { class: 'tag tag-warn' }, 'differs') : null),
        h('td', { class: 'mono', 'data-controller': 'A', 'data-label': 'A' }, String(va)),
        h('td', { class: 'mono', 'data-controller': 'B', 'data-label': 'B' }, String(vb)));
    };
    // Components neither controller reports (no such hardware here) are
    // listed by name under the table rather than as rows of N/A.
    const reported = VERSION_FIELDS.filter(([key]) => !(na(a[key] ?? 'N/A') && na(b[key] ?? 'N/A')));
    const absent = VERSION_FIELDS.filter((f) => !reported.includes(f));
    replace(versionsBody, h('table', { class: 'versions' }, h('thead', null, head), h('tbody', null, reported.map(row))),
      absent.length ? h('details', { class: 'report na-list' },
        h('summary', null, `${absent.length} more components not reported on this model (N/A)`),
        h('p', { class: 'muted' }, absent.map(([, label]) => label).join(' \u00b7 '))) : null);
  }

  function refreshDue(last, idleMs) {
    const busy = (flow && !flow.finished) || store.isBusy();
    return Date.now() - last >= (busy ? BUSY_REFRESH_MS : idleMs);
  }

  async function refreshVersions(force) {
    if (!force && !refreshDue(lastVersions, VERSIONS_REFRESH_MS)) return;
    lastVersions = Date.now();
    try {
      versions = (await api.run('show', 'versions')).versions || [];
      drawVersions();
    } catch (e) {
      if (!e.network) replace(versionsNote, notice('bad', 'Could not read the versions: ', errorText(e)));
    }
  }

  // ---- PFU status and history ----------------------------------------
  function drawPfu(p) {
    if (!p) return;
    const pfu = p.pfu || {};
    const status = pfu.status || 'Unknown';
    replace(pfuBody,
      h('dl', { class: 'kv' },
        h('dt', null, 'Status'), h('dd', null, pill(status, pfuTone(status), { 'data-field': 'pfu-status' })),
        h('dt', null, 'Target bundle'), h('dd', { class: 'mono' }, pfu.target || 'N/A'),
        h('dt', null, 'Attempts'), h('dd', null, `${pfu.attempts ?? 0} of ${pfu.limit ?? '?'}`),
        h('dt', null, /halted/i.test(status) ? 'Ways out' : 'Detail'), h('dd', { 'data-field': 'pfu-message' }, pfu.message || '\u2014')),
      p['last-codeload'] ? h('details', { class: 'report' },
        h('summary', null, 'Last code load report'), h('pre', null, p['last-codeload'])) : null,
      status.toLowerCase() === 'halted'
        ? h('div', { class: 'pfu-actions' },
          h('button', {
            type: 'button', class: 'btn btn-danger', 'data-action': 'rollback-firmware-page',
            onclick: async (ev) => {
              ev.target.disabled = true;
              try {
                await rollback(identity.local || 'A', pfu.target);
              } catch (e) {
                alertIn(pfuBody, e);
              } finally {
                ev.target.disabled = false;
              }
            },
          }, `Roll back controller ${identity.local || 'A'}\u2026`),
          h('span', { class: 'muted' }, 'or roll forward: see the red banner above.'))
        : null);
  }

  function alertIn(where, e) {
    where.append(notice('bad', errorText(e)));
  }

  async function refreshHistory(force) {
    if (!force && !refreshDue(lastHistory, VERSIONS_REFRESH_MS)) return;
    lastHistory = Date.now();
    try {
      const doc = await api.run('show', 'events', 'last', HISTORY_EVENTS);
      const list = (doc.events || []).filter((e) => String(e['event-code']) === PFU_EVENT_CODE).slice(0, HISTORY_SHOWN);
      if (!list.length) {
        replace(historyBody, h('p', { class: 'muted' }, 'No partner firmware update has run recently.'));
        return;
      }
      replace(historyBody, h('ol', { class: 'timeline' }, list.map((e) => {
        const m = e.message.replace(/^Partner Firmware Update progress: /, '');
        return h('li', { class: ['tl', `tl-${String(e.severity).toLowerCase()}`] },
          h('div', { class: 'tl-meta' }, h('time', null, e['time-stamp']), h('span', { class: 'tag' }, `Controller ${e.controller}`)),
          h('div', { class: 'tl-msg' }, m));
      })));
    } catch (e) {
      if (!e.network) replace(historyBody, notice('bad', 'Could not read the events: ', errorText(e)));
    }
  }

  // ---- the update ------------------------------------------------------
  const fileInput = h('input', { type: 'file', id: 'bundle-file', accept: '.bundle,application/x-tar', class: 'visually-hidden' });
  const forceBox = h('input', { type: 'checkbox', id: 'bundle-force' });
  const startButton = h('button', { type: 'button', class: 'btn btn-primary', 'data-action': 'start-update', disabled: true }, 'Start update');
  const fileInfo = h('div', { class: 'file-info' });
  const readinessBox = h('div', { class: 'readiness' });
  const progressBox = h('div', { class: 'update-progress' });
  const drop = h('label', { class: 'drop', for: 'bundle-file' },
    h('span', { class: 'drop-icon', 'aria-hidden': 'true' }, '\u21e7'),
    h('span', null, h('strong', null, 'Choose a bundle file'), h('span', { class: 'muted' }, ' or drop it here')),
    fileInput);

  async function chooseFile(f) {
    file = f || null;
    manifest = null;
    fileInfo.replaceChildren();
    if (!file) {
      startButton.disabled = true;
      return;
    }
    try {
      manifest = await readBundleManifest(file);
    } catch {
      manifest = null;
    }
    replace(fileInfo,
      h('div', { class: 'file-name' }, h('span', { class: 'mono' }, file.name), h('span', { class: 'muted' }, ` \u00b7 ${formatBytes(file.size)}`)),
      manifest
        ? h('div', null, 'Bundle ', h('strong', { class: 'mono', 'data-field': 'file-bundle' }, manifest.version),
          manifest.build_date ? h('span', { class: 'muted' }, ` \u00b7 built ${manifest.build_date}`) : null,
          h('span', { class: 'muted' }, ` \u00b7 ${(manifest.components || []).map((c) => c.name).filter((n) => n !== 'bundle.xml').join(', ')}`))
        : notice('warn', 'This file does not start like a firmware bundle; the controller will check it and refuse it if it is not one.'));
    startButton.disabled = !!flow && !flow.finished;
  }

  fileInput.addEventListener('change', () => chooseFile(fileInput.files[0]));
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('drag');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('drag'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('drag');
    if (ev.dataTransfer.files.length) chooseFile(ev.dataTransfer.files[0]);
  });

  async function checkReadiness() {
    try {
      const doc = await api.run('check', 'firmware-upgrade-health');
      const r = api.first(doc, 'code-load-readiness') || {};
      const reasons = (r['code-load-readiness-reasons'] || []).map((x) => [x['readiness-reason'], x['failure-risks'], x['recommended-action']].filter(Boolean).join(' \u2014 '));
      readiness = { pass: /pass/i.test(r['overall-health'] || ''), reasons };
    } catch (e) {
      readiness = e.network ? readiness : { pass: false, reasons: [errorText(e)] };
    }
    if (!readiness) return;
    replace(readinessBox, readiness.pass
      ? notice('ok', 'Ready: the enclosure passes the firmware upgrade health check.')
      : notice('warn', h('strong', null, 'Not ready for an update: '), h('ul', null, readiness.reasons.map((r) => h('li', null, r)))));
  }

  updateCard.append(
    h('div', { class: 'card-head' }, h('h2', { id: 'upd-title' }, 'Update firmware')),
    h('p', { class: 'muted' }, `The bundle goes to controller ${identity.local || 'A'}, which installs it and restarts; `,
      'with partner firmware update enabled it then brings the other controller to the same bundle.'),
    readinessBox,
    h('div', { class: 'upload-row' }, drop, h('div', { class: 'upload-side' }, fileInfo,
      h('div', { class: 'upload-actions' },
        h('label', { class: 'check' }, forceBox, h('span', null, 'Force (', h('code', null, 'flash:force'), '): skip the version and partner checks')),
        startButton))),
    progressBox);

  // The load's report: the progress resource keeps it with its lines (the
  // reply's status object has them joined); the reply's when that is not
  // this load's yet.
  function reportText() {
    const last = store.state.progress?.['last-codeload'] || '';
    return flow.target && last.includes(flow.target) && last.includes('\n') ? last : flow.report;
  }

  function stepIndex(id) {
    return STEPS.findIndex((s) => s.id === id);
  }

  function drawFlow() {
    if (!flow) {
      drawPassive(store.state.progress);
      return;
    }
    const cur = stepIndex(flow.step);
    const pct = Math.max(0, Math.min(100, Math.round(flow.percent)));
    const tone = flow.failed ? 'bad' : flow.finished ? (flow.warn ? 'warn' : 'ok') : 'busy';
    replace(progressBox,
      h('ol', { class: 'stepper', 'aria-label': 'Update steps' }, STEPS.map((s, i) => {
        let st = i < cur ? 'done' : i === cur ? (flow.failed ? 'failed' : flow.finished ? 'done' : 'active') : 'todo';
        if (flow.skipped && flow.skipped.includes(s.id)) st = 'skipped';
        return h('li', { class: ['step', `step-${st}`], 'data-step': s.id, 'data-state': st },
          h('span', { class: 'step-dot', 'aria-hidden': 'true' }, st === 'done' ? '\u2713' : st === 'failed' ? '\u2715' : String(i + 1)),
          h('span', { class: 'step-label' }, s.label));
      })),
      h('div', {
        class: ['bar', `bar-${tone}`], role: 'progressbar', 'aria-label': 'Firmware update progress',
        'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, 'aria-valuetext': flow.label,
        'data-step': flow.finished && !flow.failed ? 'done' : flow.step, 'data-state': flow.failed ? 'failed' : flow.finished ? 'finished' : 'running',
        id: 'update-bar',
      }, h('div', { class: 'bar-fill' })),
      h('div', { class: 'bar-text' }, h('span', { class: 'bar-label', 'data-field': 'update-label' }, flow.label), h('span', { class: 'bar-pct' }, `${pct}%`)),
      flow.detail ? h('div', { class: 'bar-detail muted' }, flow.detail) : null,
      flow.result ? notice(flow.failed ? 'bad' : flow.warn ? 'warn' : 'ok', flow.result) : null,
      flow.report ? h('details', { class: 'report', open: (flow.failed && !flow.replyOk) || null }, h('summary', null, 'Code load report'), h('pre', null, reportText())) : null);
    const fill = progressBox.querySelector('.bar-fill');
    if (fill) fill.style.width = `${pct}%`;
  }

  // Without an update of this page's own: what the progress resource says
  // (a load over FTP, or one started before this page was opened).
  function drawPassive(p) {
    if (!p) return;
    const moving = (p.controllers || []).filter((c) => c.stage && c.stage !== 'idle');
    if (!moving.length) {
      progressBox.replaceChildren();
      return;
    }
    replace(progressBox, moving.map((c) => h('div', { class: 'passive' },
      h('div', { class: 'bar bar-busy', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': c.percent || 0, 'aria-label': `Controller ${c.controller} ${c.stage}` },
        h('div', { class: 'bar-fill' })),
      h('div', { class: 'bar-text' }, h('span', null, `Controller ${c.controller}: ${c.stage}`,
        c.total ? ` \u00b7 ${formatBytes(c.bytes)} of ${formatBytes(c.total)}` : ''), h('span', null, `${c.percent || 0}%`)))));
    progressBox.querySelectorAll('.bar-fill').forEach((f, i) => { f.style.width = `${moving[i].percent || 0}%`; });
  }

  function setStep(step, fraction, label, detail) {
    const s = STEPS[stepIndex(step)];
    flow.step = step;
    flow.percent = Math.max(flow.percent, s.from + (s.to - s.from) * Math.max(0, Math.min(1, fraction)));
    flow.label = label;
    flow.detail = detail || '';
  }

  function finish(ok, result, { warn = false } = {}) {
    flow.finished = true;
    flow.failed = !ok;
    flow.warn = warn;
    flow.result = result;
    if (ok) {
      flow.step = 'done';
      flow.percent = 100;
      flow.label = warn ? 'Finished, with a warning' : 'Done: both controllers run the new bundle';
    }
    startButton.disabled = !file;
    api.restartDone();
    refreshVersions(true);
    refreshHistory(true);
  }

  // Follows the progress resource after the upload: the install on this
  // controller, its restart, then PFU to its end.
  function followProgress(p) {
    if (!flow || flow.finished || !p) return;
    const local = identity.local || 'A';
    const partner = local === 'A' ? 'B' : 'A';
    const me = ctlOf(p, local);
    const other = ctlOf(p, partner);
    const pfu = p.pfu || {};
    const pstat = String(pfu.status || '').toLowerCase();
    if (flow.step === 'install' && me && INSTALL_STAGES.includes(me.stage)) {
      const k = INSTALL_STAGES.indexOf(me.stage);
      setStep('install', (k + (me.percent || 0) / 100) / INSTALL_STAGES.length,
        `Controller ${local}: ${STAGE_WORDS[me.stage]}`, me.total ? `${formatBytes(me.bytes)} of ${formatBytes(me.total)}` : '');
      return;
    }
    if (flow.step === 'restart') {
      if (!me || !me.reachable || me.stage === 'restarting') {
        flow.sawRestart = true;
        setStep('restart', 0.5, `Controller ${local} is restarting on ${flow.target}\u2026`);
        return;
      }
      if (me['bundle-version'] === flow.target && (flow.sawRestart || Date.now() - flow.replyAt > 3000)) {
        setStep('pfu', 0, `Controller ${local} runs ${flow.target}`);
      } else {
        return;
      }
    }
    if (flow.step === 'pfu') {
      if (pstat === 'halted') {
        finish(false, `Partner firmware update halted after ${pfu.attempts} of ${pfu.limit} attempts: controller ${partner} is still on ${other?.['bundle-version'] || 'its old bundle'}. The red banner above gives the two ways out.`);
        flow.label = `Controller ${local} runs ${flow.target}; the partner update halted`;
        return;
      }
      if (pstat === 'disabled') {
        finish(true, `Controller ${local} runs ${flow.target}. Partner firmware update is disabled, so controller ${partner} stays on ${other?.['bundle-version'] || 'its bundle'}: load it there too.`, { warn: true });
        return;
      }
      const partnerDone = other && other.reachable && other['bundle-version'] === flow.target && other.stage === 'idle';
      if ((pstat === 'complete' || pstat === 'idle') && partnerDone && me?.['bundle-version'] === flow.target) {
        finish(true, `Update complete: controllers ${local} and ${partner} both run ${flow.target}.`);
        return;
      }
      if (other && !other.reachable) {
        flow.partnerRestarted = true;
        setStep('pfu', 0.85, `Controller ${partner} is restarting on ${flow.target}\u2026`, pfu.message);
      } else if (other && INSTALL_STAGES.includes(other.stage)) {
        const k = INSTALL_STAGES.indexOf(other.stage);
        setStep('pfu', 0.1 + 0.7 * (k + (other.percent || 0) / 100) / INSTALL_STAGES.length,
          `Controller ${partner}: ${STAGE_WORDS[other.stage]}`,
          [pfu.attempts ? `attempt ${pfu.attempts} of ${pfu.limit}` : '', other.percent ? `${other.percent}%` : ''].filter(Boolean).join(' \u00b7 '));
      } else {
        setStep('pfu', flow.partnerRestarted ? 0.9 : 0.05, `Partner firmware update: ${pfu.status || 'waiting'}`,
          [pfu.attempts ? `attempt ${pfu.attempts} of ${pfu.limit}` : '', pfu.message].filter(Boolean).join(' \u00b7 '));
      }
    }
  }

  async function startUpdate() {
    if (!file) return;
    const local = identity.local || 'A';
    const beforeA = store.state.progress ? ctlOf(store.state.progress, local) : null;
    flow = {
      step: 'upload', percent: 0, label: 'Starting the upload\u2026', detail: '', finished: false, failed: false,
      target: manifest?.version || '', before: beforeA?.['bundle-version'] || '', started: performance.now(), skipped: [],
    };
    startButton.disabled = true;
    drawFlow();
    let lastT = performance.now();
    let lastBytes = 0;
    let rate = 0;
    try {
      const reply = await api.uploadBundle(file, {
        force: forceBox.checked,
        onBytes: (sent, total) => {
          const now = performance.now();
          if (now - lastT > 400) {
            const r = ((sent - lastBytes) / (now - lastT)) * 1000;
            rate = rate ? rate * 0.6 + r * 0.4 : r;
            lastT = now;
            lastBytes = sent;
          }
          setStep('upload', total ? sent / total : 0, `Uploading to controller ${local}`,
            `${formatBytes(sent)} of ${formatBytes(total)}${rate ? ` \u00b7 ${formatBytes(rate)}/s` : ''}`);
          drawFlow();
        },
        onSent: () => {
          setStep('install', 0, `Controller ${local} is verifying and writing the bundle\u2026`);
          drawFlow();
        },
      });
      flow.report = reply.text;
      flow.replyOk = reply.ok;
      flow.replyAt = Date.now();
      if (!reply.ok) {
        finish(false, `Controller ${local} refused the bundle: ${firstLine(reply.text)}`);
      } else {
        const m = /loading bundle (\S+)/.exec(reply.text) || /Bundle (\S+) \(built/.exec(reply.text);
        if (m) flow.target = m[1];
        // The whole load a no-op ("Not attempted (Versions match)" and no
        // "Codeload completed"), not a component of it ("NOT ATTEMPTED").
        if (/Not attempted \(Versions match\)/.test(reply.text) && !/Codeload completed successfully/.test(reply.text)) {
          flow.skipped = ['install', 'restart'];
          setStep('pfu', 0, `Controller ${local} already runs ${flow.target}`);
        } else {
          setStep('restart', 0, `Controller ${local} installed ${flow.target}; restarting\u2026`);
        }
      }
    } catch (e) {
      // The connection drops when the MC restarts before the reply has
      // been read; the progress resource says what happened.
      flow.report = '';
      if (e.network && flow.step === 'install') {
        setStep('restart', 0, `Controller ${local} is restarting\u2026`);
        flow.replyAt = Date.now();
      } else {
        finish(false, errorText(e));
      }
    }
    drawFlow();
    store.pollNow();
  }
  startButton.addEventListener('click', startUpdate);

  function firstLine(text) {
    const lines = String(text || '').split('\n').map((l) => l.trim()).filter(Boolean);
    return lines.find((l) => /fail|error|refus|not /i.test(l)) || lines[0] || 'no reason given';
  }

  const off = store.subscribe((state) => {
    if (disposed) return;
    followProgress(state.progress);
    drawFlow();
    drawPfu(state.progress);
    refreshVersions(false);
    refreshHistory(false);
  });
  refreshVersions(true);
  refreshHistory(true);
  checkReadiness();
  drawPfu(store.state.progress);
  return () => {
    disposed = true;
    off();
  };
}
