// The MTA-STS page (read-only): the policies cached for recipient domains, the TLS report counts of the last days and
// the TLS reports sent (GET /api/mta-sts). Every value comes from remote domains' policy files, so it is shown with textContent only.
import { $, api, session, cell, badge, say, when } from '/static/nav.js';

function policies(list) {
  const body = $('policies');
  body.replaceChildren();
  for (const p of list) {
    const tr = document.createElement('tr');
    tr.dataset.domain = p.domain;
    cell(tr, p.domain);
    cell(tr).appendChild(badge(p.mode));
    cell(tr, p.mx.length ? p.mx.join(' ') : '-', 'value');
    cell(tr, p.id, 'value');
    cell(tr, when(p.fetched));
    cell(tr, when(p.expires) + (p.expired ? ' (expired)' : ''));
    body.appendChild(tr);
  }
  $('none-policies').hidden = list.length > 0;
}

function counts(list) {
  const body = $('counts');
  body.replaceChildren();
  for (const c of list) {
    const tr = document.createElement('tr');
    cell(tr, c.day);
    cell(tr, c.domain);
    const b = badge(c.result);
    b.className = c.result === 'success' ? 'badge ok' : 'badge bad';
    cell(tr).appendChild(b);
    cell(tr, c.sessions);
    body.appendChild(tr);
  }
  $('none-counts').hidden = list.length > 0;
}

function reports(list) {
  const body = $('reports');
  body.replaceChildren();
  for (const r of list) {
    const tr = document.createElement('tr');
    cell(tr, r.day);
    cell(tr, r.domain);
    cell(tr, r.destinations || '-', 'value');
    cell(tr, r.result || 'sending');
    cell(tr, r.reportId, 'value');
    body.appendChild(tr);
  }
  $('none-reports').hidden = list.length > 0;
}

if (await session()) {
  const r = await api('GET', '/api/mta-sts');
  if (r.status === 401) location.replace('/login');
  else if (!r.ok) say($('error'), r.data.error || `The MTA-STS state could not be read (${r.status}).`);
  else {
    $('days').textContent = String(r.data.days);
    policies(r.data.policies);
    counts(r.data.counts);
    reports(r.data.reports || []);
  }
}
