// Blocked senders (why, when, their held mail; unblock releasing, keeping or deleting it) and locked-out logins.
import { $, api, session, cell, el, button, when, say } from '/static/nav.js';

const HELD = {
  release: 'Unblock and send held mail',
  keep: 'Unblock, keep mail held',
  delete: 'Unblock and delete held mail',
};

async function unblock(account, held) {
  if (held === 'delete' && !confirm(`Delete the mail ${account} has in the queue?`)) return;
  const r = await api('POST', '/api/senders/unblock', { account, held });
  if (!r.ok) return say($('error'), r.data.error || `Refused (${r.status}).`);
  say($('result'), held === 'keep' ? `${account} unblocked; its mail stays held in the queue (release it there).`
    : held === 'delete' ? `${account} unblocked; ${r.data.deleted} held message(s) deleted.`
      : `${account} unblocked; ${r.data.released} held message(s) released.`);
  await refresh();
}

async function unlock(key) {
  const r = await api('POST', '/api/lockouts/unlock', { key });
  if (!r.ok) return say($('error'), r.data.error || `Refused (${r.status}).`);
  say($('result'), 'Lockout lifted.');
  await refresh();
}

async function refresh() {
  const r = await api('GET', '/api/senders');
  if (r.status === 401) return location.replace('/login');
  if (!r.ok) return say($('error'), r.data.error || `Could not read the blocks (${r.status}).`);
  say($('error'), '');
  const rows = [];
  for (const b of r.data.blocked) {
    const tr = document.createElement('tr');
    tr.dataset.account = b.account;
    cell(tr, b.account);
    cell(tr, when(b.since));
    cell(tr, b.reason);
    const held = cell(tr);
    if (!b.held.length) held.textContent = 'none';
    const ul = el('ul', null, 'rcpts');
    for (const h of b.held) {
      ul.appendChild(el('li', `#${h.id}, ${when(h.created)}, to ${h.recipients.join(', ')}`));
    }
    held.appendChild(ul);
    const acts = el('div', null, 'actions');
    for (const [k, text] of Object.entries(HELD)) acts.appendChild(button(text, `${text}: ${b.account}`, () => unblock(b.account, k)));
    cell(tr).appendChild(acts);
    rows.push(tr);
  }
  $('blocked').replaceChildren(...rows);
  $('none-blocked').hidden = rows.length > 0;
  const locks = [];
  for (const l of r.data.lockouts) {
    const tr = document.createElement('tr');
    cell(tr, l.kind);
    cell(tr, l.account);
    cell(tr, l.address);
    cell(tr, l.failures);
    cell(tr, when(l.until));
    cell(tr).appendChild(button('Unlock', `Unlock ${l.kind} ${l.account} ${l.address}`.trim(), () => unlock(l.key)));
    locks.push(tr);
  }
  $('lockouts').replaceChildren(...locks);
  $('none-locked').hidden = locks.length > 0;
}

if (await session()) await refresh();
