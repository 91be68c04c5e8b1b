// api.js: the page's only way to the controller: the family's HTTP API
// (/api/<command words>, `datatype: json`), the upload and progress
// resources. Nothing else calls fetch or XMLHttpRequest.
//
// The session key lives in sessionStorage (this tab only, gone when it is
// closed) and goes out as the `sessionKey` header. The login digest is kept
// in memory only (never stored), and used for one thing: logging in again
// after an MC restart that this page started itself (a firmware load, a
// roll-back), since the restarted MC no longer knows the old key. When the
// page was reloaded since the login (no digest in memory), the reauth
// handler asks the operator for the password without leaving the page.

const STORE_KEY = 'tandem.session';
const USER_KEY = 'tandem.user';
const EXPIRED = -10027;
const RESTART_GRACE_MS = 15 * 60 * 1000; // how long after a load we re-login

let memoryLogin = null; // { user, digest }
let restartExpectedUntil = 0;
let reauthHandler = null; // () => Promise<boolean>, set by the app
let reauthPending = null;
let reloggedAt = 0; // when the last log-in after a restart succeeded

export function setReauthHandler(fn) {
  reauthHandler = fn;
}

export class ApiError extends Error {
  constructor(message, { code = null, httpStatus = 0, network = false } = {}) {
    super(message);
    this.code = code;
    this.httpStatus = httpStatus;
    this.network = network;
  }
}

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY)) || null;
  } catch {
    return null;
  }
}

function saveSession(s) {
  if (s) {
    sessionStorage.setItem(STORE_KEY, JSON.stringify(s));
    sessionStorage.setItem(USER_KEY, s.user);
  } else {
    sessionStorage.removeItem(STORE_KEY);
  }
}

// The last user name logged in from this tab, to fill in the login form.
export function lastUser() {
  return sessionStorage.getItem(USER_KEY) || '';
}

// WebCrypto exists only in a secure context: HTTPS, or HTTP from a
// loopback address (127.0.0.0/8, localhost). Plain HTTP from any other
// address cannot log in; the login page says so.
export function canHash() {
  return !!(window.isSecureContext && window.crypto && crypto.subtle);
}

async function sha256Hex(text) {
  const bytes = new TextEncoder().encode(text);
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The status object that ends every reply (the last of the "status" array).
function statusOf(doc) {
  const list = doc && Array.isArray(doc.status) ? doc.status : [];
  return list.length ? list[list.length - 1] : null;
}

async function readJson(res) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(`The controller answered HTTP ${res.status} with something other than JSON.`,
      { httpStatus: res.status });
  }
}

async function loginWithDigest(user, digest) {
  let res;
  try {
    res = await fetch(`/api/login/${digest}`, {
      headers: { datatype: 'json' },
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError('The controller cannot be reached.', { network: true });
  }
  const st = statusOf(await readJson(res));
  if (!st || st['response-type-numeric'] !== 0 || !st.response) {
    throw new ApiError(st && st.response ? st.response : 'Authentication Unsuccessful',
      { code: st ? st['return-code'] : null, httpStatus: res.status });
  }
  saveSession({ key: st.response, user, since: Date.now() });
  memoryLogin = { user, digest };
}

export async function login(user, password) {
  if (!canHash()) {
    throw new ApiError('This browser withholds WebCrypto on this page: open it over HTTPS.');
  }
  await loginWithDigest(user, await sha256Hex(`${user}_${password}`));
}

export function restartDone() {
  restartExpectedUntil = 0;
}

function expire() {
  saveSession(null);
  memoryLogin = null;
  window.dispatchEvent(new CustomEvent('tandem:expired'));
}

export async function logout() {
  const s = session();
  saveSession(null);
  memoryLogin = null;
  restartExpectedUntil = 0;
  if (s) {
    try {
      await fetch('/api/exit', { headers: { sessionKey: s.key, datatype: 'json' }, cache: 'no-store' });
    } catch {
      /* the key is forgotten here either way */
    }
  }
}

// An MC restart that this page caused: the next expired-key answer logs in
// again with the remembered digest instead of ending the session.
export function expectRestart() {
  restartExpectedUntil = Date.now() + RESTART_GRACE_MS;
}

// Whether this page has logged in again since `since` (ms): the MC it
// talks to has restarted since then, as a restart ends every session.
export function reloggedSince(since) {
  return reloggedAt > since;
}

export function restartExpected() {
  return Date.now() <= restartExpectedUntil;
}

// After an MC restart this page started: a new key, from the remembered
// digest or from the operator. One attempt at a time for all requests.
async function relogin() {
  if (!restartExpected()) return false;
  if (!reauthPending) {
    reauthPending = (async () => {
      if (memoryLogin) {
        try {
          await loginWithDigest(memoryLogin.user, memoryLogin.digest);
          reloggedAt = Date.now();
          return true;
        } catch {
          /* the operator is asked below */
        }
      }
      const ok = reauthHandler ? await reauthHandler() : false;
      if (ok) reloggedAt = Date.now();
      return ok;
    })().finally(() => {
      reauthPending = null;
    });
  }
  return reauthPending;
}

function authHeaders() {
  const s = session();
  return s ? { sessionKey: s.key, datatype: 'json' } : { datatype: 'json' };
}

// A reply whose status says the key is no longer valid.
function isExpired(st) {
  return !!st && st['return-code'] === EXPIRED;
}

// Runs one CLI command, e.g. run('show', 'versions'); resolves to the whole
// JSON document, rejects with ApiError carrying the status's message.
export async function run(...words) {
  const path = '/api/' + words.map((w) => encodeURIComponent(String(w))).join('/');
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
    } catch {
      throw new ApiError('The controller cannot be reached.', { network: true });
    }
    const doc = await readJson(res);
    const st = statusOf(doc);
    if (isExpired(st) || res.status === 401) {
      if (attempt === 0 && (await relogin())) continue;
      expire();
      throw new ApiError('Your session has ended. Log in again.', { code: EXPIRED, httpStatus: res.status });
    }
    if (!st) throw new ApiError('The reply carried no status.', { httpStatus: res.status });
    if (st['response-type-numeric'] === 1) {
      throw new ApiError(st.response || 'The command failed.', { code: st['return-code'], httpStatus: res.status });
    }
    return doc;
  }
}

