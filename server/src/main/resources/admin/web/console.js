import { api, setCsrf, say, fillList } from '/static/api.js';

const $ = (id) => document.getElementById(id);

async function load() {
  const s = await api('GET', '/api/session');
  if (s.status === 401) {
    location.replace('/login');
    return;
  }
  setCsrf(s.data.csrf);
  $('who').textContent = s.data.displayName ? `${s.data.displayName} (${s.data.user})` : s.data.user;
  const [d, u, a] = await Promise.all([api('GET', '/api/domains'), api('GET', '/api/users'), api('GET', '/api/aliases')]);
  if (!d.ok || !u.ok || !a.ok) return say($('error'), 'The console could not read the directory; reload the page.');
  fillList($('domains'), d.data.domains.map((x) => [x]));
  fillList($('users'), u.data.users.map((x) => [x.address, String(x.quotaBytes)]));
  fillList($('aliases'), Object.entries(a.data.aliases).map(([k, v]) => [k, v.join(', ')]));
}

$('logout').addEventListener('click', async () => {
  const r = await api('POST', '/api/logout', {});
  if (!r.ok) return say($('error'), r.data.error || `Refused (${r.status}).`);
  location.assign(r.data.next);
});

load();
