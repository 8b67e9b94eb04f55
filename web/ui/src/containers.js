// The containers list: live from /events, with bulk actions and a create
// form.
import { api, act } from './api.js';
import { h, replace, field, bytes, ago, shortID, debounce, button, table, toast } from './dom.js';
import { onEvent } from './events.js';
import { watchStats } from './stats.js';

export const name = (c) => (c.Names && c.Names[0] ? c.Names[0].replace(/^\//, '') : shortID(c.Id));

// stateText is the state with the health Docker shows in `ps`.
export function stateText(c) {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status || '');
  return c.State + (m ? ' (' + m[1] + ')' : '');
}

export function portLinks(ports) {
  const seen = new Set();
  const out = [];
  for (const p of ports || []) {
    if (!p.PublicPort) { out.push(h('span', {}, p.PrivatePort + '/' + p.Type)); continue; }
    const host = !p.IP || p.IP === '0.0.0.0' || p.IP === '::' ? location.hostname : p.IP;
    const key = host + ':' + p.PublicPort + '/' + p.Type;
    if (seen.has(key)) continue;
    seen.add(key);
    const label = key + '→' + p.PrivatePort;
    out.push(p.Type === 'tcp'
      ? h('a', { href: 'http://' + (host.includes(':') ? '[' + host + ']' : host) + ':' + p.PublicPort + '/', target: '_blank', rel: 'noopener noreferrer' }, label)
      : h('span', {}, label));
  }
  return out.flatMap((x, i) => (i ? [', ', x] : [x]));
}

// Each action: the label, the route it posts to, and which states allow it.
const actions = [
  ['Start', (id) => api('POST', `/containers/${id}/start`), (s) => s !== 'running' && s !== 'paused'],
  ['Stop', (id) => api('POST', `/containers/${id}/stop`), (s) => s === 'running' || s === 'restarting'],
  ['Restart', (id) => api('POST', `/containers/${id}/restart`), () => true],
  ['Kill', (id) => api('POST', `/containers/${id}/kill`), (s) => s === 'running'],
  ['Pause', (id) => api('POST', `/containers/${id}/pause`), (s) => s === 'running'],
  ['Unpause', (id) => api('POST', `/containers/${id}/unpause`), (s) => s === 'paused'],
  ['Remove', (id) => api('DELETE', `/containers/${id}?force=1`), () => true],
];

export function actionButtons(ids, stateOf, after) {
  return actions.map(([label, fn, ok]) => button(label, async (e) => {
    const list = ids();
    if (!list.length) { toast('Select one or more containers first', 'notice'); return; }
    if (label === 'Remove' && !confirm(`Remove ${list.length} container(s)? Running ones are killed.`)) return;
    e.target.disabled = true;
    await Promise.all(list.filter((id) => ok(stateOf(id))).map((id) => act(label + ' ' + shortID(id), () => fn(id))));
    e.target.disabled = false;
    if (after) after();
  }, { 'data-action': label.toLowerCase() }));
}

export function containersView(main) {
  let list = [];
  const selected = new Set();
  const stops = new Map(); // id -> stop watching stats
  const rows = new Map(); // id -> {tr, cpu, mem}
  const search = h('input', { type: 'search', placeholder: 'name, image, id, label', id: 'ctr-search' });
  const stateSel = h('select', { id: 'ctr-state' }, ['all', 'running', 'paused', 'exited', 'created', 'restarting', 'dead'].map((s) => h('option', { value: s }, s)));
  const body = h('tbody');
  const count = h('p', { class: 'muted', role: 'status' });
  const all = h('input', { type: 'checkbox', 'aria-label': 'Select all shown containers', onchange: () => {
    for (const c of shown()) (all.checked ? selected.add(c.Id) : selected.delete(c.Id));
    render();
  } });

  function shown() {
    const q = search.value.trim().toLowerCase();
    const st = stateSel.value;
    return list.filter((c) => (st === 'all' || c.State === st) && (!q ||
      name(c).toLowerCase().includes(q) || c.Image.toLowerCase().includes(q) || c.Id.startsWith(q) ||
      Object.entries(c.Labels || {}).some(([k, v]) => (k + '=' + v).toLowerCase().includes(q))));
  }

  // Usage is followed only for running containers whose row is on
  // screen: a list of hundreds does not make berthd sample them all.
  const onScreen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const id = e.target.dataset.id;
      if (e.isIntersecting && !stops.has(id)) {
        stops.set(id, watchStats(id, (s) => {
          const r = rows.get(id);
          if (!r) return;
          r.cpu.textContent = s.cpu.toFixed(1) + ' %';
          r.mem.textContent = bytes(s.mem);
        }));
      } else if (!e.isIntersecting && stops.has(id)) {
        stops.get(id)();
        stops.delete(id);
      }
    }
  });

  function render() {
    const vis = shown();
    onScreen.disconnect();
    for (const stop of stops.values()) stop();
    stops.clear();
    rows.clear();
    replace(body, vis.map((c) => {
      const running = c.State === 'running';
      const cpu = h('td', { class: 'num' }, running ? '…' : '—');
      const mem = h('td', { class: 'num' }, running ? '…' : '—');
      const tr = h('tr', { 'data-id': c.Id, 'data-name': name(c) },
        h('td', {}, h('input', { type: 'checkbox', 'aria-label': 'Select ' + name(c), checked: selected.has(c.Id),
          onchange: (e) => { e.target.checked ? selected.add(c.Id) : selected.delete(c.Id); } })),
        h('td', {}, h('a', { href: '#/containers/' + encodeURIComponent(c.Id), class: 'name' }, name(c))),
        h('td', {}, c.Image),
        h('td', { class: 'state ' + c.State }, stateText(c)),
        h('td', {}, portLinks(c.Ports)),
        h('td', { title: new Date(c.Created * 1000).toISOString() }, ago(c.Created)),
        cpu, mem);
      rows.set(c.Id, { cpu, mem });
      if (running) onScreen.observe(tr);
      return tr;
    }));
    count.textContent = `${vis.length} shown of ${list.length} containers`;
  }

  const load = async () => {
    const got = await act('List containers', () => api('GET', '/containers/json?all=1'));
    if (!got) return;
    performance.mark('containers-fetched');
    list = got.sort((a, b) => b.Created - a.Created);
    const ids = new Set(list.map((c) => c.Id));
    for (const id of selected) if (!ids.has(id)) selected.delete(id);
    render();
  };
  const reload = debounce(load, 100);
  search.addEventListener('input', render);
  stateSel.addEventListener('change', render);

  const createBox = h('div', { hidden: true, id: 'create-box' });
  replace(main,
    h('h1', {}, 'Containers'),
    h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Container actions' },
      field('Search', search), field('State', stateSel),
      h('div', { class: 'buttons' }, actionButtons(() => [...selected], (id) => (list.find((c) => c.Id === id) || {}).State, null),
        button('New container…', (e) => {
          createBox.hidden = !createBox.hidden;
          e.target.setAttribute('aria-expanded', String(!createBox.hidden));
          if (!createBox.hidden) createBox.querySelector('input').focus();
        }, { 'aria-expanded': 'false', 'aria-controls': 'create-box', id: 'new-toggle' }))),
    createBox, count,
    h('table', { id: 'containers' },
      h('caption', { class: 'sr' }, 'Containers'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, all),
        ['Name', 'Image', 'State', 'Ports', 'Created', 'CPU', 'Memory'].map((x) => h('th', { scope: 'col' }, x)))),
      body));
  replace(createBox, createForm(load));
  const unsub = onEvent((ev) => { if (!ev.replay && (ev.Type === 'container' || ev.Type === 'reconnect')) reload(); });
  // The mark lets the browser test measure time to interactive.
  load().then(() => { main.dataset.ready = '1'; performance.mark('containers-ready'); });
  return () => { unsub(); onScreen.disconnect(); for (const s of stops.values()) s(); };
}

