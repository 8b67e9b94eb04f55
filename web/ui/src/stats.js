// Live resource usage over one WebSocket (/ws/stats): the page says which
// containers it shows, berthd streams their /containers/{id}/stats.
const listeners = new Map(); // id -> Set of callbacks
let ws;
let wanted = [];
let backoff = 500;

function connect() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  ws = new WebSocket(proto + '//' + location.host + '/ws/stats');
  ws.onopen = () => { backoff = 500; ws.send(JSON.stringify({ ids: wanted })); };
  ws.onmessage = (m) => {
    const s = JSON.parse(m.data);
    for (const f of listeners.get(s.id) || []) f(s);
  };
  ws.onclose = () => {
    ws = null;
    setTimeout(() => { if (listeners.size) connect(); }, backoff);
    backoff = Math.min(backoff * 2, 10000);
  };
}

let queued = false;
// update tells berthd the new set once per task, however many rows
// subscribed or left in it.
function update() {
  if (queued) return;
  queued = true;
  queueMicrotask(send);
}

function send() {
  queued = false;
  wanted = [...listeners.keys()];
  if (!ws && wanted.length) connect();
  else if (ws && ws.readyState === 1) ws.send(JSON.stringify({ ids: wanted }));
}

// watchStats calls fn with {id, cpu, mem, memLimit, rx, tx, blkRead,
// blkWrite} for container id until the returned function is called.
export function watchStats(id, fn) {
  if (!listeners.has(id)) listeners.set(id, new Set());
  listeners.get(id).add(fn);
  update();
  return () => {
    const set = listeners.get(id);
    if (set) { set.delete(fn); if (!set.size) listeners.delete(id); }
    update();
  };
}
