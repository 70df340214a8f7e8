// The JSON API, as every page uses it: same-origin fetch, the session's CSRF token on each state-changing call.
let csrf = null;

export function setCsrf(token) {
  csrf = token || null;
}

export async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) {
    opts.headers['X-CSRF-Token'] = csrf;
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    return { status: 0, ok: false, data: { error: 'The server cannot be reached: ' + e.message } };
  }
  let data = {};
  try {
    data = await res.json();
  } catch (e) {
    data = {};
  }
  return { status: res.status, ok: res.ok, data };
}

// Text typed by people is always set with textContent, never as markup.
export function say(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

// A rough strength estimate: length and character variety, and a penalty for repeats and common words.
export function strength(pw) {
  if (!pw) return { score: 0, label: '' };
  let classes = 0;
  for (const re of [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/]) if (re.test(pw)) classes++;
  let bits = pw.length * Math.log2([0, 26, 52, 62, 94][classes] || 26);
  if (/(.)\1\1/.test(pw)) bits -= 10;
  if (/password|qwerty|letmein|123456|admin|darwin/i.test(pw)) bits -= 25;
  const score = pw.length < 12 ? Math.min(1, bits > 30 ? 1 : 0) : bits < 50 ? 1 : bits < 65 ? 2 : bits < 85 ? 3 : 4;
  const label = ['Too short', 'Weak', 'Fair', 'Strong', 'Very strong'][score];
  return { score, label };
}

