// One container: configuration, live logs, stats charts, console.
import { api, act, stream, demuxer } from './api.js';
import { h, replace, field, bytes, button, toast } from './dom.js';
import { onEvent } from './events.js';
import { watchStats } from './stats.js';
import { actionButtons, portLinks } from './containers.js';
import { Chart } from './chart.js';

export function containerView(main, id) {
  const title = h('h1', {}, 'Container');
  const stateEl = h('span', { class: 'state', id: 'ctr-state-badge', role: 'status' });
  const panels = {
    config: h('section', { id: 'panel-config', role: 'tabpanel', 'aria-labelledby': 'tab-config' }),
    logs: h('section', { id: 'panel-logs', role: 'tabpanel', 'aria-labelledby': 'tab-logs', hidden: true }),
    stats: h('section', { id: 'panel-stats', role: 'tabpanel', 'aria-labelledby': 'tab-stats', hidden: true }),
    console: h('section', { id: 'panel-console', role: 'tabpanel', 'aria-labelledby': 'tab-console', hidden: true }),
  };
  const cleanups = [];
  let info = null;
  const started = {};
  const tabs = Object.keys(panels).map((k) => h('button', { type: 'button', role: 'tab', id: 'tab-' + k, 'aria-controls': 'panel-' + k,
    'aria-selected': k === 'config' ? 'true' : 'false', tabindex: k === 'config' ? '0' : '-1', onclick: () => show(k), onkeydown: tabKeys }, k[0].toUpperCase() + k.slice(1)));
  function tabKeys(e) {
    const i = tabs.indexOf(e.target);
    const j = e.key === 'ArrowRight' ? (i + 1) % tabs.length : e.key === 'ArrowLeft' ? (i + tabs.length - 1) % tabs.length : -1;
    if (j >= 0) { tabs[j].focus(); tabs[j].click(); }
  }
  function show(k) {
    for (const [n, p] of Object.entries(panels)) p.hidden = n !== k;
    for (const t of tabs) { const on = t.id === 'tab-' + k; t.setAttribute('aria-selected', on); t.tabIndex = on ? 0 : -1; }
    if (!started[k] && info) { started[k] = true; cleanups.push(({ logs: logsPanel, stats: statsPanel, console: consolePanel }[k] || (() => null))(panels[k], info)); }
    if (k === 'console' && panels.console.fit) panels.console.fit();
  }
  const refresh = async () => {
    const got = await act('Inspect', () => api('GET', `/containers/${encodeURIComponent(id)}/json`));
    if (!got) { if (info) { stateEl.textContent = 'removed'; } return; }
    info = got;
    title.textContent = info.Name.replace(/^\//, '');
    stateEl.textContent = info.State.Status + (info.State.Health ? ' (' + info.State.Health.Status + ')' : '');
    stateEl.className = 'state ' + info.State.Status;
    configPanel(panels.config, info);
  };
  replace(main, h('p', {}, h('a', { href: '#/containers' }, '← Containers')), h('div', { class: 'titlebar' }, title, stateEl),
    h('div', { class: 'buttons', role: 'toolbar', 'aria-label': 'Container actions' },
      actionButtons(() => (info ? [info.Id] : []), () => info && info.State.Status, () => refresh())),
    h('div', { role: 'tablist', 'aria-label': 'Container details' }, tabs), Object.values(panels));
  refresh().then(() => { main.dataset.ready = '1'; });
  cleanups.push(onEvent((ev) => {
    const mine = info && ev.Actor && (ev.Actor.ID === info.Id || (ev.Type === 'network' && (ev.Actor.Attributes || {}).container === info.Id));
    if (ev.replay) return;
    if (ev.Type === 'reconnect' || (mine && !/^exec_/.test(ev.Action || ''))) {
      if (ev.Action === 'destroy') { stateEl.textContent = 'removed'; return; }
      refresh();
    }
  }));
  return () => cleanups.forEach((c) => c && c());
}

function dl(pairs) {
  return h('dl', {}, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function configPanel(el, c) {
  const hc = c.HostConfig || {};
  const rp = hc.RestartPolicy || {};
  const ports = [];
  for (const [k, v] of Object.entries((c.NetworkSettings || {}).Ports || {})) {
    const [port, type] = k.split('/');
    for (const b of v || [{}]) ports.push({ PrivatePort: +port, Type: type, PublicPort: b.HostPort ? +b.HostPort : 0, IP: b.HostIp });
  }
  replace(el,
    dl([['ID', c.Id], ['Image', c.Config.Image], ['Command', [...(c.Config.Entrypoint || []), ...(c.Config.Cmd || [])].join(' ')],
      ['Created', c.Created], ['Started', c.State.StartedAt], ['Exit code', c.State.Status === 'exited' ? String(c.State.ExitCode) : ''],
      ['Restart policy', rp.Name + (rp.MaximumRetryCount ? ':' + rp.MaximumRetryCount : '')], ['Runtime', hc.Runtime], ['Isolation', hc.Isolation],
      ['Ports', ports.length ? h('span', {}, portLinks(ports)) : 'none']]),
    h('h2', {}, 'Environment'),
    h('ul', { class: 'plain' }, (c.Config.Env || []).map((e) => h('li', {}, h('code', {}, e)))),
    h('h2', {}, 'Mounts'),
    (c.Mounts || []).length ? h('ul', { class: 'plain' }, c.Mounts.map((m) => h('li', {}, `${m.Type} ${m.Name || m.Source} → ${m.Destination}${m.RW ? '' : ' (read-only)'}`))) : h('p', {}, 'none'),
    h('h2', {}, 'Networks'),
    h('ul', { class: 'plain' }, Object.entries((c.NetworkSettings || {}).Networks || {}).map(([n, v]) => h('li', {}, `${n}: ${v.IPAddress || '—'}${v.GlobalIPv6Address ? ', ' + v.GlobalIPv6Address : ''} (gateway ${v.Gateway || '—'})`))),
    h('h2', {}, 'Labels'),
    h('ul', { class: 'plain' }, Object.entries(c.Config.Labels || {}).map(([k, v]) => h('li', {}, h('code', {}, k + '=' + v)))));
}

function logsPanel(el, c) {
  const follow = h('input', { type: 'checkbox', checked: true, id: 'logs-follow' });
  const stamps = h('input', { type: 'checkbox', id: 'logs-timestamps' });
  const tail = h('select', { id: 'logs-tail' }, ['100', '1000', 'all'].map((v) => h('option', { value: v }, v)));
  tail.value = '1000';
  const search = h('input', { type: 'search', id: 'logs-search', placeholder: 'filter lines' });
  const out = h('pre', { id: 'logs', class: 'logs', tabindex: '0', 'aria-label': 'Log output', 'aria-live': 'off' });
  let lines = [];
  let ctl = null;
  let partial = ['', '', ''];
  const visible = (l) => !search.value || l.text.toLowerCase().includes(search.value.toLowerCase());
  function add(l) {
    lines.push(l);
    if (lines.length > 20000) lines.splice(0, lines.length - 20000);
    if (visible(l)) {
      const atEnd = out.scrollTop + out.clientHeight >= out.scrollHeight - 4;
      out.append(h('span', { class: l.err ? 'err' : '' }, l.text + '\n'));
      if (atEnd) out.scrollTop = out.scrollHeight;
    }
  }
  function redraw() {
    replace(out, lines.filter(visible).map((l) => h('span', { class: l.err ? 'err' : '' }, l.text + '\n')));
    out.scrollTop = out.scrollHeight;
  }
  function start() {
    if (ctl) ctl.abort();
    ctl = new AbortController();
    lines = []; partial = ['', '', ''];
    replace(out);
    const q = `stdout=1&stderr=1&follow=${follow.checked ? 1 : 0}&timestamps=${stamps.checked ? 1 : 0}&tail=${tail.value}`;
    const feed = demuxer(c.Config.Tty, (text, kind) => {
      const parts = (partial[kind] + text).split('\n');
      partial[kind] = parts.pop();
      for (const p of parts) add({ text: p.replace(/\r$/, ''), err: kind === 2 });
    });
    stream('GET', `/containers/${c.Id}/logs?${q}`, feed, ctl.signal).catch((e) => { if (e.name !== 'AbortError') toast('Logs: ' + e.message); });
  }
  const download = button('Download', async () => {
    const chunks = [];
    await act('Download logs', () => stream('GET', `/containers/${c.Id}/logs?stdout=1&stderr=1&timestamps=${stamps.checked ? 1 : 0}`,
      demuxer(c.Config.Tty, (t) => chunks.push(t))));
    const a = h('a', { href: URL.createObjectURL(new Blob(chunks, { type: 'text/plain' })), download: c.Name.replace(/^\//, '') + '.log' });
    document.body.append(a); a.click(); a.remove();
  });
  follow.addEventListener('change', start);
  stamps.addEventListener('change', start);
  tail.addEventListener('change', start);
  search.addEventListener('input', redraw);
  replace(el, h('div', { class: 'toolbar' }, field('Follow', follow), field('Timestamps', stamps), field('Lines', tail), field('Search', search), download), out);
  start();
  return () => ctl && ctl.abort();
}

function statsPanel(el, c) {
  const charts = {
    cpu: new Chart('CPU %', (v) => v.toFixed(1) + ' %'),
    mem: new Chart('Memory', bytes),
    net: new Chart('Network (rx, tx per second)', (v) => bytes(v) + '/s', 2),
    blk: new Chart('Block I/O (read, write per second)', (v) => bytes(v) + '/s', 2),
  };
  replace(el, h('div', { class: 'charts' }, Object.values(charts).map((x) => x.el)));
  let prev = null;
  return watchStats(c.Id, (s) => {
    charts.cpu.push([s.cpu]);
    charts.mem.push([s.mem]);
    if (prev) {
      const dt = Math.max(0.001, (s.t - prev.t) / 1000);
      charts.net.push([(s.rx - prev.rx) / dt, (s.tx - prev.tx) / dt]);
      charts.blk.push([(s.blkRead - prev.blkRead) / dt, (s.blkWrite - prev.blkWrite) / dt]);
    }
    prev = s;
  });
}

function consolePanel(el, c) {
  // xterm.js is most of the page's bytes: load it when a console opens.
  let disposed = false;
  let cleanup = () => {};
  import('./console.js').then((m) => { if (!disposed) cleanup = m.consolePanel(el, c); });
  return () => { disposed = true; cleanup(); };
}
