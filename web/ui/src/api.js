// Calls to the Engine API through the dashboard's /api/ mount.
import { toast } from './dom.js';

const base = '/api/v1.47';
let csrf = '';

export async function loadSession() {
  const r = await fetch('/session', { credentials: 'same-origin' });
  if (!r.ok) return false;
  csrf = (await r.json()).csrf;
  return true;
}

export function loggedOut() {
  // The session ended (expired, logged out, berthd restarted): the index
  // route now answers with the login page.
  location.replace('/');
}

function options(method, body) {
  const o = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET' && method !== 'HEAD') o.headers['X-Berth-Csrf'] = csrf;
  if (body !== undefined) {
    o.headers['Content-Type'] = 'application/json';
    o.body = JSON.stringify(body);
  }
  return o;
}

async function check(r) {
  if (r.status === 401) { loggedOut(); throw new Error('not logged in'); }
  if (r.ok) return r;
  let msg = r.statusText;
  try { msg = (await r.json()).message || msg; } catch { /* not JSON */ }
  const e = new Error(msg);
  e.status = r.status;
  throw e;
}

// send fetches one route. A read (GET, HEAD) that fails before any answer
// (fetch's TypeError) is tried again twice: the browser fails requests in
// flight when the host's interfaces change (Chromium's
// ERR_NETWORK_CHANGED), which starting containers can cause; a read is
// safe to repeat. Changes are never repeated: they may have happened.
async function send(method, path, body) {
  const safe = method === 'GET' || method === 'HEAD';
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(base + path, options(method, body));
    } catch (e) {
      if (!safe || attempt >= 2 || !(e instanceof TypeError)) throw e;
      await new Promise((done) => setTimeout(done, 200 * (attempt + 1)));
    }
  }
}

// api calls one route and returns its decoded JSON (or text, or null).
export async function api(method, path, body) {
  const r = await check(await send(method, path, body));
  const text = await r.text();
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

// act runs an action and reports its failure instead of throwing.
export async function act(what, fn) {
  try { return await fn(); } catch (e) { toast(what + ': ' + e.message); return undefined; }
}

// stream calls a streaming route and hands each chunk of bytes to onChunk
// until the stream ends or signal aborts it.
export async function stream(method, path, onChunk, signal, body) {
  const r = await check(await fetch(base + path, { ...options(method, body), signal }));
  const rd = r.body.getReader();
  for (;;) {
    const { done, value } = await rd.read();
    if (done) return;
    onChunk(value);
  }
}

// jsonLines reads a stream of JSON messages (events, pull progress).
export async function jsonLines(method, path, onMsg, signal, body) {
  const dec = new TextDecoder();
  let buf = '';
  await stream(method, path, (chunk) => {
    buf += dec.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) onMsg(JSON.parse(line));
    }
  }, signal, body);
  if (buf.trim()) onMsg(JSON.parse(buf));
}

// demux splits Docker's multiplexed stream (8-byte frame headers) into
// text pieces; raw (TTY) streams pass through.
export function demuxer(tty, onText) {
  const dec = [new TextDecoder(), new TextDecoder(), new TextDecoder()];
  let pending = new Uint8Array(0);
  return (chunk) => {
    if (tty) { onText(dec[1].decode(chunk, { stream: true }), 1); return; }
    const all = new Uint8Array(pending.length + chunk.length);
    all.set(pending); all.set(chunk, pending.length);
    let off = 0;
    while (all.length - off >= 8) {
      const kind = all[off];
      const n = new DataView(all.buffer, off + 4, 4).getUint32(0);
      if (all.length - off - 8 < n) break;
      const d = dec[kind === 2 ? 2 : 1];
      onText(d.decode(all.subarray(off + 8, off + 8 + n), { stream: true }), kind);
      off += 8 + n;
    }
    pending = all.slice(off);
  };
}

export const csrfToken = () => csrf;
