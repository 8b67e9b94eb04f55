import { loadSession, api, act, loggedOut, csrfToken } from './api.js';
import { startEvents } from './events.js';
import { h, replace } from './dom.js';
import { containersView } from './containers.js';
import { containerView } from './container.js';
import { imagesView } from './images.js';
import { overviewView, eventsView } from './overview.js';
import { volumesView, networksView } from './storage.js';
import { composeView } from './compose.js';

const routes = [
  [/^#?\/?$/, overviewView, 'Overview'],
  [/^#\/containers$/, containersView, 'Containers'],
  [/^#\/containers\/([^/]+)$/, containerView, 'Container'],
  [/^#\/images$/, imagesView, 'Images'],
  [/^#\/volumes$/, volumesView, 'Volumes'],
  [/^#\/networks$/, networksView, 'Networks'],
  [/^#\/compose$/, composeView, 'Compose'],
  [/^#\/events$/, eventsView, 'Events'],
];

let cleanup = null;

function route() {
  const main = document.getElementById('main');
  if (cleanup) { try { cleanup(); } catch { /* view already gone */ } cleanup = null; }
  replace(main);
  const hash = location.hash || '#/';
  for (const [re, view, title] of routes) {
    const m = hash.match(re);
    if (!m) continue;
    document.title = title + ' — Berth';
    for (const a of document.querySelectorAll('nav a')) {
      a.toggleAttribute('aria-current', a.getAttribute('href') === hash || (title === 'Container' && a.getAttribute('href') === '#/containers'));
    }
    cleanup = view(main, ...m.slice(1).map(decodeURIComponent)) || null;
    return;
  }
  replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No such page: ', hash));
}

async function boot() {
  performance.mark('boot');
  if (!(await loadSession())) { loggedOut(); return; }
  performance.mark('session');
  document.getElementById('logout').addEventListener('click', () => act('Log out', async () => {
    await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-Berth-Csrf': csrfToken() } });
    loggedOut();
  }));
  window.addEventListener('hashchange', route);
  startEvents();
  route();
  api('GET', '/version').then((v) => { document.querySelector('.brand').title = 'Berth ' + v.Version + ' (API ' + v.ApiVersion + ')'; }).catch(() => {});
}

boot();
