// The first-run wizard: one screen per step; the server keeps where we are, so a reload resumes there.
// Every value that came from a person or from DNS is set with textContent, never as markup.
import { api, setCsrf, say, strength } from '/static/api.js';

const STEPS = ['code', 'admin', 'host', 'network', 'checks', 'tls', 'dns', 'mailbox', 'summary'];
const TITLES = {
  code: 'Setup code', admin: 'Administrator', host: 'Host name and domain', network: 'Network',
  checks: 'Pre-flight checks', tls: 'TLS certificate', dns: 'DNS records', mailbox: 'First mailbox', summary: 'Summary',
};
const $ = (id) => document.getElementById(id);
let state = {};

function showStep(step) {
  for (const s of STEPS) $('step-' + s).hidden = s !== step;
  const n = STEPS.indexOf(step) + 1;
  $('progress').textContent = `Step ${n} of ${STEPS.length}: ${TITLES[step]}`;
  document.body.dataset.step = step;
  const first = $('step-' + step).querySelector('input[type=text], input[type=password]');
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
  await render(state.step);
}

function text(el, value) {
  el.textContent = value || '';
}

function listInto(el, items) {
  el.replaceChildren();
  for (const item of items) {
    const div = document.createElement('div');
    div.textContent = item;
    el.appendChild(div);
  }
}

