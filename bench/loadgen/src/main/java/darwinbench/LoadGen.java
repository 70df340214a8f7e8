package darwinbench;

import java.io.*;
import java.net.*;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.*;
import java.time.format.DateTimeFormatter;
import java.util.*;
import java.util.concurrent.*;
import java.util.concurrent.atomic.*;
import javax.net.ssl.*;

/**
 * Load generator for the Darwin Mail benchmarks (bench/README.md). Plain blocking sockets on virtual
 * threads, no dependencies. Modes:
 *
 * <pre>
 *   imap-seed  --port P --users u1@d,u2@d --password pw --count M [--seed S]
 *   imap-load  --port P --users ... --password pw --clients N --duration SEC [--warmup SEC]
 *   imap-idle  --port P --users ... --password pw --connections N [--sources 127.0.0.1,127.0.0.2] [--ramp-timeout SEC]
 *   pop3       --port P --user U --password pw [--expect N] [--warm-user W] [--ready stdin]
 *   deliver    --port P --proto smtp|lmtp --from F --to T --count N --concurrency C [--size BYTES]
 *   submit     --port P --user U --password pw --from F --to T --count N --concurrency C [--size BYTES] [--tls starttls|implicit|none]
 * </pre>
 *
 * Every mode prints one line "RESULT key=value ..." on standard output; progress goes to standard error.
 */
public final class LoadGen {

    static Map<String, String> opts = new HashMap<>();

