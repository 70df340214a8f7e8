// The first-run wizard: one screen per step; the server keeps where we are, so a reload resumes there.
import { api, setCsrf, say, strength } from '/static/api.js';

const STEPS = ['code', 'admin', 'host', 'mailbox', 'summary'];
const TITLES = { code: 'Setup code', admin: 'Administrator', host: 'Host name and domain', mailbox: 'First mailbox', summary: 'Summary' };
const $ = (id) => document.getElementById(id);
let state = {};

function showStep(step) {
  for (const s of STEPS) $('step-' + s).hidden = s !== step;
  const n = STEPS.indexOf(step) + 1;
  $('progress').textContent = `Step ${n} of ${STEPS.length}: ${TITLES[step]}`;
  document.body.dataset.step = step;
  const first = $('step-' + step).querySelector('input');
  if (first) first.focus();
}

async function load() {
  const r = await api('GET', '/api/setup/state');
  if (r.status === 404) {
    location.replace('/');
    return;
  }
  state = r.data;
  setCsrf(state.csrf);
  render(state.step);
}

function render(step) {
  if (step === 'admin' && state.admin) {
    $('admin-name').value = state.admin.name;
    $('admin-display').value = state.admin.displayName;
  }
  if (step === 'host') {
    if (state.domain) $('domain').value = state.domain;
    if (state.hostname) $('hostname').value = state.hostname;
  }
  if (step === 'mailbox') {
    const d = state.domain || '';
    if (state.mailbox) $('mailbox').value = state.mailbox;
    else if (!$('mailbox').value) $('mailbox').value = 'admin@' + d;
  }
  if (step === 'summary') {
    const a = state.admin;
    $('sum-admin').textContent = a ? (a.displayName ? `${a.displayName} (${a.name})` : a.name) : '';
    $('sum-hostname').textContent = state.hostname || '';
    $('sum-domain').textContent = state.domain || '';
    $('sum-mailbox').textContent = state.mailbox || '';
    $('sum-aliases').textContent = (state.aliases || []).map((x) => `${x}@${state.domain}`).join(', ');
    const ul = $('sum-pending');
    ul.replaceChildren();
    for (const p of state.pending || []) {
      const li = document.createElement('li');
      li.textContent = p;
      ul.appendChild(li);
    }
  }
  showStep(step);
}

async function submit(form, errorId, call) {
  const button = form.querySelector('button[type=submit]') || form.querySelector('#finish');
  say($(errorId), '');
  if (button) button.disabled = true;
  try {
    return await call();
  } finally {
    if (button) button.disabled = false;
  }
}

$('form-code').addEventListener('submit', (e) => {
  e.preventDefault();
  submit(e.target, 'error-code', async () => {
    const r = await api('POST', '/api/setup/code', { code: $('code').value });
    if (!r.ok) return say($('error-code'), r.data.error || `Refused (${r.status}).`);
    await // A message about what was typed goes as soon as it is typed again.
document.addEventListener('input', (e) => {
  const form = e.target.closest('form');
  if (form) for (const p of form.querySelectorAll('.error')) say(p, '');
});

load();
  });
});

$('admin-password').addEventListener('input', () => {
  const s = strength($('admin-password').value);
  $('meter').dataset.score = String(s.score);
  $('meter').firstElementChild.style.width = `${(s.score / 4) * 100}%`;
  $('strength').textContent = s.label ? `Strength: ${s.label}` : 'At least 12 characters.';
});

$('form-admin').addEventListener('submit', (e) => {
  e.preventDefault();
  submit(e.target, 'error-admin', async () => {
    if ($('admin-password').value !== $('admin-password2').value) {
      return say($('error-admin'), 'The two passwords differ.');
    }
    const r = await api('POST', '/api/setup/admin', {
      name: $('admin-name').value.trim(), displayName: $('admin-display').value, password: $('admin-password').value,
    });
    if (!r.ok) return say($('error-admin'), r.data.error || `Refused (${r.status}).`);
    await // A message about what was typed goes as soon as it is typed again.
document.addEventListener('input', (e) => {
  const form = e.target.closest('form');
  if (form) for (const p of form.querySelectorAll('.error')) say(p, '');
});

load();
  });
});

// Suggest mail.<domain> for the host name until the host name is typed by hand.
let hostTyped = false;
$('hostname').addEventListener('input', () => { hostTyped = true; say($('warning-host'), ''); $('submit-host').textContent = 'Continue'; });
$('domain').addEventListener('input', () => {
  const d = $('domain').value.trim().toLowerCase();
  if (!hostTyped) $('hostname').value = d ? 'mail.' + d : '';
});

let acceptWarnings = false;
$('form-host').addEventListener('submit', (e) => {
  e.preventDefault();
  submit(e.target, 'error-host', async () => {
    const r = await api('POST', '/api/setup/host', {
      hostname: $('hostname').value, domain: $('domain').value, acceptWarnings,
    });
    if (!r.ok) return say($('error-host'), r.data.error || `Refused (${r.status}).`);
    if (!r.data.applied) {
      say($('warning-host'), r.data.warnings.join(' '));
      acceptWarnings = true;
      $('submit-host').textContent = 'Continue anyway';
      return;
    }
    acceptWarnings = false;
    await // A message about what was typed goes as soon as it is typed again.
document.addEventListener('input', (e) => {
  const form = e.target.closest('form');
  if (form) for (const p of form.querySelectorAll('.error')) say(p, '');
});

load();
  });
});

$('form-mailbox').addEventListener('submit', (e) => {
  e.preventDefault();
  submit(e.target, 'error-mailbox', async () => {
    const r = await api('POST', '/api/setup/mailbox', { mailbox: $('mailbox').value.trim(), password: $('mailbox-password').value });
    if (!r.ok) return say($('error-mailbox'), r.data.error || `Refused (${r.status}).`);
    await // A message about what was typed goes as soon as it is typed again.
document.addEventListener('input', (e) => {
  const form = e.target.closest('form');
  if (form) for (const p of form.querySelectorAll('.error')) say(p, '');
});

load();
  });
});

$('finish').addEventListener('click', async () => {
  $('finish').disabled = true;
  const r = await api('POST', '/api/setup/finish', {});
  $('finish').disabled = false;
  if (!r.ok) return say($('error-summary'), r.data.error || `Refused (${r.status}).`);
  location.assign(r.data.next);
});

for (const b of document.querySelectorAll('[data-back]')) {
  b.addEventListener('click', () => render(b.dataset.back));
}

// A message about what was typed goes as soon as it is typed again.
document.addEventListener('input', (e) => {
  const form = e.target.closest('form');
  if (form) for (const p of form.querySelectorAll('.error')) say(p, '');
});

load();