async function render(step) {
  if (step === 'admin' && state.admin) {
    $('admin-name').value = state.admin.name;
    $('admin-display').value = state.admin.displayName;
  }
  if (step === 'host') {
    if (state.domain) $('domain').value = state.domain;
    if (state.hostname) $('hostname').value = state.hostname;
  }
  if (step === 'network') await renderNetwork();
  if (step === 'checks') renderChecks();
  if (step === 'tls') await renderTls();
  if (step === 'dns') await renderDns();
  if (step === 'mailbox') {
    const d = state.domain || '';
    if (state.mailbox) $('mailbox').value = state.mailbox;
    else if (!$('mailbox').value) $('mailbox').value = 'admin@' + d;
  }
  if (step === 'summary') {
    const a = state.admin;
    text($('sum-admin'), a ? (a.displayName ? `${a.displayName} (${a.name})` : a.name) : '');
    text($('sum-hostname'), state.hostname);
    text($('sum-domain'), state.domain);
    text($('sum-mailbox'), state.mailbox);
    text($('sum-aliases'), (state.aliases || []).map((x) => `${x}@${state.domain}`).join(', '));
    text($('sum-address'), state.publicAddress);
    text($('sum-tls'), state.tls || 'self-signed');
    text($('sum-dns'), state.dnsSeen || 'not looked at');
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

async function submit(button, errorId, call) {
  say($(errorId), '');
  if (button) button.disabled = true;
  try {
    return await call();
  } finally {
    if (button) button.disabled = false;
  }
}

// A step's POST; on success the server says which step is next and the page reloads its state.
async function post(path, body, errorId) {
  const r = await api('POST', path, body);
  if (!r.ok) {
    say($(errorId), r.data.error || `Refused (${r.status}).`);
    return null;
  }
  return r;
}

// ---- 1-3: code, administrator, host -------------------------------------------------------------------------

$('form-code').addEventListener('submit', (e) => {
  e.preventDefault();
  submit(e.target.querySelector('button[type=submit]'), 'error-code', async () => {
    if (await post('/api/setup/code', { code: $('code').value }, 'error-code')) await load();
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
  submit(e.target.querySelector('button[type=submit]'), 'error-admin', async () => {
    if ($('admin-password').value !== $('admin-password2').value) {
      return say($('error-admin'), 'The two passwords differ.');
    }
    const body = { name: $('admin-name').value.trim(), displayName: $('admin-display').value, password: $('admin-password').value };
    if (await post('/api/setup/admin', body, 'error-admin')) await load();
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
  submit($('submit-host'), 'error-host', async () => {
    const r = await post('/api/setup/host', { hostname: $('hostname').value, domain: $('domain').value, acceptWarnings }, 'error-host');
    if (!r) return;
    if (!r.data.applied) {
      say($('warning-host'), r.data.warnings.join(' '));
      acceptWarnings = true;
      $('submit-host').textContent = 'Continue anyway';
      return;
    }
    acceptWarnings = false;
    await load();
  });
});

// ---- 4: the network, read-only ------------------------------------------------------------------------------

let network = null;

async function renderNetwork() {
  const r = await api('GET', '/api/setup/network');
  if (!r.ok) return say($('error-network'), r.data.error || `Refused (${r.status}).`);
  network = r.data;
  const addresses = network.interfaces.map((i) => `${i.name}: ${i.addresses.join(', ')}`);
  listInto($('net-addresses'), addresses.length ? addresses : ['none besides loopback']);
  text($('net-gateway'), network.gateway || 'none');
  listInto($('net-dns'), network.dnsServers.length ? network.dnsServers : ['none']);
  text($('net-search'), network.search.join(' ') || 'none');
  say($('net-nat'), network.behindNat
    ? `${network.address || 'This appliance'} is a private address: the appliance is behind NAT. The next step asks for the public address.`
    : '');
}

$('submit-network').addEventListener('click', () => submit($('submit-network'), 'error-network', async () => {
  if (await post('/api/setup/network', {}, 'error-network')) await load();
}));

// ---- 5: pre-flight checks, each with a re-check -------------------------------------------------------------

const STATUS_WORDS = { ok: 'OK', fail: 'Problem', unknown: "Can't tell", pending: 'Checking…' };

function showCheck(c) {
  const row = document.querySelector(`tr[data-check="${c.id}"]`);
  const st = row.querySelector('.status');
  st.className = 'status ' + c.status;
  st.textContent = STATUS_WORDS[c.status] || c.status;
  row.querySelector('.message').textContent = c.message || '';
}

function renderChecks() {
  if (state.publicAddress && !$('public-address').value) $('public-address').value = state.publicAddress;
  if (!$('probe').value) $('probe').placeholder = 'gmail-smtp-in.l.google.com:25';
  for (const row of document.querySelectorAll('tr[data-check]')) {
    const st = row.querySelector('.status');
    if (!st.textContent) {
      st.className = 'status pending';
      st.textContent = 'Not checked yet';
    }
  }
}

async function runChecks(which, button) {
  const ids = which === 'all' ? ['forward', 'reverse', 'port25', 'dnsbl'] : [which];
  for (const id of ids) showCheck({ id, status: 'pending', message: '' });
  await submit(button, 'error-checks', async () => {
    const r = await post('/api/setup/checks', { check: which, publicAddress: $('public-address').value.trim(), probe: $('probe').value.trim() }, 'error-checks');
    if (!r) {
      for (const id of ids) showCheck({ id, status: 'unknown', message: '' });
      return;
    }
    if (!$('public-address').value) $('public-address').value = r.data.address || '';
    state.publicAddress = r.data.address;
    for (const c of r.data.checks) showCheck(c);
  });
}

$('form-checks').addEventListener('submit', (e) => {
  e.preventDefault();
  runChecks('all', $('run-checks'));
});
for (const b of document.querySelectorAll('[data-recheck]')) {
  b.addEventListener('click', () => runChecks(b.dataset.recheck, b));
}
$('submit-checks').addEventListener('click', () => submit($('submit-checks'), 'error-checks', async () => {
  if (await post('/api/setup/checks/done', {}, 'error-checks')) await load();
}));

// ---- 6: the TLS certificate ---------------------------------------------------------------------------------

function tlsChoice() {
  return document.querySelector('input[name=tls]:checked').value;
}

function showTlsChoice() {
  $('tls-upload').hidden = tlsChoice() !== 'upload';
  $('tls-acme-box').hidden = tlsChoice() !== 'acme';
}

async function renderTls() {
  const r = await api('GET', '/api/setup/tls');
  if (!r.ok) return say($('error-tls'), r.data.error || `Refused (${r.status}).`);
  const t = r.data;
  text($('tls-current'), t.error || (t.selfSigned ? `Self-signed, for ${t.subject}` : `${t.subject}, issued by ${t.issuer}`));
  text($('tls-until'), t.notAfter);
  $('tls-acme').disabled = !t.acmeAllowed;
  text($('tls-acme-why'), t.acmeAllowed ? `${t.hostname} points at this appliance.`
    : `Not available yet: ${t.acmeWhy} A CA checks that the name points here.`);
  $('tls-acme').parentElement.title = t.acmeAllowed ? '' : t.acmeWhy;
  showTlsChoice();
}

for (const r of document.querySelectorAll('input[name=tls]')) r.addEventListener('change', showTlsChoice);

// A chosen file is read into its text field (nothing is sent until Continue).
for (const [file, area] of [['tls-cert-file', 'tls-cert'], ['tls-key-file', 'tls-key']]) {
  $(file).addEventListener('change', async () => {
    const f = $(file).files[0];
    if (!f) return;
    if (f.size > 30000) return say($('error-tls'), `${f.name} is too large for a PEM certificate or key.`);
    $(area).value = await f.text();
  });
}

$('form-tls').addEventListener('submit', (e) => {
  e.preventDefault();
  const warnings = $('tls-warnings');
  warnings.hidden = true;
  submit($('submit-tls'), 'error-tls', async () => {
    const choice = tlsChoice();
    let r;
    if (choice === 'keep') r = await post('/api/setup/tls/keep', {}, 'error-tls');
    if (choice === 'upload') r = await post('/api/setup/tls/upload', { certificate: $('tls-cert').value, key: $('tls-key').value }, 'error-tls');
    if (choice === 'acme') {
      $('submit-tls').textContent = 'Ordering… (up to two minutes)';
      r = await post('/api/setup/tls/acme', { email: $('acme-email').value.trim() }, 'error-tls');
      $('submit-tls').textContent = 'Continue';
    }
    if (!r) return;
    if (r.data.warnings && r.data.warnings.length) {
      listInto(warnings, r.data.warnings);
      warnings.hidden = false;
    }
    await load();
  });
});

// ---- 7: DNS records with their live status ------------------------------------------------------------------

const DNS_WORDS = { ok: 'OK', missing: 'Missing', wrong: 'Wrong', unknown: "Can't tell" };

async function copy(value, what) {
  try {
    await navigator.clipboard.writeText(value);
    $('copied').textContent = `Copied ${what}.`;
  } catch (e) {
    $('copied').textContent = `Copying was refused by the browser: select the text and copy it by hand.`;
  }
}

function cell(row, value, className) {
  const td = document.createElement('td');
  td.textContent = value;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

async function renderDns() {
  const r = await api('GET', '/api/setup/dns');
  if (!r.ok) return say($('error-dns'), r.data.error || `Refused (${r.status}).`);
  text($('dns-domain'), r.data.domain);
  const body = $('dns-rows');
  body.replaceChildren();
  for (const rec of r.data.records) {
    const tr = document.createElement('tr');
    tr.dataset.name = rec.name;
    tr.dataset.type = rec.type;
    cell(tr, rec.name);
    cell(tr, rec.type);
    cell(tr, rec.value, 'value').title = rec.purpose;
    const st = cell(tr, DNS_WORDS[rec.status] || rec.status, 'status ' + rec.status);
    st.title = rec.message;
    if (rec.status === 'wrong' || rec.status === 'unknown') {
      const detail = document.createElement('div');
      detail.className = 'hint';
      detail.textContent = rec.message;
      st.appendChild(detail);
    }
    const td = document.createElement('td');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'secondary';
    b.textContent = 'Copy';
    b.addEventListener('click', () => copy(rec.zone, `the ${rec.type} record of ${rec.name}`));
    td.appendChild(b);
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $('dns-zone').textContent = r.data.zone;
}

$('copy-zone').addEventListener('click', () => copy($('dns-zone').textContent, 'the zone file'));
$('recheck-dns').addEventListener('click', () => submit($('recheck-dns'), 'error-dns', renderDns));
$('submit-dns').addEventListener('click', () => submit($('submit-dns'), 'error-dns', async () => {
  if (await post('/api/setup/dns', {}, 'error-dns')) await load();
}));

// ---- 8-9: first mailbox, summary ----------------------------------------------------------------------------

$('form-mailbox').addEventListener('submit', (e) => {
  e.preventDefault();
  submit(e.target.querySelector('button[type=submit]'), 'error-mailbox', async () => {
    const body = { mailbox: $('mailbox').value.trim(), password: $('mailbox-password').value };
    if (await post('/api/setup/mailbox', body, 'error-mailbox')) await load();
  });
});

$('finish').addEventListener('click', () => submit($('finish'), 'error-summary', async () => {
  const r = await post('/api/setup/finish', {}, 'error-summary');
  if (r) location.assign(r.data.next);
}));

for (const b of document.querySelectorAll('[data-back]')) {
  b.addEventListener('click', () => render(b.dataset.back));
}

// A message about what was typed goes as soon as it is typed again.
document.addEventListener('input', (e) => {
  const form = e.target.closest('form');
  if (form) for (const p of form.querySelectorAll('.error')) say(p, '');
});

load();
