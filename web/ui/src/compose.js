// Compose projects: containers grouped by com.docker.compose.project,
// each service with its containers' states.
import { api, act } from './api.js';
import { h, replace, debounce } from './dom.js';
import { onEvent } from './events.js';
import { name, stateText } from './containers.js';

export function composeView(main) {
  const box = h('div', { id: 'compose' });
  const load = async () => {
    const list = await act('List containers', () => api('GET', '/containers/json?all=1&filters=' + encodeURIComponent('{"label":["com.docker.compose.project"]}')));
    if (!list) return;
    const projects = new Map();
    for (const c of list) {
      const p = c.Labels['com.docker.compose.project'];
      const s = c.Labels['com.docker.compose.service'] || name(c);
      if (!projects.has(p)) projects.set(p, new Map());
      const svc = projects.get(p);
      if (!svc.has(s)) svc.set(s, []);
      svc.get(s).push(c);
    }
    replace(box, projects.size ? [...projects].sort().map(([p, svcs]) => {
      const all = [...svcs.values()].flat();
      const running = all.filter((c) => c.State === 'running').length;
      return h('section', { class: 'card', 'data-project': p }, h('h2', {}, p, ' ', h('span', { class: 'muted' }, `${running}/${all.length} running`)),
        h('table', {}, h('caption', { class: 'sr' }, 'Services of ' + p),
          h('thead', {}, h('tr', {}, ['Service', 'Container', 'Image', 'State'].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, [...svcs].sort().flatMap(([s, cs]) => cs.map((c) => h('tr', {}, h('td', {}, s),
            h('td', {}, h('a', { href: '#/containers/' + encodeURIComponent(c.Id) }, name(c))), h('td', {}, c.Image), h('td', { class: 'state ' + c.State }, stateText(c))))))));
    }) : h('p', {}, 'No compose projects: no container carries the com.docker.compose.project label.'));
    main.dataset.ready = '1';
  };
  const reload = debounce(load, 100);
  replace(main, h('h1', {}, 'Compose projects'), box);
  load();
  return onEvent((ev) => { if (!ev.replay && (ev.Type === 'container' || ev.Type === 'reconnect')) reload(); });
}
