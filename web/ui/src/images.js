// Images: list, history, pull with per-layer progress, tag, remove, prune.
import { api, act, jsonLines } from './api.js';
import { h, replace, field, bytes, ago, shortID, debounce, button, toast } from './dom.js';
import { onEvent } from './events.js';

export function imagesView(main) {
  const body = h('tbody');
  const selected = new Set();
  const detail = h('section', { id: 'image-detail', 'aria-live': 'polite' });
  const load = async () => {
    const [list, ctrs] = await Promise.all([act('List images', () => api('GET', '/images/json')), act('List containers', () => api('GET', '/containers/json?all=1'))]);
    if (!list) return;
    const users = new Map();
    for (const c of ctrs || []) users.set(c.ImageID, (users.get(c.ImageID) || 0) + 1);
    list.sort((a, b) => b.Created - a.Created);
    replace(body, list.map((im) => {
      const tags = (im.RepoTags || []).length ? im.RepoTags : ['<none>'];
      return h('tr', { 'data-id': im.Id },
        h('td', {}, h('input', { type: 'checkbox', 'aria-label': 'Select ' + tags[0], checked: selected.has(im.Id),
          onchange: (e) => (e.target.checked ? selected.add(im.Id) : selected.delete(im.Id)) })),
        h('td', {}, tags.map((t) => h('div', {}, t))),
        h('td', {}, h('code', {}, shortID(im.Id))),
        h('td', { class: 'num' }, bytes(im.Size)),
        h('td', {}, ago(im.Created)),
        h('td', { class: 'num' }, String(users.get(im.Id) || 0)),
        h('td', {}, button('History', () => history(detail, im, tags[0]), { 'data-action': 'history' }), ' ', button('Tag…', () => tagForm(detail, im, tags[0]), { 'data-action': 'tag' })));
    }));
    main.dataset.ready = '1';
  };
  const reload = debounce(load, 100);
  const ref = h('input', { id: 'pull-ref', placeholder: 'busybox:latest or registry:5000/repo:tag', autocomplete: 'off', required: true });
  const progress = h('section', { id: 'pull-progress', 'aria-live': 'polite' });
  let pulling = null;
  const pull = async (e) => {
    e.preventDefault();
    if (pulling) pulling.abort();
    pulling = new AbortController();
    await pullWithProgress(ref.value.trim(), progress, pulling.signal);
    pulling = null;
  };
  replace(main, h('h1', {}, 'Images'),
    h('form', { class: 'toolbar', onsubmit: pull, 'aria-label': 'Pull an image' }, field('Image to pull', ref), h('button', { type: 'submit', id: 'pull' }, 'Pull')),
    progress,
    h('div', { class: 'buttons', role: 'toolbar', 'aria-label': 'Image actions' },
      button('Remove selected', async () => {
        if (!selected.size) { toast('Select images first', 'notice'); return; }
        if (!confirm(`Remove ${selected.size} image(s)?`)) return;
        for (const id of [...selected]) { await act('Remove ' + shortID(id), () => api('DELETE', `/images/${id}`)); selected.delete(id); }
      }),
      button('Prune dangling', async () => {
        const r = await act('Prune', () => api('POST', '/images/prune'));
        if (r) toast(`Pruned ${(r.ImagesDeleted || []).length} image(s), reclaimed ${bytes(r.SpaceReclaimed)}`, 'notice');
      })),
    h('table', { id: 'images' }, h('caption', { class: 'sr' }, 'Images'),
      h('thead', {}, h('tr', {}, ['', 'Tags', 'ID', 'Size', 'Created', 'Containers', ''].map((x) => h('th', { scope: 'col' }, x)))), body),
    detail);
  const unsub = onEvent((ev) => { if (ev.replay) return; if (ev.Type === 'image' || ev.Type === 'reconnect' || (ev.Type === 'container' && /^(create|destroy)$/.test(ev.Action))) reload(); });
  load();
  return () => { unsub(); if (pulling) pulling.abort(); };
}

