// The jobq console: one small script, no framework, no build step. Every
// page reads the JSON API under /api/v1/; actions send the admin token in
// the Authorization header (kept in sessionStorage, never in a cookie).
'use strict';

const $ = (sel, root = document) => root.querySelector(sel);
const main = $('#main');
let timers = [];

function esc(text) {
  return String(text ?? '').replace(/[&<>"']/g, c => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}

function token() { return sessionStorage.getItem('jobq-token') || ''; }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (token() && options.method && options.method !== 'GET')
    headers['Authorization'] = 'Bearer ' + token();
  const resp = await fetch('/api/v1/' + path, {
    method: options.method || 'GET', headers, credentials: 'omit',
    body: options.body === undefined ? undefined : JSON.stringify(options.body)});
  let doc = null;
  try { doc = await resp.json(); } catch (e) { doc = {error: resp.statusText}; }
  if (!resp.ok) {
    const err = new Error(doc.error || resp.statusText);
    err.status = resp.status; err.field = doc.field;
    throw err;
  }
  return doc;
}

// ------------------------------------------------------------ formatting

function when(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  const pad = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
         `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function span(ms) {
  if (ms === null || ms === undefined || !isFinite(ms)) return '—';
  let s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

// Server time at load, to count down against the server's clock.
let skew = 0;
const serverNow = () => Date.now() + skew;

function countdown(at) {
  if (at === null || at === undefined) return '<span class="muted">none</span>';
  return `<span class="countdown" data-at="${at}">${span(at - serverNow())}</span>`;
}

function tickCountdowns() {
  for (const el of document.querySelectorAll('.countdown')) {
    const left = Number(el.dataset.at) - serverNow();
    el.textContent = left > 0 ? span(left) : 'due now';
    el.classList.toggle('soon', left < 60000);
  }
  for (const el of document.querySelectorAll('.since')) {
    el.textContent = span(serverNow() - Number(el.dataset.since));
  }
}

// A raw amount from jobq_run_explain (millicores, bytes, pods) as people
// read it: cores, Mi/Gi.
function amount(resource, v) {
  if (v === null || v === undefined) return '—';
  if (resource === 'cpu') return (v / 1000).toLocaleString() + (v === 1000 ? ' core' : ' cores');
  if (resource === 'memory' || resource === 'storage') {
    const units = [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];
    for (const [u, n] of units) if (v >= n) return (Math.round(v / n * 10) / 10) + u;
    return v + ' bytes';
  }
  return String(v);
}

const pill = (text, cls) => `<span class="pill ${esc(cls || text)}">${esc(text)}</span>`;
const runLink = r => `<a href="/run/${r.id}">#${r.id}</a>`;
const runLabel = r => esc(r.name ? `${r.job} · ${r.name}` : r.job);

function requestText(req) {
  return ['cpu', 'memory', 'pods'].map(k => `${k} ${esc(req[k].text)}`).join(', ');
}

function showError(where, err) {
  where.innerHTML = `<div class="msg error" role="alert">${esc(err.message)}</div>`;
}

function notFound(what) {
  document.title = '404 · jobq';
  main.innerHTML = `<div class="notfound" id="not-found"><div class="code">404</div>
    <p>${esc(what)}</p><p><a href="/">Back to the overview</a></p></div>`;
}

function setSession(doc) {
  if (doc.now) skew = doc.now - Date.now();
  $('#source').textContent = doc.source ? 'source: ' + doc.source : '';
  const banner = $('#banner');
  const parts = [];
  if (doc.health && !doc.health.ok) parts.push('Unhealthy: ' + doc.health.message);
  if (doc.read_only) parts.push('Read-only console: ' + doc.read_only_reason);
  banner.hidden = parts.length === 0;
  banner.className = doc.health && !doc.health.ok ? 'bad' : '';
  banner.textContent = parts.join(' — ');
  $('#token-form').hidden = !!doc.read_only;
}

// --------------------------------------------------------------- pages

async function overview() {
  document.title = 'Overview · jobq';
  const doc = await api('overview');
  setSession(doc);
  const rows = doc.queues.map(q => {
    const h = q.head;
    const b = h && h.blocked;
    return `<tr data-queue="${esc(q.namespace)}/${esc(q.priority)}">
      <td>${esc(q.namespace)}</td><td>${esc(q.priority)}</td>
      <td class="num"><a href="/queue?namespace=${encodeURIComponent(q.namespace)}&priority=${q.priority}">${q.length.toLocaleString()}</a></td>
      <td>${h ? runLink(h) + ' ' + runLabel(h) : '<span class="muted">—</span>'}</td>
      <td>${pill(q.head_state)}${b ? ` on <b class="resource">${esc(b.resource)}</b>` : ''}</td>
      <td>${b ? `needs <b>${esc(b.requested.text)}</b>${b.resource === 'cpu' ? ' cores' : ''}, <b>${esc(b.available.text)}</b> available` : (h ? requestText(h.request) : '')}</td>
      <td>${b && b.since !== null ? `<span class="since" data-since="${b.since}">${span(serverNow() - b.since)}</span>` : '—'}</td>
      <td>${h ? countdown(h.head_timeout_at) : '—'}</td>
      <td class="num">${h ? `${h.retries.used} used, ${h.retries.left} left` : '—'}</td></tr>`;
  }).join('');
  // A dimension without a limit and nothing used says nothing: left out.
  const quota = doc.quota.map(n => Object.entries(n.resources)
    .filter(([, v]) => v.hard || (v.used && v.used.value)).map(([res, v]) => {
    const used = v.used ? v.used.value : null, hard = v.hard ? v.hard.value : null;
    const pct = used !== null && hard ? Math.min(100, 100 * used / hard) : 0;
    return `<tr><td>${esc(n.namespace)}</td><td>${esc(res)}</td>
      <td class="num">${v.used ? esc(v.used.text) : '—'}</td>
      <td class="num">${v.hard ? esc(v.hard.text) : 'no limit'}</td>
      <td>${hard ? `<div class="bar" title="${pct.toFixed(0)}%"><span class="${pct >= 100 ? 'full' : ''}" style="width:${pct}%"></span></div>` : ''}</td></tr>`;
  }).join('')).join('');
  main.innerHTML = `<h1>Queues</h1>
    <table id="queues"><thead><tr><th>Namespace</th><th>Priority</th><th class="num">Queued</th>
      <th>Head run</th><th>Head state</th><th>Requested vs available</th><th>Blocked for</th>
      <th>Head timeout in</th><th class="num">Retries</th></tr></thead>
      <tbody>${rows || '<tr><td colspan="9" class="muted">No queues yet: no job is defined.</td></tr>'}</tbody></table>
    <h2>Quota</h2>
    <table id="quota"><thead><tr><th>Namespace</th><th>Resource</th><th class="num">Used</th>
      <th class="num">Hard limit</th><th>Use</th></tr></thead>
      <tbody>${quota || '<tr><td colspan="5" class="muted">No quota reading (a database snapshot has none; the scheduling host shows its probe\'s last reading).</td></tr>'}</tbody></table>
    <p class="muted">Server time ${doc.server_ms.toFixed(1)} ms.</p>`;
  timers.push(setInterval(tickCountdowns, 1000));
}

async function queuePage(params) {
  const ns = params.get('namespace') || '', prio = params.get('priority') || 'normal';
  const offset = Math.max(0, parseInt(params.get('offset') || '0', 10) || 0);
  const limit = 50;
  document.title = `${ns}/${prio} · jobq`;
  const q = new URLSearchParams({namespace: ns, priority: prio, state: 'queued',
                                 offset, limit});
  const [session, doc] = await Promise.all([api('session'), api('runs?' + q)]);
  setSession(session);
  const rows = doc.runs.map(r => `<tr><td class="num">${(r.position + 1).toLocaleString()}</td>
      <td>${runLink(r)}</td><td>${runLabel(r)}</td><td>${requestText(r.request)}</td>
      <td>${when(r.submitted_at)}</td>
      <td>${r.estimated_start ? when(r.estimated_start) : '<span class="muted">unknown</span>'}</td>
      <td>${r.blocked ? pill('blocked') + ' on ' + esc(r.blocked.resource) : ''}</td></tr>`).join('');
  const page = (o, label, off) => `<a href="/queue?namespace=${encodeURIComponent(ns)}&priority=${prio}&offset=${o}"${off ? ' hidden' : ''}>${label}</a>`;
  const last = doc.total ? Math.min(doc.total, offset + doc.runs.length) : 0;
  main.innerHTML = `<h1>Queue ${esc(ns)} / ${esc(prio)}</h1>
    <div class="pager">${page(0, '⇤ First', offset === 0)}${page(Math.max(0, offset - limit), '← Previous', offset === 0)}
      <span>${doc.total ? `${(offset + 1).toLocaleString()}–${last.toLocaleString()}` : '0'} of ${doc.total.toLocaleString()} queued</span>
      ${page(offset + limit, 'Next →', offset + limit >= doc.total)}
      ${page(Math.max(0, doc.total - limit), 'Last ⇥', offset + limit >= doc.total)}</div>
    <table id="runs"><thead><tr><th class="num">Position</th><th>Run</th><th>Job</th><th>Request</th>
      <th>Submitted</th><th>Estimated start</th><th></th></tr></thead>
      <tbody>${rows || '<tr><td colspan="7" class="muted">Nothing queued here.</td></tr>'}</tbody></table>
    ${doc.estimate_note ? `<p class="muted">Estimated start: ${esc(doc.estimate_note)}.</p>` : ''}
    <p class="muted">Server time ${doc.server_ms.toFixed(1)} ms.</p>`;
}

async function runPage(id) {
  document.title = `Run ${id} · jobq`;
  let doc;
  const session = await api('session');
  setSession(session);
  try { doc = await api('runs/' + encodeURIComponent(id)); } catch (err) {
    if (err.status === 404 || err.status === 400) return notFound(err.message);
    throw err;
  }
  const r = doc.run, e = doc.explain || {};
  const facts = [
    ['State', pill(r.state) + (r.reason ? ` <span class="muted">(${esc(r.reason)})</span>` : '')],
    ['Job', esc(r.job) + (r.domain ? ` <span class="muted">domain ${esc(r.domain)}</span>` : '')],
    ['Name', esc(r.name) || '<span class="muted">none</span>'],
    ['Queue', `<a href="/queue?namespace=${encodeURIComponent(r.namespace)}&priority=${r.priority}">${esc(r.namespace)} / ${esc(r.priority)}</a> · flow ${esc(r.flow)}`],
    ['Request', requestText(r.request) + `, storage ${esc(r.request.storage.text)}`],
    ['Submitted', when(r.submitted_at)],
    ['Deployed', when(r.deployed_at)],
    ['Ended', when(r.ended_at)],
  ];
  if (e.queue) facts.push(['Position', `${(e.queue.position + 1).toLocaleString()} of ${e.queue.length.toLocaleString()} (${e.queue.ahead.toLocaleString()} ahead)`]);
  if (e.blocked) facts.push(['Blocked', `${e.blocked.head_run === r.id ? 'this run' : 'the head of its queue (#' + e.blocked.head_run + ')'} does not fit: <b>${esc(e.blocked.resource)}</b> needs ${esc(amount(e.blocked.resource, e.blocked.requested))}, ${esc(amount(e.blocked.resource, e.blocked.available))} available, since ${when(e.blocked.since)}`]);
  facts.push(['Head timeout', r.head_timeout_at !== null ? countdown(r.head_timeout_at)
    : `<span class="muted">${r.state === 'queued' ? 'only the head of a queue times out' : 'not queued'}</span>`]);
  facts.push(['Retries', `${r.retries.used} used, ${r.retries.left} left`]);
  facts.push(['Deploy attempts', String(r.deploy_attempts)]);
  if (e.estimated_start) facts.push(['Estimated start', `${when(e.estimated_start.at)} <span class="muted">(${esc(e.estimated_start.basis)})</span>`]);
  else if (r.state === 'queued') facts.push(['Estimated start', `<span class="muted">${esc(e.estimate_note || 'unknown')}</span>`]);
  if (r.detail) facts.push(['Detail', esc(r.detail)]);
  const events = (e.events || []).map(ev => {
    const extra = Object.entries(ev).filter(([k]) => k !== 'event' && k !== 'time')
      .map(([k, v]) => `${esc(k)}=${esc((k === 'requested' || k === 'available') && ev.resource
        ? amount(ev.resource, v) : typeof v === 'object' ? JSON.stringify(v) : v)}`).join(' ');
    return `<li><time>${when(ev.time)}</time>${pill(ev.event, ev.event === 'blocked' || ev.event === 'failed' || ev.event === 'cancelled' ? 'blocked' : 'queued')}<span>${extra}</span></li>`;
  }).join('');
  const live = ['queued', 'deploying', 'running'].includes(r.state);
  main.innerHTML = `<h1>Run #${r.id} <span class="muted">${runLabel(r)}</span></h1>
    <dl class="facts" id="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>
    ${live ? `<div class="actions"><input id="cancel-detail" placeholder="reason (optional)" size="40">
      <button class="danger" id="cancel" ${session.read_only ? 'disabled title="read-only console"' : ''}>Cancel run</button></div>` : ''}
    <div id="action-result"></div>
    <h2>Event timeline</h2>
    <ol class="timeline" id="timeline">${events || '<li class="muted">No events recorded (a scheduler without a database keeps none).</li>'}</ol>`;
  const cancel = $('#cancel');
  if (cancel) cancel.onclick = async () => {
    const out = $('#action-result');
    try {
      const done = await api(`runs/${r.id}/cancel`, {method: 'POST', body: {detail: $('#cancel-detail').value}});
      await runPage(id);
      $('#action-result').innerHTML = done.pending
        ? `<div class="msg" role="status">Requested; not applied yet: ${esc(done.message)}</div>`
        : '<div class="msg ok" role="status">Cancelled.</div>';
    } catch (err) { showError(out, err); }
  };
  timers.push(setInterval(tickCountdowns, 1000));
}

function runsTable(runs, empty) {
  const rows = runs.map(r => `<tr><td>${runLink(r)}</td><td>${runLabel(r)}</td>
    <td>${esc(r.namespace)} / ${esc(r.priority)}</td><td>${pill(r.state)}</td>
    <td>${when(r.submitted_at)}</td><td>${esc(r.reason)}</td></tr>`).join('');
  return `<table id="results"><thead><tr><th>Run</th><th>Job · name</th><th>Queue</th>
    <th>State</th><th>Submitted</th><th>Reason</th></tr></thead>
    <tbody>${rows || `<tr><td colspan="6" class="muted">${empty}</td></tr>`}</tbody></table>`;
}

async function searchPage(params) {
  document.title = 'Search · jobq';
  setSession(await api('session'));
  const text = params.get('q') || '';
  main.innerHTML = `<h1>Search runs</h1>
    <form class="toolbar" id="search-form"><input name="q" id="q" size="40" placeholder="part of a run or job name" value="${esc(text)}">
    <button type="submit">Search</button></form><div id="search-out"></div>`;
  $('#search-form').onsubmit = ev => {
    ev.preventDefault();
    go('/search?q=' + encodeURIComponent($('#q').value));
  };
  if (!text) return;
  const out = $('#search-out');
  try {
    const doc = await api('search?' + new URLSearchParams({q: text, limit: 100}));
    out.innerHTML = runsTable(doc.runs, 'No run or job name contains that.');
  } catch (err) { showError(out, err); }
}

async function eventsPage() {
  document.title = 'Events · jobq';
  const [session, doc] = await Promise.all([api('session'), api('events?limit=200')]);
  setSession(session);
  const rows = doc.events.map(ev => `<tr><td>${when(ev.time)}</td>
    <td>${pill(ev.event, ev.event === 'cancelled' || ev.event === 'failed' ? 'failed' : 'queued')}</td>
    <td><a href="/run/${ev.run}">#${ev.run}</a> ${esc(ev.job)}</td>
    <td>${esc(ev.namespace)} / ${esc(ev.priority)}</td>
    <td>${esc(ev.reason || '')}${ev.retry ? ' retry ' + ev.retry : ''}</td><td>${esc(ev.detail || '')}</td></tr>`).join('');
  main.innerHTML = `<h1>Recent reschedules, head timeouts, cancellations and failures</h1>
    <table id="events"><thead><tr><th>Time</th><th>Event</th><th>Run</th><th>Queue</th><th>Reason</th><th>Detail</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="6" class="muted">Nothing to report.</td></tr>'}</tbody></table>
    <p class="muted">Server time ${doc.server_ms.toFixed(1)} ms.</p>`;
}

async function settingsPage() {
  document.title = 'Settings · jobq';
  const doc = await api('properties');
  setSession(doc);
  const rows = doc.properties.map(p => `<tr data-key="${esc(p.key)}"><td><code>${esc(p.key)}</code></td>
    <td><input class="value" value="${esc(JSON.stringify(p.value))}" size="14" ${doc.read_only ? 'disabled' : ''}></td>
    <td><button class="save" ${doc.read_only ? 'disabled' : ''}>Save</button></td><td class="out"></td></tr>`).join('');
  main.innerHTML = `<h1>Settings and system properties</h1>
    <table id="properties"><thead><tr><th>Key</th><th>Value (JSON)</th><th></th><th></th></tr></thead>
    <tbody>${rows}</tbody></table>
    <h2>Migrate to legacy</h2>
    <div class="actions"><button class="danger" id="migrate" ${doc.read_only ? 'disabled' : ''}>Switch every job to the legacy flow</button>
    <span class="muted">Every queued run is deployed at once, without a resource check.</span></div>
    <div id="migrate-out"></div>`;
  for (const row of document.querySelectorAll('#properties tbody tr')) {
    $('.save', row).onclick = async () => {
      const out = $('.out', row);
      let value;
      try { value = JSON.parse($('.value', row).value); } catch (e) {
        out.innerHTML = `<div class="msg error" role="alert">${esc(row.dataset.key)}: not JSON (write 90, true or "text")</div>`;
        return;
      }
      try {
        const done = await api('properties/' + encodeURIComponent(row.dataset.key), {method: 'PUT', body: {value}});
        out.innerHTML = done.pending
          ? `<div class="msg" role="status">Requested; not applied yet.</div>`
          : '<div class="msg ok" role="status">Saved.</div>';
      } catch (err) { showError(out, err); }
    };
  }
  $('#migrate').onclick = async () => {
    if (!confirm('Deploy every queued run through the legacy path?')) return;
    try {
      const r = await api('migrate-to-legacy', {method: 'POST', body: {confirm: true}});
      $('#migrate-out').innerHTML = r.pending
        ? '<div class="msg">Requested; not applied yet.</div>'
        : `<div class="msg ok">${r.moved} runs moved.</div>`;
    } catch (err) { showError($('#migrate-out'), err); }
  };
}

// -------------------------------------------------------------- router

async function render() {
  timers.forEach(clearInterval);
  timers = [];
  const path = location.pathname, params = new URLSearchParams(location.search);
  const section = path === '/' ? 'overview' : path.split('/')[1];
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.dataset.nav === section);
  try {
    if (path === '/') await overview();
    else if (path === '/queue') await queuePage(params);
    else if (path.startsWith('/run/')) await runPage(path.slice(5));
    else if (path === '/search') await searchPage(params);
    else if (path === '/events') await eventsPage();
    else if (path === '/settings') await settingsPage();
    else notFound('No such page.');
  } catch (err) { showError(main, err); }
  document.body.dataset.ready = '1';
}

function go(url) { history.pushState(null, '', url); render(); }

document.addEventListener('click', ev => {
  const a = ev.target.closest('a');
  if (a && a.origin === location.origin && !a.hasAttribute('download') &&
      !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) {
    ev.preventDefault();
    go(a.pathname + a.search);
  }
});
window.addEventListener('popstate', render);
$('#token-form').onsubmit = ev => {
  ev.preventDefault();
  sessionStorage.setItem('jobq-token', $('#token').value.trim());
  $('#token').value = '';
  $('#token').placeholder = token() ? 'token set' : 'admin token';
};
if (token()) $('#token').placeholder = 'token set';
render();
