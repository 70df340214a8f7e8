// The outbound queue: filter, each recipient's attempts and last answer; retry, hold, release, bounce, delete.
import { $, api, session, cell, el, badge, button, when, say } from '/static/nav.js';

const CONFIRM = {
  delete: (n) => `Delete ${n} message(s) from the queue without telling their senders?`,
  bounce: (n) => `Return ${n} message(s) to their senders as undeliverable?`,
};

function filters() {
  const p = new URLSearchParams();
  for (const [k, id] of [['recipient', 'f-recipient'], ['sender', 'f-sender'], ['domain', 'f-domain'], ['state', 'f-state']]) {
    const v = $(id).value.trim();
    if (v) p.set(k, v);
  }
  return p.toString();
}

function row(m) {
  const tr = document.createElement('tr');
  tr.dataset.id = m.id;
  const box = el('input');
  box.type = 'checkbox';
  box.className = 'pick';
  box.value = m.id;
  box.setAttribute('aria-label', `Select message ${m.id}`);
  cell(tr).appendChild(box);
  cell(tr, m.id);
  const q = cell(tr, when(m.created));
  q.appendChild(el('span', `${m.size} bytes`, 'answer'));
  const s = cell(tr, m.sender ? `<${m.sender}>` : '<> (a notice)');
  if (m.account) s.appendChild(el('span', `submitted by ${m.account}${m.senderBlocked ? ' (blocked)' : ''}`, 'answer'));
  if (m.from) s.appendChild(el('span', `From: ${m.from}`, 'answer'));
  if (m.subject) s.appendChild(el('span', `Subject: ${m.subject}`, 'answer'));
  if (m.messageId) s.appendChild(el('span', m.messageId, 'answer'));
  const ul = el('ul', null, 'rcpts');
  for (const r of m.recipients) {
    const li = el('li');
    li.append(el('span', r.recipient), ' ', badge(r.state), ' ', el('span', `${r.attempts} attempt(s)`, 'small'));
    if (r.nextAttempt && r.state === 'deferred') li.appendChild(el('span', `next ${when(r.nextAttempt)}`, 'answer'));
    if (r.lastAnswer) li.appendChild(el('span', r.lastAnswer, 'answer'));
    ul.appendChild(li);
  }
  cell(tr).appendChild(ul);
  const acts = el('div', null, 'actions');
  for (const [a, text] of [['retry', 'Retry'], ['hold', 'Hold'], ['release', 'Release'], ['bounce', 'Bounce'], ['delete', 'Delete']]) {
    acts.appendChild(button(text, `${text} message ${m.id}`, () => act(a, [m.id])));
  }
  cell(tr).appendChild(acts);
  return tr;
}

async function refresh() {
  const r = await api('GET', '/api/queue' + (filters() ? `?${filters()}` : ''));
  if (r.status === 401) return location.replace('/login');
  if (!r.ok) return say($('error'), r.data.error || `The queue could not be read (${r.status}).`);
  say($('error'), '');
  const d = r.data;
  $('count').textContent = d.total === 0 ? 'The queue is empty.'
    : `${d.matched} of ${d.total} queued message(s) match` + (d.messages.length < d.matched ? `; the first ${d.messages.length} are shown.` : '.');
  $('messages').replaceChildren(...d.messages.map(row));
  $('select-all').checked = false;
}

async function act(action, ids) {
  if (!ids.length) return say($('result'), 'Select messages first.');
  if (CONFIRM[action] && !confirm(CONFIRM[action](ids.length))) return;
  const r = await api('POST', `/api/queue/${action}`, { ids });
  if (!r.ok) return say($('error'), r.data.error || `Refused (${r.status}).`);
  const done = r.data.results.filter((x) => x.done);
  const notes = r.data.results.filter((x) => x.why).map((x) => `${x.id}: ${x.why}`);
  say($('result'), `${action}: ${done.length} of ${ids.length} message(s) done.` + (notes.length ? ` ${notes.join('; ')}` : ''));
  await refresh();
}

$('filters').addEventListener('submit', (e) => {
  e.preventDefault();
  refresh();
});
$('select-all').addEventListener('change', (e) => {
  for (const b of document.querySelectorAll('input.pick')) b.checked = e.target.checked;
});
for (const b of document.querySelectorAll('[data-bulk]')) {
  b.addEventListener('click', () => act(b.dataset.bulk, [...document.querySelectorAll('input.pick:checked')].map((x) => Number(x.value))));
}

if (await session()) await refresh();
