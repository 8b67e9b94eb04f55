// One /events stream for the whole page: every view subscribes and updates
// from it (no polling timers).
import { jsonLines } from './api.js';

const subs = new Set();
export const recent = []; // the latest events, newest last
const keep = 200;

export function onEvent(fn) {
  subs.add(fn);
  return () => subs.delete(fn);
}

function status(text, ok) {
  const el = document.getElementById('live');
  el.textContent = text;
  el.className = 'live ' + (ok ? 'ok' : 'down');
}

// Events from before the page loaded are replayed (since one hour ago) for
// the feeds; they carry replay: true, and views that reload on events skip
// them (what they loaded is already newer).
export async function startEvents() {
  let delay = 500;
  const loaded = Date.now() / 1000;
  let since = Math.floor(loaded) - 3600;
  for (;;) {
    try {
      status('live', true);
      await jsonLines('GET', '/events?since=' + since, (ev) => {
        since = ev.time || since;
        ev.replay = ev.time < loaded - 1;
        recent.push(ev);
        if (recent.length > keep) recent.shift();
        delay = 500;
        for (const f of subs) f(ev);
      });
    } catch (e) {
      if (e.message === 'not logged in') return;
    }
    status('reconnecting…', false);
    // Reconnect after the stream ended (daemon restart): the only timer,
    // a back-off, not a poll.
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10000);
    since += 1;
    for (const f of subs) f({ Type: 'reconnect' });
  }
}
