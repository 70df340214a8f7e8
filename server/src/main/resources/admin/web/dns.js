// The DNS page: the records one domain needs (GET /api/dns?domain=NAME), each with the value to copy and what the
// server's resolver sees now. The domain comes from the address bar: it is shown with textContent only, and a name
// that is not one of the server's domains gets the API's refusal as text.
import { $, api, session, cell, el, button, say } from '/static/nav.js';

const WORDS = { ok: 'OK', missing: 'Missing', wrong: 'Wrong', unknown: "Can't tell" };

async function copy(value, what) {
  try {
    await navigator.clipboard.writeText(value);
    $('copied').textContent = `Copied ${what}.`;
  } catch (e) {
    $('copied').textContent = 'Copying was refused by the browser: select the text and copy it by hand.';
  }
}

function render(d) {
  $('dns-domain').textContent = d.domain;
  $('dns-host').textContent = `Mail server: ${d.hostname}` + (d.address ? `, at ${d.address}` : '');
  const body = $('dns-rows');
  body.replaceChildren();
  for (const rec of d.records) {
    const tr = document.createElement('tr');
    tr.dataset.name = rec.name;
    tr.dataset.type = rec.type;
    cell(tr, rec.name);
    cell(tr, rec.type);
    const v = cell(tr, rec.value, 'value');
    v.appendChild(el('span', rec.purpose, 'answer'));
    const st = cell(tr, WORDS[rec.status] || rec.status, `status ${rec.status}`);
    if (rec.status !== 'ok') st.appendChild(el('span', rec.message, 'answer'));
    cell(tr).appendChild(button('Copy', `Copy the ${rec.type} record of ${rec.name}`,
      () => copy(rec.zone, `the ${rec.type} record of ${rec.name}`)));
    body.appendChild(tr);
  }
  $('dns-zone').textContent = d.zone;
}

async function show(domain) {
  say($('error'), '');
  const r = await api('GET', '/api/dns?' + new URLSearchParams({ domain }));
  if (r.status === 401) return location.replace('/login');
  if (!r.ok) {
    $('dns-domain').textContent = domain;
    $('dns-rows').replaceChildren();
    $('dns-zone').textContent = '';
    return say($('error'), r.data.error || `The records could not be read (${r.status}).`);
  }
  render(r.data);
}

if (await session()) {
  const d = await api('GET', '/api/domains');
  const domains = d.ok ? d.data.domains : [];
  const wanted = new URLSearchParams(location.search).get('domain') || domains[0] || '';
  const pick = $('domain');
  for (const name of domains) {
    const o = el('option', name);
    o.value = name;
    pick.appendChild(o);
  }
  if (domains.includes(wanted)) pick.value = wanted;
  $('pick').querySelector('button').disabled = false; // disabled in the HTML until this handler is attached
  $('pick').addEventListener('submit', async (e) => {
    e.preventDefault();
    history.replaceState(null, '', '?' + new URLSearchParams({ domain: pick.value }));
    await show(pick.value);
  });
  $('copy-zone').addEventListener('click', () => copy($('dns-zone').textContent, 'the zone file'));
  if (wanted) await show(wanted);
  else say($('error'), 'There is no domain yet: add one on the Domains page.');
}
