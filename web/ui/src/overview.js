// Overview (engine, host, counts, disk usage, latest events) and the
// events feed.
import { api, act } from './api.js';
import { h, replace, field, bytes, debounce, shortID } from './dom.js';
import { onEvent, recent } from './events.js';

export function eventLine(ev) {
  const a = ev.Actor || {};
  const attrs = a.Attributes || {};
  const who = attrs.name || attrs.image || shortID(a.ID || '');
  const t = new Date((ev.timeNano ? ev.timeNano / 1e6 : ev.time * 1000)).toLocaleTimeString();
  return h('li', {}, h('time', {}, t), ' ', h('strong', {}, ev.Type), ' ', ev.Action, ' ', who);
}

export function overviewView(main) {
  const box = h('div', { class: 'cards' });
  const evs = h('ol', { class: 'events', reversed: true });
  const load = async () => {
    const [v, info, df] = await Promise.all([
      act('Version', () => api('GET', '/version')), act('Info', () => api('GET', '/info')), act('Disk usage', () => api('GET', '/system/df')),
    ]);
    if (!v || !info) return;
    const card = (title, ...rows) => h('section', { class: 'card' }, h('h2', {}, title), h('dl', {}, rows.flatMap(([k, x]) => [h('dt', {}, k), h('dd', {}, x)])));
    const sum = (l, f) => (l || []).reduce((n, x) => n + (f(x) || 0), 0);
    replace(box,
      card('Engine', ['Version', v.Version], ['API', v.ApiVersion], ['Runtime', info.DefaultRuntime], ['Storage', info.Driver], ['Kernel', info.KernelVersion]),
      card('Host', ['Name', info.Name], ['CPUs', String(info.NCPU)], ['Memory', bytes(info.MemTotal)], ['OS', info.OperatingSystem]),
      card('Containers', ['Running', String(info.ContainersRunning)], ['Paused', String(info.ContainersPaused)], ['Stopped', String(info.ContainersStopped)], ['Total', String(info.Containers)]),
      card('Objects', ['Images', String(info.Images)], ['Volumes', String(df ? (df.Volumes || []).length : '—')], ['Networks', String(((await act('Networks', () => api('GET', '/networks'))) || []).length)]),
      df ? card('Disk usage', ['Images', bytes(df.LayersSize)], ['Containers', bytes(sum(df.Containers, (c) => c.SizeRw))],
        ['Volumes', bytes(sum(df.Volumes, (x) => x.UsageData && x.UsageData.Size))], ['Build cache', bytes(sum(df.BuildCache, (b) => b.Size))]) : null);
    main.dataset.ready = '1';
  };
  const reload = debounce(load, 300);
  replace(main, h('h1', {}, 'Overview'), box, h('h2', {}, 'Latest events'), evs);
  replace(evs, recent.slice(-20).reverse().map(eventLine));
  const unsub = onEvent((ev) => {
    if (ev.Type === 'reconnect') { reload(); return; }
    evs.prepend(eventLine(ev));
    while (evs.children.length > 20) evs.lastChild.remove();
    if (!ev.replay) reload();
  });
  load();
  return unsub;
}

export function eventsView(main) {
  const type = h('select', { id: 'ev-type' }, ['all', 'container', 'image', 'volume', 'network', 'daemon'].map((t) => h('option', { value: t }, t)));
  const text = h('input', { type: 'search', id: 'ev-text', placeholder: 'action, name, id' });
  const list = h('ol', { class: 'events', reversed: true, id: 'events' });
  const match = (ev) => (type.value === 'all' || ev.Type === type.value) &&
    (!text.value || JSON.stringify([ev.Action, ev.Actor]).toLowerCase().includes(text.value.toLowerCase()));
  const redraw = () => replace(list, recent.filter(match).reverse().map(eventLine));
  type.addEventListener('change', redraw);
  text.addEventListener('input', redraw);
  replace(main, h('h1', {}, 'Events'), h('div', { class: 'toolbar' }, field('Type', type), field('Search', text)), list);
  redraw();
  main.dataset.ready = '1';
  return onEvent((ev) => { if (ev.Type !== 'reconnect' && match(ev)) list.prepend(eventLine(ev)); });
}
