// The delivery trace: by Message-ID, queue ID or recipient, what was received, where it went, each remote answer;
// newest first, a page at a time. Every value goes in as text (textContent), never as markup.
import { $, api, session, cell, el, badge, when, say } from '/static/nav.js';

let current = { q: '', offset: 0, size: 0, page: 100 };

async function trace(q, offset = 0) {
  say($('error-trace'), '');
  const r = await api('GET', `/api/trace?q=${encodeURIComponent(q)}&offset=${offset}`);
  if (r.status === 401) return location.replace('/login');
  if (!r.ok) return say($('error-trace'), r.data.error || `Refused (${r.status}).`);
  const d = r.data;
  const queued = d.queued.map((m) => {
    const tr = document.createElement('tr');
    cell(tr, m.id);
    cell(tr, when(m.created));
    cell(tr, m.sender ? `<${m.sender}>` : '<>');
    const what = cell(tr, m.messageId || '');
    if (m.from) what.appendChild(el('span', `From: ${m.from}`, 'answer'));
    if (m.subject) what.appendChild(el('span', `Subject: ${m.subject}`, 'answer'));
    const ul = el('ul', null, 'rcpts');
    for (const x of m.recipients) {
      const li = el('li');
      li.append(el('span', x.recipient), ' ', badge(x.state), ' ', el('span', `${x.attempts} attempt(s)`, 'small'));
      if (x.lastAnswer) li.appendChild(el('span', x.lastAnswer, 'answer'));
      ul.appendChild(li);
    }
    cell(tr).appendChild(ul);
    return tr;
  });
  $('queued').replaceChildren(...queued);
  $('queued-card').hidden = queued.length === 0;
  const events = d.events.map((e) => {
    const tr = document.createElement('tr');
    cell(tr, when(e.at));
    cell(tr, e.id);
    cell(tr).appendChild(badge(e.event));
    const msg = cell(tr, e.messageId || '');
    // the queued message's subject beside its Message-ID (a narrow ID column broke it letter by letter)
    const m = d.messages[String(e.id)];
    if (m && m.subject) msg.appendChild(el('span', m.subject, 'answer'));
    if (e.client) msg.appendChild(el('span', `from ${e.client}`, 'answer'));
    if (e.size) msg.appendChild(el('span', `${e.size} bytes`, 'answer'));
    cell(tr, e.recipient);
    cell(tr, e.remote);
    cell(tr, e.detail);
    return tr;
  });
  $('events').replaceChildren(...events);
  $('events-card').hidden = false;
  current = { q, offset: d.offset, size: events.length, page: d.page };
  $('newer').hidden = d.offset === 0;
  $('older').hidden = !d.more;
  $('note').textContent = (events.length ? '' : 'No event recorded for this search. ') + d.note;
  const u = new URL(location.href);
  u.searchParams.set('q', q);
  history.replaceState(null, '', u);
}

$('older').addEventListener('click', () => trace(current.q, current.offset + current.size));
$('newer').addEventListener('click', () => trace(current.q, Math.max(0, current.offset - current.page)));

$('form-trace').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = $('q').value.trim();
  if (!q) return say($('error-trace'), 'Type a Message-ID, a queue ID or a recipient address.');
  trace(q);
});

if (await session()) {
  const q = new URLSearchParams(location.search).get('q');
  if (q) {
    $('q').value = q;
    await trace(q);
  }
}
