// store.js: what every page shares: the progress resource (both
// controllers' stage and the PFU), polled for as long as someone is logged
// in; faster while anything moves. Pages and the banners subscribe.

import * as api from './api.js';

const POLL_IDLE_MS = 4000;
const POLL_BUSY_MS = 1000;

const listeners = new Set();
let timer = null;
let running = false;

export const state = {
  progress: null, // the last /firmware/progress document
  error: null, // ApiError of the last poll, or null
  unreachableSince: 0, // when polls started failing (0: reachable)
  rollback: null, // { to, since } while a roll-back this page started runs
};

export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function notify() {
  for (const fn of listeners) {
    try {
      fn(state);
    } catch (e) {
      console.error(e);
    }
  }
}

export function pfuStatus(p = state.progress) {
  return p && p.pfu ? String(p.pfu.status || '') : '';
}

export function isHalted(p = state.progress) {
  return /halted/i.test(pfuStatus(p));
}

// Anything moving: a load, a restart, a PFU pass.
export function isBusy(p = state.progress) {
  if (!p) return false;
  if (p.codeload && p.codeload !== 'none') return true;
  if ((p.controllers || []).some((c) => !c.reachable || (c.stage && c.stage !== 'idle'))) return true;
  return /pending|sending|verifying|waiting|backoff|back-off/i.test(pfuStatus(p));
}

export async function pollNow() {
  try {
    state.progress = await api.progress();
    state.error = null;
    state.unreachableSince = 0;
  } catch (e) {
    state.error = e;
    if (e.network && !state.unreachableSince) state.unreachableSince = Date.now();
  }
  notify();
  return state;
}

async function loop() {
  if (!running) return;
  await pollNow();
  if (!running) return;
  const fast = isBusy() || state.error || state.rollback;
  timer = setTimeout(loop, fast ? POLL_BUSY_MS : POLL_IDLE_MS);
}

export function start() {
  if (running) return;
  running = true;
  loop();
}

export function stop() {
  running = false;
  clearTimeout(timer);
  state.progress = null;
  state.error = null;
  state.unreachableSince = 0;
  state.rollback = null;
}

export function setRollback(r) {
  state.rollback = r;
  notify();
}
