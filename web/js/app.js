// app.js: the page's frame: login, the header, the navigation between the
// four pages (System, Firmware, Settings, Events), and the banners shown
// above every page (halted PFU, controller unreachable, roll-back running).

import * as api from './api.js';
import { h, replace, pill, toneOfHealth, errorText, notice } from './dom.js';
import * as store from './store.js';
import { haltBanner, haltSignature } from './halt.js';
import * as systemPage from './pages/system.js';
import * as firmwarePage from './pages/firmware.js';
import * as settingsPage from './pages/settings.js';
import * as eventsPage from './pages/events.js';

const PAGES = [
  { id: 'system', title: 'System', page: systemPage },
  { id: 'firmware', title: 'Firmware', page: firmwarePage },
  { id: 'settings', title: 'Settings', page: settingsPage },
  { id: 'events', title: 'Events', page: eventsPage },
];

const root = document.getElementById('app');
const identity = { local: '', partner: '', partnerAddress: '', systemName: '', product: '', health: '', healthReason: '' };
let unmountPage = null;
let frame = null;
let identityTimer = null;
const IDENTITY_REFRESH_MS = 10000;
let loginNote = '';

function logo() {
  return h('span', { class: 'logo', 'aria-hidden': 'true' }, h('span'), h('span'));
}

// Which controller this page is served by: the one whose address the
// browser connected to.
async function loadIdentity() {
  const [ctls, sys] = await Promise.all([api.run('show', 'controllers'), api.run('show', 'system')]);
  const list = ctls.controllers || [];
  const here = list.find((c) => c['ip-address'] === location.hostname);
  identity.local = here ? here['controller-id'] : identity.local || 'A';
  identity.partner = identity.local === 'A' ? 'B' : 'A';
  const other = list.find((c) => c['controller-id'] === identity.partner);
  identity.partnerAddress = other ? other['ip-address'] : '';
  const s = api.first(sys, 'system') || {};
  identity.systemName = s['system-name'] || '';
  identity.product = [s['vendor-name'], s['product-id']].filter(Boolean).join(' ');
  identity.health = s.health || '';
  identity.healthReason = s['health-reason'] || '';
  identity.otherMc = s['other-MC-status'] || '';
  identity.pfuStatus = s.pfuStatus || '';
  renderHeader();
  renderBanners(store.state);
  return identity;
}