// The first object of a basetype in a reply, or null.
export function first(doc, basetype) {
  const list = doc && doc[basetype];
  return Array.isArray(list) && list.length ? list[0] : null;
}

// The messages of a reply's status objects ("Info: ..." lines and the
// final one), for showing what a set did.
export function messages(doc) {
  return (doc && Array.isArray(doc.status) ? doc.status : []).map((s) => s.response).filter(Boolean);
}

// GET /firmware/progress: both controllers' stage and the PFU.
export async function progress() {
  for (let attempt = 0; ; attempt++) {
    let res;
    try {
      res = await fetch('/firmware/progress', { headers: authHeaders(), cache: 'no-store' });
    } catch {
      throw new ApiError('The controller cannot be reached.', { network: true });
    }
    const doc = await readJson(res);
    if (doc && Array.isArray(doc.controllers)) return doc;
    const st = statusOf(doc);
    if (isExpired(st) || res.status === 401) {
      if (attempt === 0 && (await relogin())) continue;
      expire();
      throw new ApiError('Your session has ended. Log in again.', { code: EXPIRED, httpStatus: res.status });
    }
    throw new ApiError(st && st.response ? st.response : `Progress unavailable (HTTP ${res.status}).`,
      { httpStatus: res.status, code: st ? st['return-code'] : null });
  }
}

// POST /firmware/bundle as multipart/form-data (field "bundle"), with the
// upload's byte progress: onBytes(sent, total). Resolves to
// { ok, text, code, httpStatus } from the status object once the code load
// has finished on the controller (the reply comes after it).
export function uploadBundle(file, { force = false, onBytes = () => {}, onSent = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    const form = new FormData();
    form.append('bundle', file, file.name);
    xhr.open('POST', force ? '/firmware/bundle?force=1' : '/firmware/bundle');
    const s = session();
    if (s) xhr.setRequestHeader('sessionKey', s.key);
    xhr.setRequestHeader('datatype', 'json');
    xhr.upload.onprogress = (ev) => onBytes(ev.loaded, ev.lengthComputable ? ev.total : file.size);
    xhr.upload.onload = () => onSent();
    xhr.onerror = () => reject(new ApiError('The connection to the controller was lost during the upload.', { network: true }));
    xhr.onload = () => {
      let doc = null;
      try {
        doc = JSON.parse(xhr.responseText);
      } catch {
        /* handled below */
      }
      const st = statusOf(doc);
      if (isExpired(st)) {
        expire();
        reject(new ApiError('Your session has ended. Log in again.', { code: EXPIRED, httpStatus: xhr.status }));
        return;
      }
      const ok = xhr.status >= 200 && xhr.status < 300 && !!st && st['response-type-numeric'] === 0;
      resolve({
        ok,
        text: st && st.response ? st.response : `HTTP ${xhr.status} ${xhr.statusText}`,
        code: st ? st['return-code'] : null,
        httpStatus: xhr.status,
      });
    };
    expectRestart();
    xhr.send(form);
  });
}
