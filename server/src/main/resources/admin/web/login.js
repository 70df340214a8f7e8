import { api, say } from '/static/api.js';

const $ = (id) => document.getElementById(id);
$('form-login').addEventListener('submit', async (e) => {
  e.preventDefault();
  say($('error-login'), '');
  const button = e.target.querySelector('button');
  button.disabled = true;
  const r = await api('POST', '/api/login', { name: $('name').value.trim(), password: $('password').value });
  button.disabled = false;
  if (!r.ok) return say($('error-login'), r.data.error || `Refused (${r.status}).`);
  location.assign(r.data.next);
});