function loginView() {
  const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true, value: api.lastUser(), autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const msg = h('div', { class: 'login-msg', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Log in');
  if (loginNote) msg.append(notice('warn', loginNote));
  const insecure = !api.canHash();
  const form = h('form', {
    class: 'login-card', 'aria-labelledby': 'login-title',
    onsubmit: async (ev) => {
      ev.preventDefault();
      button.disabled = true;
      button.textContent = 'Logging in\u2026';
      msg.replaceChildren();
      try {
        await api.login(user.value.trim(), pass.value);
        loginNote = '';
        await startApp();
      } catch (e) {
        msg.append(notice('bad', errorText(e)));
        pass.select();
      } finally {
        button.disabled = false;
        button.textContent = 'Log in';
      }
    },
  },
  h('div', { class: 'login-brand' }, logo(), h('div', null, h('div', { class: 'brand-name' }, 'Tandem'), h('div', { class: 'brand-sub' }, 'Storage management'))),
  h('h1', { id: 'login-title' }, 'Log in to the enclosure'),
  h('p', { class: 'muted' }, `Controller at ${location.hostname}`),
  insecure ? notice('bad', h('strong', null, 'This page cannot log in over plain HTTP. '),
    'The browser offers the hashing the login needs only to secure pages: open ',
    h('a', { href: `https://${location.hostname}/` }, `https://${location.hostname}/`), ' instead.') : null,
  h('label', { for: 'login-user' }, 'User name'), user,
  h('label', { for: 'login-password' }, 'Password'), pass,
  msg, button);
  return h('main', { class: 'login-page' }, form);
}

function showLogin(note = '') {
  store.stop();
  clearInterval(identityTimer);
  if (unmountPage) unmountPage();
  unmountPage = null;
  frame = null;
  loginNote = note;
  replace(root, loginView());
  document.title = 'Log in \u00b7 Tandem';
  const first = root.querySelector(api.lastUser() ? '#login-password' : '#login-user');
  if (first) first.focus();
}

function currentPageId() {
  const id = location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? id : 'system';
}

// The enclosure's health for the header. A controller's own health
// (`show system`) stays OK on the one that moved ahead when its PFU
// halts: that controller is sound. The pair is not (the two run different
// bundles until a way out is taken), so the header says Degraded.
function headerHealth(state) {
  const halted = store.isHalted(state.progress) || /halted/i.test(identity.pfuStatus || '');
  if (halted && (!identity.health || toneOfHealth(identity.health) === 'ok')) {
    return {
      word: 'Degraded',
      why: `Partner firmware update halted: the controllers run different bundles (controller ${identity.local || ''} alone: ${identity.health || 'N/A'}).`,
    };
  }
  return { word: identity.health, why: identity.healthReason || '' };
}

let headerSignature = '';

function renderHeader(state = store.state) {
  if (!frame) return;
  const sess = api.session();
  const health = headerHealth(state);
  // Rebuilt only when it changed: the store notifies every poll, and a
  // header rebuilt then would take the focus off its Log out button.
  const sig = JSON.stringify([health, identity.systemName, identity.product, identity.local, sess?.user]);
  if (sig === headerSignature) return;
  headerSignature = sig;
  replace(frame.headerInfo,
    h('div', { class: 'sys-name' }, identity.systemName || 'Enclosure',
      identity.product ? h('span', { class: 'sys-product' }, identity.product) : null),
    health.word ? pill(`Health ${health.word}`, toneOfHealth(health.word), { class: 'hdr-health', title: health.why, 'data-health': health.word }) : null);
  replace(frame.user,
    h('span', { class: 'user-name', title: `Logged in to controller ${identity.local}` },
      h('span', { class: 'user-icon', 'aria-hidden': 'true' }, (sess?.user || '?').slice(0, 1).toUpperCase()),
      h('span', { class: 'user-text' }, sess?.user || '', identity.local ? h('small', null, ` on ${identity.local}`) : null)),
    h('button', { type: 'button', class: 'btn btn-ghost', onclick: async () => { await api.logout(); showLogin(); } }, 'Log out'));
}

function renderNav() {
  const cur = currentPageId();
  replace(frame.nav, ...PAGES.map((p) => h('a', {
    href: `#/${p.id}`, class: ['nav-item', p.id === cur && 'active'], 'aria-current': p.id === cur ? 'page' : null,
    'data-page': p.id,
  }, p.title)));
}

let bannerSignature = '';

function renderBanners(state) {
  if (!frame) return;
  // Re-rendered only when what they show changed: a banner rebuilt every
  // second would take the keyboard focus off its buttons.
  const sig = JSON.stringify([state.progress?.pfu, (state.progress?.controllers || []).map((c) => [c.reachable, c['bundle-version']]),
    state.rollback, state.rollback && api.reloggedSince(state.rollback.since), state.error?.network ? Math.round((Date.now() - state.unreachableSince) / 1000) : 0,
    identity, currentPageId(), haltSignature()]);
  if (sig === bannerSignature) return;
  bannerSignature = sig;
  const items = [];
  const halt = haltBanner(state, identity, currentPageId());
  if (halt) items.push(halt);
  // Halted on the partner (this controller is the one left behind): the
  // roll-back is the partner's, the roll-forward is a load into this one.
  if (!halt && /halted/i.test(identity.pfuStatus || '')) {
    items.push(h('section', { class: 'halt-banner', role: 'alert', 'data-banner': 'pfu-halted-partner' },
      h('div', { class: 'halt-head' },
        h('span', { class: 'halt-icon', 'aria-hidden': 'true' }, '!'),
        h('div', null,
          h('h2', null, `Partner firmware update halted on controller ${identity.partner}`),
          h('p', null, `Controller ${identity.partner} could not bring this controller (${identity.local}) to its bundle. `,
            identity.healthReason || ''))),
      h('div', { class: 'halt-ways' },
        h('div', { class: 'halt-way' }, h('h3', null, '1. Roll forward'),
          h('p', null, `Load controller ${identity.partner}'s bundle into this controller from the Firmware page (the halt clears once both match).`)),
        h('div', { class: 'halt-way' }, h('h3', null, '2. Roll back'),
          h('p', null, `On controller ${identity.partner}'s management page${identity.partnerAddress ? ` (${identity.partnerAddress})` : ''}: Roll back.`)))));
  }
  if (state.rollback) {
    const mine = (state.progress?.controllers || []).find((c) => c.controller === state.rollback.local);
    const back = mine && mine.reachable && (!state.rollback.to || mine['bundle-version'] === state.rollback.to) && !store.isHalted();
    // Done once the controller has restarted into it: the roll-back
    // names the bank at once and restarts CONTROLLER_RESTART_DELAY (2 s)
    // later, so a version that matches proves nothing before the page has
    // had to log in again.
    if (back && api.reloggedSince(state.rollback.since)) {
      api.restartDone();
      items.push(h('div', { class: 'banner banner-ok', role: 'status', 'data-banner': 'rollback-done' },
        h('strong', null, 'Roll-back complete. '), `Controller ${state.rollback.local} runs ${mine['bundle-version']} again.`,
        h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => store.setRollback(null) }, 'Dismiss')));
    } else {
      items.push(h('div', { class: 'banner banner-busy', role: 'status', 'data-banner': 'rollback-running' },
        h('span', { class: 'spinner', 'aria-hidden': 'true' }),
        h('strong', null, 'Rolling back. '),
        `Controller ${state.rollback.local} is restarting into ${state.rollback.to || 'its previous bundle'}; this page reconnects by itself.`));
    }
  }
  if (state.error && state.error.network) {
    const secs = Math.round((Date.now() - state.unreachableSince) / 1000);
    items.push(h('div', { class: 'banner banner-warn', role: 'status', 'data-banner': 'unreachable' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      h('strong', null, `Controller ${identity.local || ''} is not answering. `),
      `Retrying every second (${secs} s). A restart after a firmware load takes about a minute.`));
  }
  replace(frame.banners, ...items);
}

function mountPage() {
  if (!frame) return;
  bannerSignature = '';
  renderBanners(store.state);
  if (unmountPage) unmountPage();
  const id = currentPageId();
  const entry = PAGES.find((p) => p.id === id);
  renderNav();
  document.title = `${entry.title} \u00b7 Tandem`;
  frame.main.replaceChildren();
  frame.main.dataset.page = id;
  unmountPage = entry.page.mount(frame.main, { identity, store });
}

async function startApp() {
  headerSignature = '';
  frame = {
    headerInfo: h('div', { class: 'hdr-info' }),
    user: h('div', { class: 'hdr-user' }),
    nav: h('nav', { class: 'nav', 'aria-label': 'Pages' }),
    banners: h('div', { class: 'banners' }),
    main: h('main', { class: 'page', id: 'main' }),
  };
  replace(root,
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h('header', { class: 'topbar' },
      h('div', { class: 'topbar-inner' },
        h('a', { class: 'brand', href: '#/system', 'aria-label': 'Tandem: system overview' }, logo(), h('span', { class: 'brand-name' }, 'Tandem')),
        frame.headerInfo, frame.user),
      h('div', { class: 'nav-wrap' }, frame.nav)),
    frame.banners, frame.main,
    h('footer', { class: 'foot' }, 'Tandem management controller \u00b7 sessions end when this tab closes'));
  renderHeader();
  renderNav();
  try {
    await loadIdentity();
  } catch (e) {
    if (e.code === -10027) return;
  }
  store.start();
  mountPage();
  clearInterval(identityTimer);
  identityTimer = setInterval(() => loadIdentity().catch(() => {}), IDENTITY_REFRESH_MS);
}

// The controller this page talks to restarted (a load or a roll-back
// started here) and no longer knows the key: ask for the password in a
// dialog, so that the page and the update it follows stay where they are.
function askToLogInAgain() {
  return new Promise((resolve) => {
    const pass = h('input', { id: 'reauth-password', type: 'password', autocomplete: 'current-password', required: true });
    const msg = h('div', { 'aria-live': 'polite' });
    const user = api.lastUser() || 'manage';
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'reauth-title', 'data-dialog': 'reauth' },
      h('form', {
        method: 'dialog',
        onsubmit: async (ev) => {
          ev.preventDefault();
          msg.replaceChildren();
          try {
            await api.login(user, pass.value);
            dlg.close('ok');
          } catch (e) {
            msg.append(notice('bad', errorText(e)));
          }
        },
      },
      h('h2', { id: 'reauth-title' }, 'Log in again'),
      h('p', null, `Controller ${identity.local || ''} restarted and its management services started afresh, so the session ended. `,
        `Log in as ${user} again to go on following the update.`),
      h('label', { for: 'reauth-password', class: 'block' }, 'Password'), pass, msg,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dlg.close('cancel') }, 'Log out'),
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-action': 'reauth' }, 'Log in'))));
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(dlg.returnValue === 'ok');
    });
    dlg.addEventListener('cancel', (ev) => ev.preventDefault());
    document.body.append(dlg);
    dlg.showModal();
    pass.focus();
  });
}
api.setReauthHandler(askToLogInAgain);

window.addEventListener('hashchange', () => {
  if (frame) mountPage();
});
window.addEventListener('tandem:expired', () => showLogin('Your session has ended (it expired, or the controller restarted). Log in again.'));
store.subscribe(renderBanners);
store.subscribe(renderHeader);
// The controller's health and PFU status change with a halt and its end:
// read them again then, not only every IDENTITY_REFRESH_MS.
let lastHalted = false;
store.subscribe((state) => {
  const halted = store.isHalted(state.progress);
  if (halted === lastHalted || !frame) return;
  lastHalted = halted;
  loadIdentity().catch(() => {});
});

if (api.session()) startApp();
else showLogin();
