// The build page: polls the JSON API (no reload) and renders with DOM nodes (textContent only:
// error messages and ids come from job data and are never parsed as HTML).
const ACTION_HEADER = 'x-reindex-action';
let pollMs = 1500;
let selected = decodeURIComponent(location.pathname.match(/^\/builds\/([^/]+)/)?.[1] ?? '');
let flash = '';

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}
const fmt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en'));
const secs = (s) => {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${Math.round(s % 60)} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
};
const bytes = (b) => (b > 1 << 30 ? `${(b / (1 << 30)).toFixed(2)} GiB` : b > 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const badge = (state) => h('span', { class: `badge s-${state}`, 'data-state': state }, state);

async function api(path, init) {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

async function action(path, label, body = {}) {
  try {
    const out = await api(path, { method: 'POST', headers: { [ACTION_HEADER]: '1', 'content-type': 'application/json' }, body: JSON.stringify(body) });
    flash = out.log?.message ?? `${label}: done`;
  } catch (error) {
    flash = `${label} refused: ${error.message}`;
  }
  await refresh();
}

function renderBuilds(builds) {
  const list = document.getElementById('builds');
  list.replaceChildren(...builds.map((b) => h('li', {},
    h('a', { href: `/builds/${b.buildId}`, class: b.buildId === selected ? 'selected' : '', 'data-build': b.buildId, onclick: (e) => { e.preventDefault(); select(b.buildId); } },
      badge(b.status), ' ', h('code', {}, b.buildId), h('br'),
      h('span', { class: 'muted' }, `${b.name ?? ''} ${Math.round(b.fraction * 100)}% · ${b.shards.done}/${b.shards.total} shards`)))));
  if (!builds.length) list.replaceChildren(h('li', { class: 'muted' }, 'No builds in this Redis yet.'));
}

function renderQueues(queues) {
  const states = ['waiting', 'active', 'delayed', 'failed', 'completed'];
  const short = { waiting: 'wait', active: 'run', delayed: 'retry', failed: 'failed', completed: 'done' };
  document.getElementById('queues').replaceChildren(
    h('tr', {}, h('th', {}, 'queue'), ...states.map((s) => h('th', { class: 'num', title: s }, short[s]))),
    ...Object.entries(queues).map(([stage, c]) => h('tr', {}, h('td', {}, stage), ...states.map((s) => h('td', { class: 'num' }, fmt(c[s] ?? 0))))));
}

function renderWorkers(workers) {
  document.getElementById('workers').replaceChildren(
    h('tr', {}, ...['worker', 'device', 'slots', 'last heartbeat', 'items/s', 'items', 'active jobs', 'done', 'failed'].map((t, i) => h('th', { class: [2, 4, 5, 7, 8].includes(i) ? 'num' : '' }, t))),
    ...workers.map((w) => h('tr', { 'data-worker': w.workerId },
      h('td', {}, h('code', {}, w.workerId)), h('td', {}, w.device ?? '?'), h('td', { class: 'num' }, w.concurrency ?? '?'),
      h('td', {}, w.heartbeatAgeSeconds === null ? 'no heartbeat (connection only)' : `${w.heartbeatAgeSeconds.toFixed(0)} s ago`),
      h('td', { class: 'num' }, fmt(w.itemsPerSecond)), h('td', { class: 'num' }, fmt(w.itemsTotal)),
      h('td', {}, w.activeJobs.join(', ') || 'idle'), h('td', { class: 'num' }, fmt(w.jobsCompleted)), h('td', { class: 'num' }, fmt(w.jobsFailed)))));
  if (!workers.length) document.getElementById('workers').replaceChildren(h('tr', {}, h('td', { class: 'muted' }, 'No live workers.')));
}

function renderVersions(indexes) {
  const root = document.getElementById('versions');
  if (!indexes.length) return root.replaceChildren(h('p', { class: 'muted' }, 'Nothing published yet.'));
  root.replaceChildren(...indexes.map((ix) => h('div', {},
    h('h3', {}, ix.name, ' ', h('span', { class: 'muted' }, `in ${ix.store}`)),
    h('table', {},
      h('tr', {}, ...['version', '', 'build', 'created', 'vectors', 'index', 'nprobe', 'files', 'items / rejected', 'recall', 'built'].map((t, i) => h('th', { class: [4, 6].includes(i) ? 'num' : '' }, t))),
      ...ix.versions.map((v) => h('tr', { 'data-version': v.version },
        h('td', {}, h('code', {}, v.version)), h('td', {}, v.latest ? badge('LATEST') : ''), h('td', {}, h('code', {}, v.buildId)),
        h('td', {}, new Date(v.createdAt).toLocaleString()), h('td', { class: 'num' }, fmt(v.ntotal)), h('td', {}, `${v.factory} ${v.metric} d${v.dim}`),
        h('td', { class: 'num' }, v.nprobe), h('td', {}, `${v.files} · ${bytes(v.bytes)}`), h('td', {}, `${fmt(v.catalogue.items)} / ${fmt(v.catalogue.rejected)}`),
        h('td', {}, recallOf(v.quality)), h('td', { class: 'built' }, builtAs(v.build))))))));
}
// How a version was built: incremental from a base (with what changed), or full (and why).
function builtAs(b) {
  if (!b) return '–';
  if (b.mode === 'incremental') return `incremental from ${b.baseVersion}: +${fmt(b.added)} ~${fmt(b.changed)} −${fmt(b.deleted)}, ${fmt(b.carried)} carried`;
  return b.reason ? `full (${b.reason})` : 'full';
}
// recall@10 at the chosen nprobe, from the manifest's quality report; "forced" when published
// past a failed gate.
function recallOf(q) {
  const r = q?.recallAt10;
  if (typeof r !== 'number') return '–';
  return `${r.toFixed(3)}${q.forced ? ' (forced)' : ''}`;
}

function bar(pct) {
  const el = h('div');
  el.style.width = `${pct}%`; // CSSOM, allowed by the page's CSP (inline style attributes are not)
  return el;
}

function renderBuild(data) {
  const root = document.getElementById('build');
  if (!data) return root.replaceChildren(h('p', { class: 'muted' }, 'No build selected.'));
  const { build: b, log } = data;
  const p = b.progress;
  const running = !['published', 'failed', 'cancelled'].includes(b.status);
  const pct = Math.round(p.fraction * 1000) / 10;
  root.replaceChildren(...[
    h('div', { class: 'title' }, h('h2', { 'data-testid': 'build-id' }, b.buildId), h('span', { 'data-testid': 'build-status' }, badge(b.status)),
      h('span', { class: 'muted' }, `${b.name ?? ''} ${b.version ? `→ ${b.version}` : ''} · ${b.factory ?? ''}`),
      h('span', { class: 'actions' }, h('button', { class: 'danger', 'data-testid': 'cancel', disabled: !running || undefined,
        onclick: () => { if (confirm(`Cancel build ${b.buildId}?`)) action(`/api/builds/${b.buildId}/cancel`, 'cancel'); } }, 'Cancel build'))),
    flash ? h('div', { class: 'flash', 'data-testid': 'flash' }, flash) : null,
    b.failure ? h('div', { class: 'failure', 'data-testid': 'failure' }, b.failure) : null,
    h('div', { class: `bar ${b.status === 'published' ? 'done' : b.status === 'failed' || b.status === 'cancelled' ? 'bad' : ''}`, role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': pct, 'data-testid': 'progress' },
      bar(pct)),
    h('div', { class: 'kpis' },
      h('div', {}, h('b', { 'data-testid': 'percent' }, `${pct}%`), h('span', {}, 'done')),
      h('div', {}, h('b', { 'data-testid': 'items' }, fmt(p.items)), h('span', {}, `items of ~${fmt(p.estimatedItems)}`)),
      h('div', {}, h('b', {}, fmt(p.rejected)), h('span', {}, 'rejected')),
      h('div', {}, h('b', { 'data-testid': 'rate' }, fmt(p.itemsPerSecond)), h('span', {}, 'items/s')),
      h('div', {}, h('b', { 'data-testid': 'eta' }, running ? secs(p.etaSeconds) : '–'), h('span', {}, 'ETA')),
      h('div', {}, h('b', {}, secs(b.elapsedSeconds)), h('span', {}, 'elapsed'))),
    h('h3', {}, 'Stages'),
    h('table', { class: 'compact', 'data-testid': 'stages' },
      h('tr', {}, ...['stage', 'done', 'running', 'waiting', 'failed', 'total'].map((t, i) => h('th', { class: i ? 'num' : '' }, t))),
      ...Object.entries(b.stages).map(([stage, c]) => h('tr', { 'data-stage': stage }, h('td', {}, stage),
        ...['done', 'running', 'waiting', 'failed', 'total'].map((k) => h('td', { class: 'num', 'data-count': k }, c[k]))))),
    h('h3', {}, `Shards (${b.shards.length})`),
    h('table', { 'data-testid': 'shards' },
      h('tr', {}, ...['#', 'state', 'worker', 'items', 'rows (est.)', 'time', 'attempts', 'error', ''].map((t, i) => h('th', { class: [0, 3, 4, 5, 6].includes(i) ? 'num' : '' }, t))),
      ...b.shards.map((s) => h('tr', { 'data-shard': s.shard, 'data-state': s.state },
        h('td', { class: 'num' }, s.shard), h('td', {}, badge(s.state)), h('td', {}, s.workerId ? h('code', {}, s.workerId) : '–'),
        h('td', { class: 'num' }, fmt(s.items)), h('td', { class: 'num' }, fmt(s.estimatedRows)), h('td', { class: 'num' }, secs(s.seconds)),
        h('td', { class: 'num' }, s.attempts), h('td', { class: 'err' }, s.error ?? ''),
        h('td', {}, s.state === 'failed' && b.status !== 'cancelled'
          ? h('button', { class: 'primary', 'data-testid': `retry-shard-${s.shard}`, onclick: (e) => { e.target.disabled = true; action(`/api/builds/${b.buildId}/shards/${s.shard}/retry`, `retry shard ${s.shard}`); } }, 'Retry')
          : '')))),
    ...['train', 'merge', 'publish'].filter((st) => b.stages[st].failed > 0 && b.stages.shard.failed === 0 && b.status !== 'cancelled').map((st) =>
      h('p', {}, h('button', { class: 'primary', 'data-testid': `retry-${st}`, onclick: () => action(`/api/builds/${b.buildId}/retry`, `retry ${st}`, { stage: st }) }, `Retry ${st}`))),
    h('h3', {}, 'Build log'),
    h('ul', { class: 'log', 'data-testid': 'log' }, ...(log.length ? log.map((e) => h('li', {}, h('span', { class: 'muted' }, new Date(e.at).toLocaleTimeString()), ' ', h('b', {}, e.action), ' ', e.message, ' ', h('span', { class: 'muted' }, `(${e.by})`))) : [h('li', { class: 'muted' }, 'No operator actions.')])),
  ].filter(Boolean));
}
function select(buildId) {
  selected = buildId;
  flash = '';
  history.pushState({}, '', `/builds/${encodeURIComponent(buildId)}`);
  void refresh();
}

let versionsAt = 0;
async function refresh() {
  const conn = document.getElementById('conn');
  try {
    const overview = await api('/api/overview');
    pollMs = Math.min(2000, overview.pollMs ?? 1500);
    if (!selected && overview.builds.length) selected = overview.builds[0].buildId;
    renderBuilds(overview.builds);
    renderQueues(overview.queues);
    renderWorkers(overview.workers);
    renderBuild(selected ? await api(`/api/builds/${encodeURIComponent(selected)}`).catch(() => null) : null);
    if (Date.now() - versionsAt > 5000 || overview.builds.some((b) => b.buildId === selected && b.status === 'published')) {
      versionsAt = Date.now();
      renderVersions((await api('/api/versions')).indexes);
    }
    conn.textContent = `live · ${overview.redis} · updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    conn.textContent = `disconnected: ${error.message}`;
  }
}

async function loop() {
  await refresh();
  setTimeout(loop, pollMs);
}
window.addEventListener('popstate', () => {
  selected = decodeURIComponent(location.pathname.match(/^\/builds\/([^/]+)/)?.[1] ?? '');
  void refresh();
});
void loop();
