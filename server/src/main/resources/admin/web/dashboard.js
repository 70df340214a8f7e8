// The dashboard: listeners, the day's mail as a chart, queue and guard counts, certificate (source, ACME renewal),
// last backup, the domains' DNS health (asked separately: it waits for DNS), disk, quota use.
import { $, api, session, cell, el, badge, bytes, when, say } from '/static/nav.js';
import { lineChart } from '/static/chart.js';

const SERIES = ['in', 'out', 'deferred', 'bounced'];

function sum(points, current, name) {
  return points.reduce((n, p) => n + (p[name] || 0), 0) + (current[name] || 0);
}

function render(d) {
  $('stat-queue').textContent = d.queueRecipients;
  $('stat-blocked').textContent = d.blockedSenders;
  $('stat-locked').textContent = d.lockedLogins;
  const h = d.history;
  // the step under way is drawn as a last point at "now", so a fresh server shows its first minutes too
  const points = [...h.points, { at: new Date().toISOString(), ...h.current }];
  $('stat-in').textContent = sum(h.points, h.current, 'in');
  $('stat-out').textContent = sum(h.points, h.current, 'out');
  lineChart($('chart'), points, SERIES);
  $('chart-note').textContent = `Per ${Math.round(h.stepSeconds / 60)} minutes, kept in memory since the server started`
    + ` (${h.points.length} of 288 steps so far); the same counters as /metrics.`;

  const tb = $('listeners');
  tb.replaceChildren();
  for (const l of d.listeners) {
    const tr = document.createElement('tr');
    cell(tr, l.name);
    cell(tr).appendChild(badge(l.state));
    cell(tr, l.address ? l.address.replace(/:\d+$/, '') : 'not configured'); // the host; the bound port is the next column
    cell(tr, l.port > 0 ? l.port : '');
    tr.dataset.service = l.name;
    tb.appendChild(tr);
  }

  const c = d.certificate;
  const item = list(document.getElementById('cert'));
  if (c.error) {
    item('Problem', c.error, 'error');
  } else {
    item('Source', c.source, 'source');
    item('Subject', c.subject);
    item('Issuer', c.selfSigned ? `${c.issuer} (self-signed)` : c.issuer);
    item('Expires', `${when(c.notAfter)} (in ${c.daysLeft} days)`, c.daysLeft < 14 ? 'error' : c.daysLeft < 30 ? 'warning' : '');
    if (c.renewal) {
      item('Renewal', `ACME renews it from ${when(c.renewal.renewsFrom)}; next check ${when(c.renewal.nextCheck)}`
        + (c.renewal.lastFailure ? `. The last try failed: ${c.renewal.lastFailure}` : ''), c.renewal.lastFailure ? 'error' : 'renewal');
    } else {
      item('Renewal', c.source === 'ACME' ? 'ACME: not scheduled' : 'none: replace it by hand before it expires', 'renewal');
    }
    item('SHA-256', c.fingerprint);
  }

  const backup = list($('backup'));
  const b = d.backup;
  const last = b && b.last;
  if (!last) {
    backup('Last', 'never', 'last');
  } else {
    backup('Last', `${when(last.finished || last.started)}`, 'last');
    backup('State', last.ok ? 'made and verified' : `failed: ${last.error}`, last.ok ? 'ok' : 'error');
    if (last.backup) backup('Size', `${bytes(last.bytes)}, ${last.messages} message(s)`, 'size');
  }
  backup('Schedule', b && b.schedule ? `${b.schedule} (UTC)` + (b.next ? `, next ${when(b.next)}` : '')
    : 'off: set [backup] schedule', 'schedule');

  const sts = list($('mta-sts'));
  const m = d.mtaSts;
  if (!m) {
    sts('State', 'not kept', 'policies');
  } else {
    sts('Policies cached', String(m.policies), 'policies');
    sts(`TLS sessions ${m.day}`, `${m.sessions}, ${m.failed} failed`, m.failed > 0 ? 'error' : 'ok');
    sts(`TLS reports ${m.day}`, String(m.reports), 'reports');
  }

  const disk = d.disk;
  if (disk.error) {
    $('disk').textContent = `Cannot read the disk of ${disk.path}: ${disk.error}`;
  } else {
    $('disk').textContent = `${disk.usedPercent} % used: ${bytes(disk.totalBytes - disk.freeBytes)} of ${bytes(disk.totalBytes)}`
      + ` (${bytes(disk.freeBytes)} free) on the disk holding ${disk.path}`;
    const m = $('disk-meter');
    m.dataset.score = disk.usedPercent > 90 ? '1' : disk.usedPercent > 75 ? '2' : '3';
    m.firstElementChild.style.width = `${Math.min(100, disk.usedPercent)}%`;
  }

  const q = $('quota');
  q.replaceChildren();
  for (const u of d.users.list) {
    const tr = document.createElement('tr');
    cell(tr, u.address);
    cell(tr, bytes(u.usedBytes));
    cell(tr, u.quotaBytes > 0 ? bytes(u.quotaBytes) : 'none');
    cell(tr, u.usedPercent === null ? '' : `${u.usedPercent} %`, u.usedPercent > 90 ? 'error' : '');
    q.appendChild(tr);
  }
  $('quota-note').textContent = d.users.count > d.users.list.length
    ? `The ${d.users.list.length} fullest of ${d.users.count} mailboxes.` : `${d.users.count} mailbox(es).`;
}

// A <dl> emptied; returns a function adding one term and its value (as text).
function list(dl) {
  dl.replaceChildren();
  return (k, v, cls) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    if (cls) dd.className = cls;
    dl.append(dt, dd);
  };
}

const DNS_WORDS = { ok: 'OK', missing: 'Missing', wrong: 'Wrong', unknown: "Can't tell" };

async function dnsHealth() {
  const r = await api('GET', '/api/dns');
  if (!r.ok) return say($('dns-note'), r.data.error || `DNS could not be checked (${r.status}).`);
  const tb = $('dns-health');
  tb.replaceChildren();
  for (const h of r.data.domains) {
    const tr = document.createElement('tr');
    tr.dataset.domain = h.domain;
    const link = el('a', h.domain);
    link.href = '/console/dns?' + new URLSearchParams({ domain: h.domain });
    cell(tr).appendChild(link);
    cell(tr).appendChild(badge(DNS_WORDS[h.status] || h.status)).classList.add(h.status);
    cell(tr, `${h.counts.ok} of ${h.total} OK`);
    // wrong and can't-tell records by name (they need a look), missing ones counted (the DNS page lists them)
    const named = h.problems.filter((p) => p.status !== 'missing')
      .map((p) => `${p.type} ${p.name}: ${DNS_WORDS[p.status] || p.status}`);
    if (h.counts.missing) named.push(`${h.counts.missing} missing`);
    cell(tr, named.join('; '));
    tb.appendChild(tr);
  }
  say($('dns-note'), `As this server's DNS resolver sees them now; mail server ${r.data.hostname}.`
    + (r.data.total > r.data.domains.length ? ` The first ${r.data.domains.length} of ${r.data.total} domains.` : ''));
}

async function refresh() {
  const r = await api('GET', '/api/dashboard');
  if (r.status === 401) return location.replace('/login');
  if (!r.ok) return say($('error'), r.data.error || `The dashboard could not be read (${r.status}).`);
  say($('error'), '');
  render(r.data);
}

if (await session()) {
  await Promise.all([refresh(), dnsHealth()]);
  setInterval(refresh, 60_000);
  setInterval(dnsHealth, 600_000);
}
