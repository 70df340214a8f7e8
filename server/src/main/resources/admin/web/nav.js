// What every console page shares: the header and the navigation bar (rendered here, once, for every page: a new
// page adds a line to PAGES, its HTML holds only its <main>), the session (its CSRF token), who is signed in,
// signing out, the current tab. The pages load this module with <script type="module">: no inline script.
import { api, setCsrf, say } from '/static/api.js';

export const $ = (id) => document.getElementById(id);

// The console's pages, in the navigation bar's order.
export const PAGES = [
  ['/console/dashboard', 'Dashboard'],
  ['/console/', 'Domains, mailboxes, aliases'],
  ['/console/dns', 'DNS records'],
  ['/console/queue', 'Queue'],
  ['/console/senders', 'Blocked senders'],
  ['/console/trace', 'Delivery trace'],
  ['/console/mta-sts', 'MTA-STS'],
];

// The header (title, who is signed in, sign out) and the navigation, put before the page's <main>.
function chrome() {
  if ($('who')) return;
  const header = document.createElement('header');
  const h1 = document.createElement('h1');
  h1.textContent = 'Darwin Mail console';
  const who = document.createElement('div');
  who.append('Signed in as ');
  const name = document.createElement('span');
  name.id = 'who';
  const out = document.createElement('button');
  out.type = 'button';
  out.className = 'secondary';
  out.id = 'logout';
  out.textContent = 'Sign out';
  who.append(name, ' ', out);
  header.append(h1, who);
  const nav = document.createElement('nav');
  nav.className = 'console';
  nav.setAttribute('aria-label', 'Console pages');
  for (const [href, label] of PAGES) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = label;
    if (href === location.pathname) a.setAttribute('aria-current', 'page');
    nav.appendChild(a);
  }
  document.body.prepend(header, nav);
}

chrome();

// Signs the page in: returns the session, or sends the browser to the login page.
export async function session() {
  const s = await api('GET', '/api/session');
  if (s.status === 401) {
    location.replace('/login');
    return null;
  }
  setCsrf(s.data.csrf);
  $('who').textContent = s.data.displayName ? `${s.data.displayName} (${s.data.user})` : s.data.user;
  $('logout').addEventListener('click', async () => {
    const r = await api('POST', '/api/logout', {});
    if (!r.ok) return say($('error'), r.data.error || `Refused (${r.status}).`);
    location.assign(r.data.next);
  });
  return s.data;
}

// A table cell holding text (never markup).
export function cell(tr, text, className) {
  const td = document.createElement('td');
  if (text !== undefined && text !== null) td.textContent = String(text);
  if (className) td.className = className;
  tr.appendChild(td);
  return td;
}

export function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
}

export function badge(text) {
  return el('span', text, `badge ${String(text).replace(/[^a-z]/g, '')}`);
}

export function button(text, label, onClick, secondary = true) {
  const b = el('button', text, secondary ? 'secondary' : '');
  b.type = 'button';
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export { api, say };