// createForm is `docker run -d` as a form.
function createForm(done) {
  const f = {
    image: h('input', { id: 'new-image', required: true, placeholder: 'busybox:latest', autocomplete: 'off' }),
    name: h('input', { id: 'new-name', placeholder: 'optional', autocomplete: 'off' }),
    cmd: h('input', { id: 'new-cmd', placeholder: 'e.g. sh -c "while true; do date; sleep 5; done"' }),
    ports: h('input', { id: 'new-ports', placeholder: '8080:80, 127.0.0.1:5353:53/udp' }),
    vols: h('input', { id: 'new-vols', placeholder: 'data:/data, /host/dir:/in:ro' }),
    env: h('textarea', { id: 'new-env', rows: 2, placeholder: 'KEY=value, one a line' }),
    restart: h('select', { id: 'new-restart',}, ['no', 'always', 'unless-stopped', 'on-failure'].map((v) => h('option', { value: v }, v))),
    network: h('input', { id: 'new-network', placeholder: 'bridge' }),
    isolation: h('select', { id: 'new-isolation',}, ['', 'process', 'sandbox'].map((v) => h('option', { value: v }, v || 'default'))),
    start: h('input', { id: 'new-start', type: 'checkbox', checked: true }),
  };
  const submit = async (e) => {
    e.preventDefault();
    let body;
    try { body = createBody(f); } catch (err) { toast(err.message); return; }
    const q = f.name.value.trim() ? '?name=' + encodeURIComponent(f.name.value.trim()) : '';
    const r = await act('Create', () => api('POST', '/containers/create' + q, body));
    if (!r) return;
    if (f.start.checked) await act('Start', () => api('POST', `/containers/${r.Id}/start`));
    toast('Created ' + shortID(r.Id), 'notice');
    done();
  };
  return h('form', { class: 'card create', onsubmit: submit, 'aria-label': 'Create a container' },
    h('h2', {}, 'New container'),
    field('Image', f.image), field('Name', f.name), field('Command', f.cmd), field('Ports (host:container)', f.ports),
    field('Volumes and binds', f.vols), field('Environment', f.env), field('Restart policy', f.restart),
    field('Network', f.network), field('Isolation', f.isolation), field('Start it', f.start),
    h('button', { type: 'submit', id: 'new-create' }, 'Create'));
}

