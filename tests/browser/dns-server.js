// A tiny authoritative DNS server on 127.0.0.1 (UDP) for the wizard's checks (RFC 1035 §4): the records of
// RECORDS below, NOERROR with no answer for a known name and another type, REFUSED under REFUSED_ZONES (what a
// DNSBL answers a public resolver), NXDOMAIN for everything else. The server under test is pointed at it with
// [dns] servers. Queries are bounded by the UDP datagram; anything that does not parse is dropped.
const dgram = require('node:dgram');

const TYPES = { A: 1, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33 };

// What the wizard test expects to see (wizard.spec.js): each status of the DNS step once; dns.spec.js: an SRV record
// published right (imaps) and one with the wrong port (submissions).
const RECORDS = {
  'mail.example.test': [['A', '192.0.2.10']],
  '10.2.0.192.in-addr.arpa': [['PTR', 'mail.example.test']],
  'example.test': [['MX', [10, 'mail.example.test']], ['TXT', 'v=spf1 -all']],
  '_imaps._tcp.example.test': [['SRV', [0, 1, 993, 'mail.example.test']]],
  '_submissions._tcp.example.test': [['SRV', [0, 1, 4650, 'mail.example.test']]],
};
const REFUSED_ZONES = ['_dmarc.example.test', 'zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org'];

function encodeName(name) {
  const parts = name.replace(/\.$/, '').split('.').filter((l) => l.length);
  const out = [];
  for (const p of parts) {
    const b = Buffer.from(p, 'ascii');
    out.push(Buffer.from([b.length]), b);
  }
  out.push(Buffer.from([0]));
  return Buffer.concat(out);
}

function rdata(type, value) {
  switch (type) {
    case 'A': return Buffer.from(value.split('.').map(Number));
    case 'CNAME': case 'PTR': return encodeName(value);
    case 'MX': { const p = Buffer.alloc(2); p.writeUInt16BE(value[0]); return Buffer.concat([p, encodeName(value[1])]); }
    case 'SRV': { // RFC 2782: priority, weight, port, target
      const p = Buffer.alloc(6);
      p.writeUInt16BE(value[0], 0);
      p.writeUInt16BE(value[1], 2);
      p.writeUInt16BE(value[2], 4);
      return Buffer.concat([p, encodeName(value[3])]);
    }
    case 'TXT': {
      const chunks = [];
      for (let i = 0; i < value.length; i += 255) {
        const s = Buffer.from(value.slice(i, i + 255), 'ascii');
        chunks.push(Buffer.from([s.length]), s);
      }
      return Buffer.concat(chunks);
    }
    default: throw new Error('type ' + type);
  }
}

// Reads the question: name (labels only, no compression in a query), type; null when malformed.
function question(msg) {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return null;
  const labels = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i];
    if (len > 63 || i + 1 + len > msg.length || labels.length > 127) return null;
    labels.push(msg.toString('ascii', i + 1, i + 1 + len));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return null;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), end: i + 5 };
}

function answer(msg) {
  const q = question(msg);
  if (!q) return null;
  const known = RECORDS[q.name];
  const refused = REFUSED_ZONES.some((z) => q.name === z || q.name.endsWith('.' + z));
  const answers = refused || !known ? [] : known.filter(([t]) => TYPES[t] === q.type);
  const rcode = refused ? 5 : known ? 0 : 3;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(msg.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | rcode, 2); // QR, AA, RD copied
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const parts = [header, msg.subarray(12, q.end)];
  for (const [t, v] of answers) {
    const d = rdata(t, v);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the question's name
    rr.writeUInt16BE(TYPES[t], 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(d.length, 10);
    parts.push(rr, d);
  }
  return Buffer.concat(parts);
}

function start() {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (msg, from) => {
      const a = answer(msg);
      if (a) sock.send(a, from.port, from.address);
    });
    sock.bind(0, '127.0.0.1', () => resolve(sock));
  });
}

module.exports = { start, RECORDS };
