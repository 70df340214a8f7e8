// The console: domains, mailboxes and aliases over the JSON API. Every name is set with textContent.
import { $, api, session, say } from '/static/nav.js';

function rows(tbody, items, kind) {
  tbody.replaceChildren();
  for (const { cells, key } of items) {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = c;
      tr.appendChild(td);
    }
    if (kind === 'domains') {
      const link = document.createElement('a');
      link.href = '/console/dns?' + new URLSearchParams({ domain: key });
      link.textContent = 'DNS records';
      link.setAttribute('aria-label', `DNS records of ${key}`);
      const dnsCell = document.createElement('td');
      dnsCell.appendChild(link);
      tr.appendChild(dnsCell);
    }
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary';
    b.textContent = 'Remove';
    b.setAttribute('aria-label', `Remove ${key}`);
    b.addEventListener('click', () => remove(kind, key));
    td.appendChild(b);
    tr.appendChild(td);
    tbody.appendChild(tr);
  }
}

function quota(bytes) {
  if (!bytes) return 'none';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let n = bytes;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${Math.round(n * 10) / 10} ${units[i]}`;
}

async function refresh() {
  const [d, u, a] = await Promise.all([api('GET', '/api/domains'), api('GET', '/api/users'), api('GET', '/api/aliases')]);
  if (d.status === 401) return location.replace('/login');
  if (!d.ok || !u.ok || !a.ok) return say($('error'), 'The console could not read the directory; reload the page.');
  rows($('domains'), d.data.domains.map((x) => ({ cells: [x], key: x })), 'domains');
  rows($('users'), u.data.users.map((x) => ({ cells: [x.address, quota(x.quotaBytes)], key: x.address })), 'users');
  rows($('aliases'), Object.entries(a.data.aliases).map(([k, v]) => ({ cells: [k, v.join(', ')], key: k })), 'aliases');
}

async function remove(kind, key) {
  say($('error'), '');
  const r = await api('DELETE', `/api/${kind}/${encodeURIComponent(key)}`);
  if (!r.ok) return say($('error'), r.data.error || `Refused (${r.status}).`);
  await refresh();
}

// The forms' buttons are disabled in the HTML until their handler is attached here: a click before this module
// ran would otherwise submit the form natively (a GET of the page) and lose what was typed.
function form(id, errorId, path, body) {
  $(id).querySelector('button[type=submit]').disabled = false;
  $(id).addEventListener('submit', async (e) => {
    e.preventDefault();
    say($(errorId), '');
    const button = e.target.querySelector('button');
    button.disabled = true;
    const r = await api('POST', path, body());
    button.disabled = false;
    if (!r.ok) return say($(errorId), r.data.error || `Refused (${r.status}).`);
    e.target.reset();
    await refresh();
  });
}

form('form-domain', 'error-domain', '/api/domains', () => ({ name: $('new-domain').value.trim() }));
form('form-user', 'error-user', '/api/users', () => ({ address: $('new-user').value.trim(), password: $('new-user-password').value }));
form('form-alias', 'error-alias', '/api/aliases', () => ({ source: $('new-alias').value.trim(), targets: $('new-alias-targets').value }));

if (await session()) await refresh();