// splitWords splits a command line the way a shell would for plain words
// and quotes (no expansions).
export function splitWords(s) {
  const out = [];
  let cur = null;
  let q = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (q) { if (ch === q) q = null; else if (ch === '\\' && q === '"' && i + 1 < s.length) cur += s[++i]; else cur += ch; continue; }
    if (ch === '"' || ch === "'") { q = ch; cur = cur || ''; continue; }
    if (/\s/.test(ch)) { if (cur !== null) { out.push(cur); cur = null; } continue; }
    if (ch === '\\' && i + 1 < s.length) { cur = (cur || '') + s[++i]; continue; }
    cur = (cur || '') + ch;
  }
  if (q) throw new Error('Command: unterminated quote');
  if (cur !== null) out.push(cur);
  return out;
}

const list = (s) => s.split(/[,\n]/).map((x) => x.trim()).filter(Boolean);

function createBody(f) {
  const image = f.image.value.trim();
  if (!image) throw new Error('Image is required');
  const body = { Image: image, HostConfig: { PortBindings: {}, Binds: [], RestartPolicy: { Name: f.restart.value } }, ExposedPorts: {} };
  const cmd = splitWords(f.cmd.value);
  if (cmd.length) body.Cmd = cmd;
  const env = list(f.env.value);
  for (const e of env) if (!/^[^=]+=/.test(e) && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(e)) throw new Error('Environment: not KEY=value: ' + e);
  if (env.length) body.Env = env;
  for (const p of list(f.ports.value)) {
    // [ip:][hostPort:]containerPort[/proto], as docker run -p takes it
    // ("127.0.0.1::80": any free host port on that address).
    const m = /^(?:(\[[^\]]+\]|\d+\.\d+\.\d+\.\d+):)?(?:(\d*):)?(\d+)(?:\/(tcp|udp|sctp))?$/.exec(p);
    if (!m) throw new Error('Ports: cannot read ' + p + ' (use [ip:]hostPort:containerPort[/proto])');
    const key = m[3] + '/' + (m[4] || 'tcp');
    body.ExposedPorts[key] = {};
    (body.HostConfig.PortBindings[key] ||= []).push({ HostIp: (m[1] || '').replace(/[[\]]/g, ''), HostPort: m[2] || '' });
  }
  for (const v of list(f.vols.value)) {
    if (!v.includes(':')) throw new Error('Volumes: use name:/path or /host:/path[:ro] (' + v + ')');
    body.HostConfig.Binds.push(v);
  }
  if (f.network.value.trim()) body.HostConfig.NetworkMode = f.network.value.trim();
  if (f.isolation.value) body.HostConfig.Isolation = f.isolation.value;
  return body;
}