async function history(el, im, tag) {
  const rows = await act('History', () => api('GET', `/images/${im.Id}/history`));
  if (!rows) return;
  replace(el, h('h2', {}, 'History of ', tag),
    h('table', { class: 'history' }, h('caption', { class: 'sr' }, 'Layers of ' + tag),
      h('thead', {}, h('tr', {}, ['Created', 'Created by', 'Size'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, h('td', {}, ago(r.Created)), h('td', {}, h('code', {}, r.CreatedBy)), h('td', { class: 'num' }, bytes(r.Size)))))));
}

function tagForm(el, im, tag) {
  const to = h('input', { placeholder: 'repo:tag', required: true, id: 'tag-to' });
  replace(el, h('form', { class: 'toolbar', onsubmit: async (e) => {
    e.preventDefault();
    const v = to.value.trim();
    const i = v.lastIndexOf(':');
    const [repo, t] = i > v.lastIndexOf('/') ? [v.slice(0, i), v.slice(i + 1)] : [v, 'latest'];
    if (await act('Tag', () => api('POST', `/images/${im.Id}/tag?repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(t)}`)) !== undefined) replace(el);
  } }, field('New tag for ' + tag, to), h('button', { type: 'submit', id: 'tag-submit' }, 'Tag')));
  to.focus();
}

// pullWithProgress pulls ref, showing a bar per layer and the total.
export async function pullWithProgress(ref, el, signal) {
  if (!ref) return;
  let [image, tag] = [ref, 'latest'];
  const at = ref.lastIndexOf('@');
  const colon = ref.lastIndexOf(':');
  if (at < 0 && colon > ref.lastIndexOf('/')) { image = ref.slice(0, colon); tag = ref.slice(colon + 1); }
  if (at >= 0) { image = ref; tag = ''; }
  const layers = new Map();
  const total = h('progress', { max: 100, value: 0, id: 'pull-total', 'aria-label': 'Pull progress' });
  const pct = h('span', { id: 'pull-percent' }, '0 %');
  const statusLine = h('p', { id: 'pull-status', role: 'status' }, 'Pulling ', ref, '…');
  const list = h('ul', { class: 'layers' });
  replace(el, statusLine, h('div', { class: 'total' }, total, ' ', pct), list);
  const setTotal = (v) => { total.value = v; pct.textContent = Math.floor(v) + ' %'; };
  const recompute = () => {
    let cur = 0; let sum = 0;
    for (const l of layers.values()) { if (l.total) { sum += l.total; cur += l.done ? l.total : Math.min(l.cur, l.total); } }
    const allDone = layers.size && [...layers.values()].every((l) => l.done);
    setTotal(allDone ? 100 : sum ? (cur / sum) * 100 : 0);
  };
  try {
    const q = `fromImage=${encodeURIComponent(image)}` + (tag ? `&tag=${encodeURIComponent(tag)}` : '');
    await jsonLines('POST', '/images/create?' + q, (m) => {
      if (m.error || m.errorDetail) throw new Error(m.error || m.errorDetail.message);
      if (!m.id || !/^[0-9a-f]{12}$/.test(m.id)) { if (m.status) statusLine.textContent = m.status; return; }
      let l = layers.get(m.id);
      if (!l) {
        const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Layer ' + m.id });
        const text = h('span', {});
        l = { cur: 0, total: 0, done: false, bar, text };
        layers.set(m.id, l);
        list.append(h('li', { 'data-layer': m.id }, h('code', {}, m.id), ' ', bar, ' ', text));
      }
      const d = m.progressDetail || {};
      if (d.total) { l.total = d.total; l.cur = d.current || 0; l.bar.value = (l.cur / l.total) * 100; }
      if (/^(Pull complete|Already exists|Download complete)$/.test(m.status)) { if (m.status !== 'Download complete' || !l.total) l.done = m.status !== 'Download complete'; l.bar.value = 100; }
      if (m.status === 'Pull complete' || m.status === 'Already exists') l.done = true;
      l.text.textContent = m.status + (m.progress ? ' ' + m.progress.replace(/\[[=> ]*\]\s*/, '') : '');
      recompute();
    }, signal);
    setTotal(100);
  } catch (e) {
    if (e.name === 'AbortError') return;
    statusLine.textContent = 'Pull failed: ' + e.message;
    statusLine.className = 'error';
  }
}