    static String opt(String k, String def) { return opts.getOrDefault(k, def); }
    static int iopt(String k, int def) { return Integer.parseInt(opt(k, String.valueOf(def))); }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) { System.err.println("usage: see LoadGen javadoc"); System.exit(2); }
        String mode = args[0];
        for (int i = 1; i < args.length; i++) {
            if (args[i].startsWith("--") && i + 1 < args.length) { opts.put(args[i].substring(2), args[++i]); }
            else { System.err.println("bad argument " + args[i]); System.exit(2); }
        }
        int rc = switch (mode) {
            case "imap-seed" -> ImapBench.seed();
            case "imap-load" -> ImapBench.load();
            case "imap-idle" -> ImapBench.idle();
            case "pop3" -> Pop3Bench.run();
            case "deliver", "submit" -> SmtpBench.run(mode.equals("submit"));
            default -> { System.err.println("unknown mode " + mode); yield 2; }
        };
        System.out.flush();
        System.exit(rc);
    }

    static void progress(String s) { System.err.println("[loadgen " + LocalTime.now().withNano(0) + "] " + s); }

    // ------------------------------------------------------------------------------------------------
    /**
     * One text connection: CRLF lines, literals, dot-terminated answers, optional TLS. Reads through a buffer of its
     * own, scanned in place: a client that took a lock and a StringBuilder append per byte (BufferedInputStream's
     * read()) cost more CPU per POP3 message than either server it measured.
     */
    static final class Conn implements Closeable {
        Socket sock;
        InputStream in;
        OutputStream out;
        final String host;
        private final byte[] buf = new byte[65536];
        private int pos, lim;

        Conn(String host, int port, String source, int timeoutMs) throws IOException {
            this.host = host;
            sock = new Socket();
            sock.setTcpNoDelay(true);
            if (source != null) sock.bind(new InetSocketAddress(source, 0));
            sock.connect(new InetSocketAddress(host, port), timeoutMs);
            sock.setSoTimeout(timeoutMs);
            in = sock.getInputStream();
            out = new BufferedOutputStream(sock.getOutputStream(), 65536);
        }

        void timeout(int ms) throws SocketException { sock.setSoTimeout(ms); }

        /** Reads more into the buffer (after what is unread); false at EOF. */
        private boolean fill() throws IOException {
            if (pos == lim) {
                pos = lim = 0;
            } else if (lim == buf.length) {
                System.arraycopy(buf, pos, buf, 0, lim - pos);
                lim -= pos;
                pos = 0;
            }
            int r = in.read(buf, lim, buf.length - lim);
            if (r < 0) return false;
            lim += r;
            return true;
        }

        /** A line without its CRLF, latin-1; null at EOF. */
        String line() throws IOException {
            StringBuilder sb = null; // a line longer than what the buffer held at once
            while (true) {
                for (int i = pos; i < lim; i++) {
                    if (buf[i] == '\n') {
                        if (sb == null) {
                            int end = i > pos && buf[i - 1] == '\r' ? i - 1 : i;
                            String l = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
                            pos = i + 1;
                            return l;
                        }
                        sb.append(new String(buf, pos, i - pos, StandardCharsets.ISO_8859_1));
                        pos = i + 1;
                        int n = sb.length();
                        if (n > 0 && sb.charAt(n - 1) == '\r') sb.setLength(n - 1);
                        return sb.toString();
                    }
                }
                if (sb == null) sb = new StringBuilder();
                sb.append(new String(buf, pos, lim - pos, StandardCharsets.ISO_8859_1));
                pos = lim;
                if (!fill()) return sb.length() > 0 ? sb.toString() : null;
            }
        }

        /**
         * The rest of a multi-line answer (RFC 1939 §3), up to and including its terminating "." line: returns the
         * bytes of the lines before it, line ends included, as received (byte-stuffed).
         */
        long dotBody() throws IOException {
            long bytes = 0;
            int len = 0;         // bytes of the current line so far
            byte first = 0, second = 0;
            while (true) {
                while (pos < lim) {
                    byte b = buf[pos++];
                    if (len == 0) first = b;
                    else if (len == 1) second = b;
                    len++;
                    if (b == '\n') {
                        if (len == 3 && first == '.' && second == '\r') return bytes;
                        bytes += len;
                        len = 0;
                    }
                }
                if (!fill()) throw new EOFException("EOF in a multi-line answer");
            }
        }

        void skip(long n) throws IOException {
            while (n > 0) {
                if (pos == lim && !fill()) throw new EOFException("EOF in literal");
                int k = (int) Math.min(lim - pos, n);
                pos += k;
                n -= k;
            }
        }

        void send(String s) throws IOException { out.write(s.getBytes(StandardCharsets.ISO_8859_1)); out.flush(); }

        void sendRaw(byte[] b) throws IOException { out.write(b); }

        void flush() throws IOException { out.flush(); }

        void startTls() throws IOException {
            SSLSocket s = (SSLSocket) trustAll().getSocketFactory().createSocket(sock, host, sock.getPort(), true);
            s.setUseClientMode(true);
            s.startHandshake();
            sock = s;
            in = s.getInputStream();
            pos = lim = 0; // nothing may come before the handshake (RFC 3207 §4.2, RFC 2595 §3.1)
            out = new BufferedOutputStream(s.getOutputStream(), 65536);
        }

        @Override public void close() { try { sock.close(); } catch (IOException ignored) { } }
    }

    static volatile SSLContext trustAllCtx;

    static SSLContext trustAll() {
        if (trustAllCtx == null) {
            synchronized (LoadGen.class) {
                if (trustAllCtx == null) {
                    try {
                        SSLContext c = SSLContext.getInstance("TLS");
                        c.init(null, new TrustManager[]{new X509TrustManager() {
                            public void checkClientTrusted(X509Certificate[] a, String t) { }
                            public void checkServerTrusted(X509Certificate[] a, String t) { }
                            public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
                        }}, new java.security.SecureRandom());
                        trustAllCtx = c;
                    } catch (Exception e) { throw new IllegalStateException(e); }
                }
            }
        }
        return trustAllCtx;
    }

    // ------------------------------------------------------------------------------------------------
    /** Operation counters and latency histograms (log buckets, 5% wide). */
    static final class Stats {
        static final class Op {
            final LongAdder ok = new LongAdder(), err = new LongAdder(), nanos = new LongAdder();
            final AtomicLongArray hist = new AtomicLongArray(400);
        }
        final ConcurrentHashMap<String, Op> ops = new ConcurrentHashMap<>();
        volatile boolean recording = true;
        final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        final AtomicInteger errorSamples = new AtomicInteger();

        void record(String op, long nanos, boolean ok, String detail) {
            if (!ok && errorSamples.incrementAndGet() <= 20) errors.add(op + ": " + detail);
            if (!recording) return;
            Op o = ops.computeIfAbsent(op, k -> new Op());
            (ok ? o.ok : o.err).increment();
            o.nanos.add(nanos);
            int b = (int) Math.min(399, Math.max(0, Math.log(Math.max(1, nanos / 1000.0)) / Math.log(1.05)));
            o.hist.incrementAndGet(b);
        }

        static double pct(Op o, double p) {
            long total = 0;
            for (int i = 0; i < 400; i++) total += o.hist.get(i);
            long want = (long) Math.ceil(total * p), acc = 0;
            for (int i = 0; i < 400; i++) {
                acc += o.hist.get(i);
                if (acc >= want && want > 0) return Math.pow(1.05, i + 1) / 1000.0; // ms
            }
            return 0;
        }

        long total(boolean ok) { long n = 0; for (Op o : ops.values()) n += (ok ? o.ok : o.err).sum(); return n; }

        void print(PrintStream ps) {
            ps.printf("%-16s %10s %8s %10s %10s %10s%n", "op", "ok", "errors", "mean ms", "p50 ms", "p99 ms");
            new TreeMap<>(ops).forEach((k, o) -> {
                long n = o.ok.sum() + o.err.sum();
                ps.printf("%-16s %10d %8d %10.2f %10.2f %10.2f%n", k, o.ok.sum(), o.err.sum(),
                        n == 0 ? 0 : o.nanos.sum() / 1e6 / n, pct(o, 0.5), pct(o, 0.99));
            });
            for (String e : errors) ps.println("error sample: " + e);
        }
    }

    // ------------------------------------------------------------------------------------------------
    /** Deterministic, realistic messages: same seed, same bytes on every server. */
    static final class Msgs {
        static final String[] WORDS = ("meeting report budget quarter invoice project deadline review draft contract "
                + "schedule update server network backup storage release customer support ticket holiday travel "
                + "lunch agenda minutes summary proposal design feedback question answer shipment order payment "
                + "account password security upgrade migration appliance mailbox calendar conference weekly monthly "
                + "annual planning roadmap estimate hiring interview offer training workshop office printer").split(" ");
        static final String[] NAMES = {"Alice Martin", "Bob Dupont", "Carol Schmidt", "David Rossi", "Eve Novak",
                "Frank Meyer", "Grace Kim", "Heidi Larsen", "Ivan Petrov", "Judy Garcia", "Karl Weber", "Laura Costa",
                "Mallory Brown", "Nina Silva", "Oscar Berg", "Peggy Moreau", "Quentin Blanc", "Rita Sousa",
                "Steve Walker", "Trent Fischer"};
        static final DateTimeFormatter RFC822 = DateTimeFormatter.ofPattern("EEE, dd MMM yyyy HH:mm:ss Z", Locale.US);
        static final DateTimeFormatter IMAPDATE = DateTimeFormatter.ofPattern("dd-MMM-yyyy HH:mm:ss Z", Locale.US);
        static final ZonedDateTime BASE = ZonedDateTime.of(2026, 10, 1, 8, 0, 0, 0, ZoneOffset.UTC);

        final String body;          // CRLF text, no final dot
        final String internalDate;  // IMAP date-time
        final boolean seen, flagged;

        Msgs(String body, String internalDate, boolean seen, boolean flagged) {
            this.body = body; this.internalDate = internalDate; this.seen = seen; this.flagged = flagged;
        }

        static String words(Random r, int n) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < n; i++) { if (i > 0) sb.append(' '); sb.append(WORDS[r.nextInt(WORDS.length)]); }
            return sb.toString();
        }

        static String addr(String name) { return name.toLowerCase().replace(' ', '.') + "@example.test"; }

        static void textLines(StringBuilder sb, Random r, int bytes) {
            int start = sb.length();
            while (sb.length() - start < bytes) {
                String l = words(r, 6 + r.nextInt(6));
                sb.append(Character.toUpperCase(l.charAt(0))).append(l, 1, l.length()).append(".\r\n");
                if (r.nextInt(8) == 0) sb.append("\r\n");
            }
        }

        static void base64Lines(StringBuilder sb, Random r, int bytes) {
            byte[] raw = new byte[bytes * 3 / 4];
            r.nextBytes(raw);
            String b = Base64.getEncoder().encodeToString(raw);
            for (int i = 0; i < b.length(); i += 76) sb.append(b, i, Math.min(b.length(), i + 76)).append("\r\n");
        }

        /** A realistic mailbox message (plain, alternative or with an attachment). */
        static Msgs realistic(long seed, int idx, String to) {
            Random r = new Random(seed * 1_000_003L + idx);
            String from = NAMES[r.nextInt(NAMES.length)];
            ZonedDateTime d = BASE.minusMinutes((long) idx * 37 + r.nextInt(30));
            StringBuilder sb = new StringBuilder(16384);
            sb.append("Return-Path: <").append(addr(from)).append(">\r\n");
            sb.append("From: ").append(from).append(" <").append(addr(from)).append(">\r\n");
            sb.append("To: <").append(to).append(">\r\n");
            sb.append("Subject: ").append(words(r, 3 + r.nextInt(5))).append("\r\n");
            sb.append("Date: ").append(RFC822.format(d)).append("\r\n");
            sb.append("Message-ID: <").append(seed).append('.').append(idx).append("@example.test>\r\n");
            sb.append("MIME-Version: 1.0\r\n");
            int kind = r.nextInt(100);
            if (kind < 60) {
                sb.append("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
                textLines(sb, r, 1500 + r.nextInt(10500));
            } else if (kind < 85) {
                String bd = "alt-" + seed + "-" + idx;
                sb.append("Content-Type: multipart/alternative; boundary=\"").append(bd).append("\"\r\n\r\n");
                sb.append("--").append(bd).append("\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
                StringBuilder t = new StringBuilder();
                textLines(t, r, 3000 + r.nextInt(12000));
                sb.append(t);
                sb.append("--").append(bd).append("\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>\r\n");
                sb.append(t.toString().replace("\r\n\r\n", "\r\n</p><p>\r\n"));
                sb.append("</p></body></html>\r\n--").append(bd).append("--\r\n");
            } else {
                String bd = "mix-" + seed + "-" + idx;
                sb.append("Content-Type: multipart/mixed; boundary=\"").append(bd).append("\"\r\n\r\n");
                sb.append("--").append(bd).append("\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n");
                textLines(sb, r, 800 + r.nextInt(3000));
                sb.append("--").append(bd).append("\r\nContent-Type: application/pdf; name=\"report-").append(idx)
                        .append(".pdf\"\r\nContent-Disposition: attachment; filename=\"report-").append(idx)
                        .append(".pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
                base64Lines(sb, r, 30000 + r.nextInt(120000));
                sb.append("--").append(bd).append("--\r\n");
            }
            return new Msgs(sb.toString(), IMAPDATE.format(d), r.nextInt(100) < 70, r.nextInt(100) < 5);
        }

        /** A message of about `size` bytes of text (for SMTP/POP3/relay benchmarks). */
        static String sized(long seed, int idx, int size, String from, String to, String extraHeaders) {
            Random r = new Random(seed * 1_000_003L + idx);
            StringBuilder sb = new StringBuilder(size + 512);
            sb.append("From: <").append(from).append(">\r\nTo: <").append(to).append(">\r\n");
            sb.append("Subject: bench ").append(idx).append(' ').append(words(r, 3)).append("\r\n");
            sb.append("Date: ").append(RFC822.format(BASE.plusSeconds(idx))).append("\r\n");
            sb.append("Message-ID: <b").append(seed).append('.').append(idx).append('.').append(System.nanoTime())
                    .append("@bench.test>\r\n");
            if (extraHeaders != null) sb.append(extraHeaders);
            sb.append("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n");
            int need = size - sb.length();
            textLines(sb, r, Math.max(0, need - 80));
            return sb.toString();
        }
    }

    // ------------------------------------------------------------------------------------------------
    static final class Imap implements Closeable {
        final Conn c;
        int tag;
        int exists = -1;
        long uidNext = -1;
        String lastTagged = "";
        final List<String> untagged = new ArrayList<>();
        boolean literalPlus;

        Imap(String host, int port, String source, int timeoutMs) throws IOException {
            c = new Conn(host, port, source, timeoutMs);
            String g = c.line();
            if (g == null || !g.startsWith("* OK")) throw new IOException("greeting: " + g);
            literalPlus = g.contains("LITERAL+");
        }

        /** Reads one response line, with literals read and discarded (replaced by their length). */
        String readResp() throws IOException {
            String l = c.line();
            if (l == null) throw new EOFException("connection closed by server");
            StringBuilder full = null;
            while (l.endsWith("}")) {
                int o = l.lastIndexOf('{');
                if (o < 0) break;
                String n = l.substring(o + 1, l.length() - 1).replace("+", "");
                long len;
                try { len = Long.parseLong(n); } catch (NumberFormatException e) { break; }
                c.skip(len);
                if (full == null) full = new StringBuilder();
                full.append(l, 0, o).append("<").append(len).append(">");
                l = c.line();
                if (l == null) throw new EOFException("closed after literal");
            }
            return full == null ? l : full.append(l).toString();
        }

        void track(String l) {
            if (!l.startsWith("* ")) return;
            int sp = l.indexOf(' ', 2);
            if (sp > 2) {
                String rest = l.substring(sp + 1);
                try {
                    if (rest.startsWith("EXISTS")) exists = Integer.parseInt(l.substring(2, sp));
                    else if (rest.startsWith("EXPUNGE")) exists--;
                } catch (NumberFormatException ignored) { }
            }
            int u = l.indexOf("[UIDNEXT ");
            if (u >= 0) {
                int e = l.indexOf(']', u);
                try { uidNext = Long.parseLong(l.substring(u + 9, e)); } catch (RuntimeException ignored) { }
            }
        }

        /** Sends a command and reads to its tagged reply; true when OK. Untagged lines kept in `untagged`. */
        boolean cmd(String command) throws IOException {
            String t = "a" + (++tag);
            untagged.clear();
            c.send(t + " " + command + "\r\n");
            return finish(t);
        }

        boolean finish(String t) throws IOException {
            String p = t + " ";
            while (true) {
                String l = readResp();
                if (l.startsWith(p)) {
                    lastTagged = l;
                    return l.startsWith("OK", p.length());
                }
                if (l.startsWith("+")) continue;
                track(l);
                untagged.add(l);
            }
        }

        boolean append(String mailbox, String flags, String date, byte[] msg) throws IOException {
            String t = "a" + (++tag);
            untagged.clear();
            StringBuilder sb = new StringBuilder(t).append(" APPEND ").append(mailbox);
            if (flags != null && !flags.isEmpty()) sb.append(" (").append(flags).append(')');
            if (date != null) sb.append(" \"").append(date).append('"');
            sb.append(" {").append(msg.length).append(literalPlus ? "+}\r\n" : "}\r\n");
            c.send(sb.toString());
            if (!literalPlus) {
                String l = readResp();
                if (!l.startsWith("+")) { lastTagged = l; return false; }
            }
            c.sendRaw(msg);
            c.send("\r\n");
            return finish(t);
        }

        List<Long> searchResult() {
            List<Long> out = new ArrayList<>();
            for (String l : untagged) {
                if (l.startsWith("* SEARCH")) {
                    for (String s : l.substring(8).trim().split(" ")) if (!s.isEmpty()) out.add(Long.parseLong(s));
                } else if (l.startsWith("* ESEARCH")) {
                    int a = l.indexOf(" ALL ");
                    if (a >= 0) for (String rng : l.substring(a + 5).trim().split(",")) {
                        String[] p = rng.split(":");
                        long x = Long.parseLong(p[0]), y = p.length > 1 ? Long.parseLong(p[1]) : x;
                        for (long i = Math.min(x, y); i <= Math.max(x, y); i++) out.add(i);
                    }
                }
            }
            return out;
        }

        @Override public void close() { c.close(); }
    }

    static String[] users() { return opt("users", "u1@bench.test").split(","); }

    static String q(String s) { return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\""; }

    static final class ImapBench {
        static String host() { return opt("host", "127.0.0.1"); }

        static int seed() throws Exception {
            String[] users = users();
            int count = iopt("count", 300), port = iopt("port", 143);
            long seed = Long.parseLong(opt("seed", "42"));
            String pw = opt("password", "pw");
            AtomicLong bytes = new AtomicLong(), n = new AtomicLong();
            AtomicInteger failures = new AtomicInteger();
            long t0 = System.nanoTime();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (String u : users) ex.submit(() -> {
                    try (Imap im = new Imap(host(), port, null, 60000)) {
                        if (!im.cmd("LOGIN " + q(u) + " " + q(pw))) throw new IOException("login " + u + ": " + im.lastTagged);
                        for (int i = 0; i < count; i++) {
                            Msgs m = Msgs.realistic(seed, i, u);
                            byte[] b = m.body.getBytes(StandardCharsets.UTF_8);
                            String flags = (m.seen ? "\\Seen" : "") + (m.flagged ? (m.seen ? " " : "") + "\\Flagged" : "");
                            if (!im.append("INBOX", flags, m.internalDate, b)) throw new IOException("append: " + im.lastTagged);
                            bytes.addAndGet(b.length);
                            n.incrementAndGet();
                        }
                        im.cmd("LOGOUT");
                    } catch (Exception e) {
                        failures.incrementAndGet();
                        progress("seed " + u + " failed: " + e);
                    }
                    return null;
                });
            }
            double s = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "RESULT appended=%d bytes=%d seconds=%.2f failures=%d%n", n.get(), bytes.get(), s, failures.get());
            return failures.get() == 0 ? 0 : 1;
        }

        /** The client mix. One op = one command and its tagged reply. */
        static int load() throws Exception {
            String[] users = users();
            int clients = iopt("clients", 10), port = iopt("port", 143);
            int duration = iopt("duration", 30), warmup = iopt("warmup", 5);
            String pw = opt("password", "pw");
            long seed = Long.parseLong(opt("seed", "42"));
            Stats st = new Stats();
            st.recording = false;
            long tStart = System.nanoTime();
            long tMeasure = tStart + warmup * 1_000_000_000L, tEnd = tMeasure + duration * 1_000_000_000L;
            AtomicInteger fatal = new AtomicInteger();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int ci = 0; ci < clients; ci++) {
                    final int id = ci;
                    ex.submit(() -> { client(id, users[id % users.length], pw, port, seed, st, tEnd, fatal); return null; });
                }
                Thread.sleep(Math.max(0, (tMeasure - System.nanoTime()) / 1_000_000));
                st.recording = true;
                long t1 = System.nanoTime();
                while (System.nanoTime() < tEnd) {
                    Thread.sleep(5000);
                    double el = (System.nanoTime() - t1) / 1e9;
                    progress(String.format(Locale.ROOT, "%d clients: %.0f ops/s so far", clients, st.total(true) / el));
                }
                st.recording = false;
            }
            st.print(System.out);
            long ok = st.total(true), err = st.total(false);
            double ops = ok / (double) duration;
            Stats.Op lg = st.ops.get("login");
            System.out.printf(Locale.ROOT, "RESULT clients=%d ops=%d errors=%d seconds=%d ops_per_s=%.1f fatal=%d login_p50_ms=%.1f logins=%d%n",
                    clients, ok, err, duration, ops, fatal.get(), lg == null ? 0 : Stats.pct(lg, 0.5), lg == null ? 0 : lg.ok.sum());
            return err + fatal.get() > ok / 100 ? 1 : 0;   // more than 1% failures: not a valid run
        }

        static void client(int id, String user, String pw, int port, long seed, Stats st, long tEnd, AtomicInteger fatal) {
            Random r = new Random(seed + id * 7919L);
            int minSteps = iopt("session-min", 100);
            int session = 0;
            while (System.nanoTime() < tEnd) {
                session++;
                Imap im = null;
                try {
                    long t = System.nanoTime();
                    im = new Imap(host(), port, null, 60000);
                    boolean ok = im.cmd("LOGIN " + q(user) + " " + q(pw));
                    st.record("login", System.nanoTime() - t, ok, im.lastTagged);
                    if (!ok) { Thread.sleep(100); continue; }
                    t = System.nanoTime();
                    ok = im.cmd("SELECT INBOX");
                    st.record("select", System.nanoTime() - t, ok, im.lastTagged);
                    t = System.nanoTime();
                    ok = im.cmd("UID SEARCH ALL");
                    st.record("search-all", System.nanoTime() - t, ok, im.lastTagged);
                    List<Long> uids = im.searchResult();
                    int mine = 0;
                    String marker = "c" + id + "s" + session + "x" + seed;
                    int steps = minSteps + r.nextInt(minSteps * 2);   // commands per session before LOGOUT
                    for (int s = 0; s < steps && System.nanoTime() < tEnd; s++) {
                        int k = r.nextInt(100);
                        long uid = uids.isEmpty() ? 1 : uids.get(r.nextInt(uids.size()));
                        String op, c;
                        t = System.nanoTime();
                        if (k < 25) {
                            int n = Math.max(1, im.exists);
                            int lo = Math.max(1, n - 19 - r.nextInt(Math.max(1, n - 19)));
                            op = "fetch-headers";
                            ok = im.cmd("FETCH " + lo + ":" + Math.min(n, lo + 19) + " (UID FLAGS RFC822.SIZE INTERNALDATE "
                                    + "BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)])");
                        } else if (k < 45) {
                            op = "fetch-body";
                            ok = im.cmd("UID FETCH " + uid + " (BODY.PEEK[] FLAGS)");
                        } else if (k < 50) {
                            op = "fetch-struct";
                            ok = im.cmd("UID FETCH " + uid + " (ENVELOPE BODYSTRUCTURE)");
                        } else if (k < 65) {
                            op = "store";
                            String f = r.nextBoolean() ? "\\Seen" : "\\Flagged";
                            ok = im.cmd("UID STORE " + uid + (r.nextBoolean() ? " +FLAGS (" : " -FLAGS (") + f + ")");
                        } else if (k < 77) {
                            op = "search";
                            c = switch (r.nextInt(6)) {
                                case 0 -> "UID SEARCH UNSEEN";
                                case 1 -> "UID SEARCH FLAGGED";
                                case 2 -> "UID SEARCH FROM " + q(Msgs.NAMES[r.nextInt(Msgs.NAMES.length)].split(" ")[1]);
                                case 3 -> "UID SEARCH SUBJECT " + q(Msgs.WORDS[r.nextInt(Msgs.WORDS.length)]);
                                case 4 -> "UID SEARCH SINCE " + Msgs.BASE.minusDays(r.nextInt(30)).format(
                                        DateTimeFormatter.ofPattern("d-MMM-yyyy", Locale.US));
                                default -> "UID SEARCH BODY " + q(Msgs.WORDS[r.nextInt(Msgs.WORDS.length)] + " "
                                        + Msgs.WORDS[r.nextInt(Msgs.WORDS.length)]);
                            };
                            ok = im.cmd(c);
                        } else if (k < 87) {
                            op = "append";
                            byte[] b = Msgs.sized(seed, id * 100000 + s, 4000 + r.nextInt(16000), "bench@example.test", user,
                                    "X-Bench-Client: " + marker + "\r\n").getBytes(StandardCharsets.UTF_8);
                            ok = im.append("INBOX", "\\Seen", null, b);
                            if (ok) mine++;
                        } else if (k < 95 && mine > 0) {
                            op = "search-mine";
                            ok = im.cmd("UID SEARCH HEADER X-Bench-Client " + q(marker));
                            st.record(op, System.nanoTime() - t, ok, im.lastTagged);
                            List<Long> own = im.searchResult();
                            if (own.isEmpty()) continue;
                            StringBuilder set = new StringBuilder();
                            for (Long u : own) { if (set.length() > 0) set.append(','); set.append(u); }
                            t = System.nanoTime();
                            ok = im.cmd("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)");
                            st.record("store-deleted", System.nanoTime() - t, ok, im.lastTagged);
                            t = System.nanoTime();
                            op = "expunge";
                            ok = im.cmd("EXPUNGE");
                            if (ok) mine = 0;
                        } else {
                            op = "noop";
                            ok = im.cmd("NOOP");
                        }
                        st.record(op, System.nanoTime() - t, ok, im.lastTagged);
                    }
                    t = System.nanoTime();
                    ok = im.cmd("LOGOUT");
                    st.record("logout", System.nanoTime() - t, ok, im.lastTagged);
                } catch (Exception e) {
                    st.record("connection", 0, false, e.toString());
                    if (System.nanoTime() < tEnd) fatal.incrementAndGet();
                    try { Thread.sleep(200); } catch (InterruptedException ie) { return; }
                } finally {
                    if (im != null) im.close();
                }
            }
        }

        /** N logged-in connections in IDLE; prints READY, waits for "stop" on stdin, then closes them. */
        static int idle() throws Exception {
            String[] users = users();
            String[] sources = opt("sources", "127.0.0.1").split(",");
            int n = iopt("connections", 1000), port = iopt("port", 143), par = iopt("parallel", 64);
            int rampTimeout = iopt("ramp-timeout", 600);
            String pw = opt("password", "pw");
            AtomicInteger idling = new AtomicInteger(), failed = new AtomicInteger(), dropped = new AtomicInteger();
            ConcurrentLinkedQueue<Imap> open = new ConcurrentLinkedQueue<>();
            ConcurrentLinkedQueue<String> errs = new ConcurrentLinkedQueue<>();
            Semaphore gate = new Semaphore(par);
            CountDownLatch done = new CountDownLatch(n);
            long t0 = System.nanoTime();
            ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor();
            for (int i = 0; i < n; i++) {
                final int id = i;
                ex.submit(() -> {
                    Imap im = null;
                    boolean counted = false;
                    try {
                        gate.acquire();
                        try {
                            im = new Imap(host(), port, sources[id % sources.length], 120000);
                            String u = users[id % users.length];
                            if (!im.cmd("LOGIN " + q(u) + " " + q(pw))) throw new IOException("login: " + im.lastTagged);
                            if (!im.cmd("SELECT INBOX")) throw new IOException("select: " + im.lastTagged);
                            String t = "a" + (++im.tag);
                            im.c.send(t + " IDLE\r\n");
                            String l = im.readResp();
                            while (!l.startsWith("+")) {
                                if (l.startsWith(t)) throw new IOException("idle: " + l);
                                l = im.readResp();
                            }
                            open.add(im);
                            idling.incrementAndGet();
                        } finally {
                            gate.release();
                        }
                        counted = true;
                        done.countDown();
                        im.c.timeout(0);
                        while (im.c.line() != null) { /* untagged updates or keepalives */ }
                        dropped.incrementAndGet();
                    } catch (Exception e) {
                        if (!counted) {
                            failed.incrementAndGet();
                            if (errs.size() < 10) errs.add(e.toString());
                            done.countDown();
                        } else if (!(e instanceof SocketException)) {
                            dropped.incrementAndGet();
                        }
                        if (im != null) im.close();
                    }
                    return null;
                });
            }
            long deadline = System.nanoTime() + rampTimeout * 1_000_000_000L;
            while (!done.await(5, TimeUnit.SECONDS)) {
                progress("idle: " + idling.get() + " in IDLE, " + failed.get() + " failed");
                if (System.nanoTime() > deadline) { progress("ramp timeout"); break; }
            }
            double ramp = (System.nanoTime() - t0) / 1e9;
            for (String e : errs) progress("error sample: " + e);
            System.out.printf(Locale.ROOT, "READY idling=%d failed=%d ramp_seconds=%.1f%n", idling.get(), failed.get(), ramp);
            System.out.flush();
            BufferedReader br = new BufferedReader(new InputStreamReader(System.in));
            br.readLine();   // "stop" or EOF
            int stillOpen = idling.get() - dropped.get();
            for (Imap im : open) im.close();
            ex.shutdownNow();
            System.out.printf(Locale.ROOT, "RESULT idling=%d failed=%d dropped=%d still_open=%d ramp_seconds=%.1f%n",
                    idling.get(), failed.get(), dropped.get(), stillOpen, ramp);
            return 0;
        }
    }

    // ------------------------------------------------------------------------------------------------
    static final class Pop3Bench {
        static String ok(Conn c, String what) throws IOException {
            String l = c.line();
            if (l == null || !l.startsWith("+OK")) throw new IOException(what + ": " + l);
            return l;
        }

        static Conn greeted(int port) throws IOException {
            Conn c = new Conn(opt("host", "127.0.0.1"), port, null, 120000);
            ok(c, "greeting");
            return c;
        }

        static void login(Conn c, String user, String pw) throws IOException {
            c.send("USER " + user + "\r\n");
            ok(c, "USER");
            c.send("PASS " + pw + "\r\n");
            ok(c, "PASS");
        }

        static int stat(Conn c) throws IOException {
            c.send("STAT\r\n");
            return Integer.parseInt(ok(c, "STAT").split(" ")[1]);
        }

        /**
         * With --warm-user W: first RETR (without DELE) every message of W's maildrop in a session of its own, so that
         * this JVM's own reading code is compiled before the measured session. Without it a client that has just
         * started reads the measured answers interpreted, and the measurement is the client's (bench/README.md).
         * With --ready stdin: then print READY and wait for a line on standard input before the measured session.
         * client_cpu_ms is this process's CPU (its JIT threads included) during the measured session only.
         */
        static int run() throws Exception {
            int port = iopt("port", 110), expect = iopt("expect", -1);
            String user = opt("user", "u1@bench.test"), pw = opt("password", "pw"), warmUser = opt("warm-user", null);
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
            long warmed = 0;
            if (warmUser != null) {
                try (Conn w = greeted(port)) {
                    login(w, warmUser, pw);
                    int n = stat(w);
                    for (int i = 1; i <= n; i++) {
                        w.send("RETR " + i + "\r\n");
                        ok(w, "RETR " + i);
                        w.dotBody();
                    }
                    w.send("QUIT\r\n");
                    ok(w, "QUIT");
                    warmed = n;
                }
            }
            if (opt("ready", "").equals("stdin")) {   // the bench measures the server from the line it sends back
                System.out.println("READY");
                System.out.flush();
                new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII)).readLine();
            }
            try (Conn c = greeted(port)) {
                long cpu0 = os.getProcessCpuTime();
                long t0 = System.nanoTime();
                login(c, user, pw);
                long tLogin = System.nanoTime();
                int n = stat(c);
                if (expect >= 0 && n != expect) throw new IOException("STAT says " + n + " messages, expected " + expect);
                long bytes = 0;
                for (int i = 1; i <= n; i++) {
                    c.send("RETR " + i + "\r\n");
                    ok(c, "RETR " + i);
                    bytes += c.dotBody();
                    c.send("DELE " + i + "\r\n");
                    ok(c, "DELE " + i);
                }
                long tRetr = System.nanoTime();
                c.send("QUIT\r\n");
                ok(c, "QUIT");
                long tEnd = System.nanoTime();
                long cpu = os.getProcessCpuTime() - cpu0;
                double s = (tEnd - tLogin) / 1e9;
                System.out.printf(Locale.ROOT, "RESULT messages=%d bytes=%d login_ms=%.1f retr_dele_seconds=%.3f quit_ms=%.1f "
                                + "seconds=%.3f msgs_per_s=%.1f warmed=%d client_cpu_ms=%.1f%n", n, bytes, (tLogin - t0) / 1e6,
                        (tRetr - tLogin) / 1e9, (tEnd - tRetr) / 1e6, s, n / s, warmed, cpu / 1e6);
            }
            return 0;
        }
    }

    // ------------------------------------------------------------------------------------------------
    static final class SmtpBench {
        static String reply(Conn c) throws IOException {
            String l, last = null;
            StringBuilder all = new StringBuilder();
            while ((l = c.line()) != null) {
                all.append(l).append('\n');
                last = l;
                if (l.length() < 4 || l.charAt(3) != '-') break;
            }
            if (last == null) throw new EOFException("connection closed");
            return all.toString();
        }

        static String expect(Conn c, String code, String what) throws IOException {
            String r = reply(c);
            if (!r.startsWith(code)) throw new IOException(what + ": " + r.trim());
            return r;
        }

        static int run(boolean submit) throws Exception {
            int port = iopt("port", submit ? 587 : 25), count = iopt("count", 1000), conc = iopt("concurrency", 10);
            int size = iopt("size", 10240), perConn = iopt("per-conn", 1);
            String proto = opt("proto", "smtp"), from = opt("from", "bench@example.test"), to = opt("to", "u1@bench.test");
            String tls = opt("tls", submit ? "starttls" : "none");
            String user = opt("user", from), pw = opt("password", "pw");
            long seed = Long.parseLong(opt("seed", "42"));
            String host = opt("host", "127.0.0.1");
            boolean lmtp = proto.equals("lmtp");
            AtomicInteger next = new AtomicInteger(), sent = new AtomicInteger(), failed = new AtomicInteger();
            ConcurrentLinkedQueue<String> errs = new ConcurrentLinkedQueue<>();
            Stats st = new Stats();
            long t0 = System.nanoTime();
            try (ExecutorService ex = Executors.newVirtualThreadPerTaskExecutor()) {
                for (int w = 0; w < conc; w++) ex.submit(() -> {
                    while (next.get() < count) {
                        Conn c = null;
                        try {
                            long ts = System.nanoTime(), tp = ts;
                            c = new Conn(host, port, null, 120000);
                            if (tls.equals("implicit")) c.startTls();
                            expect(c, "220", "greeting");
                            String hello = (lmtp ? "LHLO" : "EHLO") + " loadgen.bench.test\r\n";
                            c.send(hello);
                            expect(c, "250", "EHLO");
                            st.record("connect+ehlo", System.nanoTime() - tp, true, "");
                            if (tls.equals("starttls")) {
                                tp = System.nanoTime();
                                c.send("STARTTLS\r\n");
                                expect(c, "220", "STARTTLS");
                                c.startTls();
                                c.send(hello);
                                expect(c, "250", "EHLO after TLS");
                                st.record("starttls+ehlo", System.nanoTime() - tp, true, "");
                            }
                            if (submit) {
                                tp = System.nanoTime();
                                String auth = Base64.getEncoder().encodeToString(("\0" + user + "\0" + pw).getBytes(StandardCharsets.UTF_8));
                                c.send("AUTH PLAIN " + auth + "\r\n");
                                expect(c, "235", "AUTH");
                                st.record("auth", System.nanoTime() - tp, true, "");
                            }
                            for (int k = 0; k < perConn; k++) {
                                int idx = next.getAndIncrement();
                                if (idx >= count) break;
                                tp = System.nanoTime();
                                String m = Msgs.sized(seed, idx, size, from, to, null);
                                c.send("MAIL FROM:<" + from + ">\r\n");
                                expect(c, "250", "MAIL");
                                c.send("RCPT TO:<" + to + ">\r\n");
                                expect(c, "250", "RCPT");
                                c.send("DATA\r\n");
                                expect(c, "354", "DATA");
                                // dot-stuff (text lines never start with '.', but be correct anyway)
                                c.sendRaw(m.replace("\r\n.", "\r\n..").getBytes(StandardCharsets.UTF_8));
                                c.send(".\r\n");
                                expect(c, "250", "end of DATA");
                                st.record("transaction", System.nanoTime() - tp, true, "");
                                sent.incrementAndGet();
                            }
                            c.send("QUIT\r\n");
                            reply(c);
                            st.record("session", System.nanoTime() - ts, true, "");
                        } catch (Exception e) {
                            failed.incrementAndGet();
                            if (errs.size() < 10) errs.add(e.toString());
                            st.record("session", 0, false, e.toString());
                            if (failed.get() > Math.max(20, count / 20)) return null;   // give up: server broken
                        } finally {
                            if (c != null) c.close();
                        }
                    }
                    return null;
                });
            }
            double s = (System.nanoTime() - t0) / 1e9;
            for (String e : errs) progress("error sample: " + e);
            st.print(System.out);
            Stats.Op o = st.ops.get("session");
            System.out.printf(Locale.ROOT, "RESULT sent=%d failed=%d seconds=%.3f msgs_per_s=%.1f p50_ms=%.1f p99_ms=%.1f%n",
                    sent.get(), failed.get(), s, sent.get() / s, o == null ? 0 : Stats.pct(o, 0.5), o == null ? 0 : Stats.pct(o, 0.99));
            return failed.get() == 0 && sent.get() == count ? 0 : 1;
        }
    }
}
