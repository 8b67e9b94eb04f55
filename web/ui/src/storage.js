// Volumes and networks: list, inspect, create, remove, prune,
// connect/disconnect.
import { api, act } from './api.js';
import { h, replace, field, debounce, button, toast, bytes } from './dom.js';
import { onEvent } from './events.js';

// listView is the frame both pages share: a create form, a table that
// reloads on the kinds of events given, an inspect panel, prune.
function listView(main, o) {
  const body = h('tbody');
  const detail = h('section', { class: 'detail', id: o.id + '-detail', 'aria-live': 'polite' });
  const load = async () => {
    const items = await act('List ' + o.title, o.list);
    if (!items) return;
    replace(body, items.map((it) => h('tr', { 'data-name': o.name(it) }, o.cells(it).map((c) => h('td', {}, c)),
      h('td', {}, button('Inspect', () => o.inspect(detail, it), { 'data-action': 'inspect' }), ' ',
        button('Remove', async () => { if (confirm(`Remove ${o.name(it)}?`)) await act('Remove', () => o.remove(it)); }, { 'data-action': 'remove' })))));
    main.dataset.ready = '1';
  };
  const reload = debounce(load, 100);
  replace(main, h('h1', {}, o.title), o.createForm(),
    h('div', { class: 'buttons' }, button('Prune unused', async () => {
      const r = await act('Prune', o.prune);
      if (r) toast('Pruned: ' + ((r.VolumesDeleted || r.NetworksDeleted || []).join(', ') || 'nothing') + (r.SpaceReclaimed ? ', ' + bytes(r.SpaceReclaimed) : ''), 'notice');
    })),
    h('table', { id: o.id }, h('caption', { class: 'sr' }, o.title),
      h('thead', {}, h('tr', {}, [...o.headers, ''].map((x) => h('th', { scope: 'col' }, x)))), body), detail);
  const unsub = onEvent((ev) => { if (!ev.replay && (o.events.includes(ev.Type) || ev.Type === 'reconnect')) reload(); });
  load();
  return unsub;
}

const pre = (v) => h('pre', { class: 'json' }, JSON.stringify(v, null, 2));

export function volumesView(main) {
  return listView(main, {
    title: 'Volumes', id: 'volumes', events: ['volume'], headers: ['Name', 'Driver', 'Mountpoint', 'Created'],
    list: async () => ((await api('GET', '/volumes')).Volumes || []).sort((a, b) => a.Name.localeCompare(b.Name)),
    name: (v) => v.Name, cells: (v) => [v.Name, v.Driver, v.Mountpoint, v.CreatedAt || ''],
    remove: (v) => api('DELETE', '/volumes/' + encodeURIComponent(v.Name)),
    prune: () => api('POST', '/volumes/prune?filters=' + encodeURIComponent('{"all":["true"]}')),
    inspect: async (el, v) => { const r = await act('Inspect', () => api('GET', '/volumes/' + encodeURIComponent(v.Name))); if (r) replace(el, h('h2', {}, v.Name), pre(r)); },
    createForm: () => {
      const n = h('input', { placeholder: 'optional', id: 'vol-name' });
      return h('form', { class: 'toolbar', onsubmit: async (e) => { e.preventDefault(); if (await act('Create volume', () => api('POST', '/volumes/create', { Name: n.value.trim() }))) n.value = ''; } },
        field('New volume name', n), h('button', { type: 'submit', id: 'vol-create' }, 'Create'));
    },
  });
}

export function networksView(main) {
  return listView(main, {
    title: 'Networks', id: 'networks', events: ['network'], headers: ['Name', 'Driver', 'Subnet', 'Gateway', 'ID'],
    list: async () => (await api('GET', '/networks')).sort((a, b) => a.Name.localeCompare(b.Name)),
    name: (n) => n.Name,
    cells: (n) => { const c = (n.IPAM && n.IPAM.Config) || []; return [n.Name, n.Driver, c.map((x) => x.Subnet).join(', '), c.map((x) => x.Gateway || '').join(', '), n.Id.slice(0, 12)]; },
    remove: (n) => api('DELETE', '/networks/' + n.Id),
    prune: () => api('POST', '/networks/prune'),
    inspect: async function inspectNet(el, n) {
      const inspectAgain = () => inspectNet(el, n);
      const r = await act('Inspect', () => api('GET', '/networks/' + n.Id));
      if (!r) return;
      const ctr = h('input', { placeholder: 'container name or ID', id: 'net-connect-ctr' });
      const conns = Object.entries(r.Containers || {});
      replace(el, h('h2', {}, r.Name),
        h('table', {}, h('caption', {}, 'Connected containers'), h('thead', {}, h('tr', {}, ['Name', 'IPv4', 'IPv6', ''].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, conns.map(([id, c]) => h('tr', {}, h('td', {}, c.Name), h('td', {}, c.IPv4Address), h('td', {}, c.IPv6Address || ''),
            h('td', { 'data-container': c.Name }, button('Disconnect', async () => { await act('Disconnect', () => api('POST', `/networks/${r.Id}/disconnect`, { Container: id })); inspectAgain(); })))))),
        h('form', { class: 'toolbar', onsubmit: async (e) => { e.preventDefault(); await act('Connect', () => api('POST', `/networks/${r.Id}/connect`, { Container: ctr.value.trim() })); inspectAgain(); } },
          field('Connect a container', ctr), h('button', { type: 'submit', id: 'net-connect' }, 'Connect')),
        pre(r));
    },
    createForm: () => {
      const n = h('input', { required: true, id: 'net-name' });
      const sub = h('input', { placeholder: 'optional, e.g. 10.99.0.0/24', id: 'net-subnet' });
      const internal = h('input', { type: 'checkbox' });
      return h('form', { class: 'toolbar', onsubmit: async (e) => {
        e.preventDefault();
        const body = { Name: n.value.trim(), Driver: 'bridge', Internal: internal.checked };
        if (sub.value.trim()) body.IPAM = { Config: [{ Subnet: sub.value.trim() }] };
        if (await act('Create network', () => api('POST', '/networks/create', body))) { n.value = ''; sub.value = ''; }
      } }, field('New network name', n), field('Subnet', sub), field('Internal', internal), h('button', { type: 'submit', id: 'net-create' }, 'Create'));
    },
  });
}
