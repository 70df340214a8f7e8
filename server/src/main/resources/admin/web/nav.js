// What every console page shares: the session (its CSRF token), who is signed in, signing out, the current tab.
import { api, setCsrf, say } from '/static/api.js';

export const $ = (id) => document.getElementById(id);

// Signs the page in: returns the session, or sends the browser to the login page.
export async function session() {
  const s = await api('GET', '/api/session');
  if (s.status === 401) {
    location.replace('/login');
    return null;
  }
  setCsrf(s.data.csrf);
  $('who').textContent = s.data.displayName ? `${s.data.displayName} (${s.data.user})` : s.data.user;
  for (const a of document.querySelectorAll('nav.console a')) {
    if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
  }
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
