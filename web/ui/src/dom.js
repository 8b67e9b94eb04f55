// DOM helpers. Every string from the engine goes in as text (text nodes,
// textContent, attribute values): nothing here parses HTML.

// h builds an element: h('a', {href: '#/x', class: 'c', onclick: f}, 'text', child).
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastTimer;
// toast shows an error or a notice for a few seconds.
export function toast(msg, kind = 'error') {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = 'show ' + kind;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = ''; }, 6000);
}

// field is a labelled form control.
export function field(label, control) {
  const id = control.id || ('f' + Math.random().toString(36).slice(2));
  control.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

export function bytes(n) {
  if (n === undefined || n === null || n < 0) return '—';
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : n) + ' ' + u[i];
}

export function ago(unixOrIso) {
  const t = typeof unixOrIso === 'number' ? unixOrIso * 1000 : Date.parse(unixOrIso);
  if (!t || t < 0) return '—';
  const s = Math.max(0, (Date.now() - t) / 1000);
  if (s < 60) return Math.floor(s) + ' seconds ago';
  if (s < 3600) return Math.floor(s / 60) + ' minutes ago';
  if (s < 86400) return Math.floor(s / 3600) + ' hours ago';
  return Math.floor(s / 86400) + ' days ago';
}

export const shortID = (id) => (id || '').replace(/^sha256:/, '').slice(0, 12);

// debounce runs fn once after a burst of calls (events arrive in bursts).
export function debounce(fn, ms = 150) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// table builds a table with a caption (for screen readers) and headers.
export function table(caption, headers, rows) {
  return h('table', {},
    h('caption', { class: 'sr' }, caption),
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows));
}

export function button(label, onclick, attrs = {}) {
  return h('button', { type: 'button', onclick, ...attrs }, label);
}
