// The console: xterm.js running `exec` over /ws/exec, with resize.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { h, replace, field } from './dom.js';

export function consolePanel(el, c) {
  const cmd = h('input', { id: 'console-cmd', value: 'sh' });
  const box = h('div', { class: 'term', id: 'terminal' });
  const status = h('span', { role: 'status', id: 'console-status' });
  let ws = null;
  let term = null;
  const fit = new FitAddon();
  function connect() {
    if (ws) ws.close();
    if (!term) {
      term = new Terminal({ cursorBlink: true, convertEol: false, fontFamily: 'monospace', fontSize: 14, screenReaderMode: false });
      term.loadAddon(fit);
      term.open(box);
      term.onData((d) => { if (ws && ws.readyState === 1) ws.send(new TextEncoder().encode(d)); });
      term.onResize(({ cols, rows }) => { if (ws && ws.readyState === 1) ws.send(JSON.stringify({ resize: [cols, rows] })); });
    }
    fit.fit();
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ container: c.Id, cmd: cmd.value, cols: term.cols, rows: term.rows });
    ws = new WebSocket(`${proto}//${location.host}/ws/exec?${q}`);
    ws.binaryType = 'arraybuffer';
    status.textContent = 'connecting…';
    ws.onopen = () => { status.textContent = 'connected'; term.focus(); };
    ws.onmessage = (m) => term.write(typeof m.data === 'string' ? m.data : new Uint8Array(m.data));
    ws.onclose = (e) => { status.textContent = 'disconnected' + (e.reason ? ' (' + e.reason + ')' : ''); };
  }
  el.fit = () => { if (term) fit.fit(); };
  const ro = new ResizeObserver(() => { if (term && !el.hidden) fit.fit(); });
  ro.observe(box);
  replace(el, h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); connect(); } },
    field('Command', cmd), h('button', { type: 'submit', id: 'console-connect' }, 'Connect'), status), box);
  if (c.State.Running) connect();
  else status.textContent = 'the container is not running';
  return () => { ro.disconnect(); if (ws) ws.close(); if (term) term.dispose(); };
}
