package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.apache.james.jdkim.DKIMVerifier;
import org.apache.james.jdkim.api.SignatureRecord;
import org.apache.james.jdkim.exceptions.PermFailException;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.BlobsConfig;
import org.darwinmail.config.DeliveryConfig;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.config.StoreConfig;
import org.darwinmail.delivery.Dkim;
import org.darwinmail.dns.Dns;
import org.darwinmail.net.Tls;
import org.darwinmail.testing.AtOnce;
import org.darwinmail.testing.ClusterNode;
import org.darwinmail.testing.FakeSmtp;
import org.darwinmail.testing.PostgresCluster;
import org.darwinmail.testing.Submitter;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The DKIM keys and the installed TLS certificate are the cluster's, not each node's (issue 20): two servers in this
 * JVM, each with its own data directory, on one PostgreSQL database and one S3 bucket (as the other cluster tests
 * start them), a DNS server and an SMTP sink on loopback. What a user notices: mail relayed by any node verifies
 * against the one DKIM record published, and every node's TLS listeners present the certificate uploaded on one.
 */
class SharedKeysAcrossNodesTest {
  @TempDir
  Path dir;
  private TestDns dns;
  private FakeSmtp sink;
  private ClusterNode.Shared store;
  private final List<AutoCloseable> open = new ArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    dns = new TestDns();
    sink = new FakeSmtp("127.0.0.1", 0, true, n -> "250 2.1.5 ok");
    dns.mx("sink.test", 10, "mx.sink.test").a("mx.sink.test", "127.0.0.1");
    store = ClusterNode.Shared.create();
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
    sink.close();
    dns.close();
  }

  /** A node on the shared store with its own data directory {@code dir/name/var}; admin console on a free port. */
  private DarwinMail node(String name) throws Exception {
    DarwinMail m = DarwinMail.start(TestServer.prepare(config(name)));
    open.add(m);
    return m;
  }

  private ServerConfig config(String name) throws Exception {
    String e = "127.0.0.1:0";
    return ServerConfig.defaults(Files.createDirectories(dir.resolve(name)).resolve("var"))
        .withHostname(name + ".cluster.test")
        .withListen(new ListenConfig(e, e, e, e, e, e, e, e))
        .withStore(new StoreConfig(16L, StoreConfig.POSTGRESQL, store.jdbcUrl(), PostgresCluster.USER,
            store.passwordFile().toString(), 4))
        .withBlobs(new BlobsConfig(BlobsConfig.S3, store.endpoint(), store.bucket(), null,
            store.credentialsFile().toString(), true, null))
        .withDns(new DnsConfig(List.of(dns.address()), 2))
        .withDelivery(DeliveryConfig.defaults().withPort(sink.port()).withRetry(List.of(1), 3600, 0));
  }

  private Dns resolver() {
    return new Dns(new DnsConfig(List.of(dns.address()), 2));
  }

  @Test
  void aKeyMadeOnNodeOneSignsMailRelayedThroughNodeTwo() throws Exception {
    DarwinMail one = node("one");
    DarwinMail two = node("two"); // running before the domain exists: it is not restarted after
    one.services().directory().addDomain("a.test");
    one.services().directory().addAccount("alice@a.test", "alice-pw".toCharArray());
    one.delivery().dkim().ensureKeys("a.test"); // as `domain add` does
    // Node one's records are the ones published; then node one stops, so that node two relays the message.
    Dkim k1 = one.delivery().dkim();
    dns.txt("darwin._domainkey.a.test", k1.publicRecord("a.test", Dkim.Algorithm.RSA));
    dns.txt("darwin-ed._domainkey.a.test", k1.publicRecord("a.test", Dkim.Algorithm.ED25519));
    one.close();
    open.remove(one);

    String msg = "From: Alice <alice@a.test>\r\nTo: <bob@sink.test>\r\nSubject: via two\r\n\r\nSigned by two.\r\n";
    assertThat(Submitter.submit(two.port("submission"), "alice@a.test", "alice-pw", "alice@a.test",
        List.of("bob@sink.test"), "", msg)).startsWith("250");
    await().atMost(Duration.ofSeconds(60)).until(() -> sink.messages.stream().anyMatch(m -> m.contains("via two")));
    String got = sink.messages.stream().filter(m -> m.contains("via two")).findFirst().orElseThrow();
    assertThat(got).contains("DKIM-Signature:").contains("d=a.test");

    Dns r = resolver();
    List<SignatureRecord> ok = new DKIMVerifier((method, selector, token) -> {
      if (r.txt(selector + "._domainkey." + token) instanceof Dns.Answer.Found<String> f) {
        return f.values();
      }
      throw new PermFailException("no key");
    }).verify(new ByteArrayInputStream(got.getBytes(StandardCharsets.UTF_8)));
    assertThat(ok).hasSize(1);
    assertThat(ok.getFirst().getDToken().toString()).isEqualTo("a.test");
    // Node two's files hold the cluster's key too (its cache, for backups and `store migrate --to derby`).
    assertThat(new Dkim(dir.resolve("two/var"), "darwin").publicRecord("a.test"))
        .isEqualTo(k1.publicRecord("a.test"));
  }

  @Test
  void twoNodesMakingTheSameDomainsKeyAtOnceEndWithOneKey() throws Exception {
    List<DarwinMail> nodes = List.of(node("one"), node("two"));
    nodes.getFirst().services().directory().addDomain("both.test");
    List<List<String>> records = AtOnce.run(nodes, n -> {
      n.delivery().dkim().ensureKeys("both.test");
      return List.of(n.delivery().dkim().publicRecord("both.test", Dkim.Algorithm.RSA),
          n.delivery().dkim().publicRecord("both.test", Dkim.Algorithm.ED25519));
    });
    assertThat(records.get(0)).isEqualTo(records.get(1));
    // And the files each node keeps are that key (a restart of either would not bring its own back).
    for (String n : List.of("one", "two")) {
      assertThat(new Dkim(dir.resolve(n).resolve("var"), "darwin").publicRecord("both.test"))
          .isEqualTo(records.getFirst().getFirst());
    }
  }

  @Test
  void keysInANodesDataDirectoryAreUploadedAndUsedByTheOthers() throws Exception {
    // A data directory with keys made before the cluster (a Derby node's, moved by `store migrate`).
    Path oneData = Files.createDirectories(dir.resolve("one")).resolve("var");
    Dkim before = new Dkim(oneData, "darwin");
    before.ensureKeys("old.test");
    String published = before.publicRecord("old.test");
    String publishedEd = before.publicRecord("old.test", Dkim.Algorithm.ED25519);
    node("one");
    // Node two never saw those files: it signs with them, from the database, and its own made none.
    DarwinMail two = node("two");
    assertThat(two.delivery().dkim().publicRecord("old.test")).isEqualTo(published);
    assertThat(two.delivery().dkim().publicRecord("old.test", Dkim.Algorithm.ED25519)).isEqualTo(publishedEd);
    assertThat(Files.readString(dir.resolve("two/var/dkim/old.test.darwin.key")))
        .isEqualTo(Files.readString(oneData.resolve("dkim/old.test.darwin.key")));
  }

  @Test
  void aCertificateUploadedOnNodeOnesConsoleIsServedByNodeTwoWithoutARestart() throws Exception {
    DarwinMail one = node("one");
    DarwinMail two = node("two");
    // Each made its own self-signed certificate at first start, naming its own host.
    assertThat(served(one.port("imaps"))).isNotEqualTo(served(two.port("imaps")));

    Path c = dir.resolve("upload/cert.pem");
    Path k = dir.resolve("upload/key.pem");
    Tls.generateSelfSigned(c, k, "mail.example.test", Duration.ofDays(400));
    String chain = Files.readString(c);
    String fingerprint = fingerprint(chain);

    AdminWeb web = AdminWeb.start(one, new AdminWeb.Options(Duration.ofSeconds(20), Duration.ofMinutes(30),
        Duration.ofHours(12), Duration.ofMillis(10), Clock.systemUTC()));
    open.add(web);
    AdminHttp http = new AdminHttp(web.port());
    Matcher m = Pattern.compile("code=(\\S+)").matcher(Files.readString(dir.resolve("one/var/run/setup-code")));
    assertThat(m.find()).isTrue();
    AdminHttp.Reply r = http.post("/api/setup/code", "{\"code\":\"" + m.group(1) + "\"}");
    String cookie = r.header("Set-Cookie");
    Matcher t = Pattern.compile("\"csrf\":\"([^\"]+)\"").matcher(r.body());
    assertThat(t.find()).isTrue();
    String[] s = {"Cookie: " + cookie.substring(0, cookie.indexOf(';')), "X-CSRF-Token: " + t.group(1)};
    assertThat(http.post("/api/setup/admin", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}", s)
        .status()).isEqualTo(200);
    assertThat(http.post("/api/setup/host", "{\"hostname\":\"mail.example.test\",\"domain\":\"example.test\","
        + "\"acceptWarnings\":true}", s).status()).isEqualTo(200);
    assertThat(http.post("/api/setup/network", "{}", s).status()).isEqualTo(200);
    assertThat(http.post("/api/setup/checks/done", "{}", s).status()).isEqualTo(200);
    AdminHttp.Reply up = http.post("/api/setup/tls/upload", "{\"certificate\":" + json(chain) + ",\"key\":"
        + json(Files.readString(k)) + "}", s);
    assertThat(up.status()).as(up.body()).isEqualTo(200);

    assertThat(served(one.port("imaps"))).isEqualTo(fingerprint);
    // Node two, not restarted, serves it on every TLS listener once the cluster event reached it.
    await().atMost(Duration.ofSeconds(10)).until(() -> served(two.port("imaps")).equals(fingerprint));
    assertThat(served(two.port("submissions"))).isEqualTo(fingerprint);
    assertThat(served(two.port("pop3s"))).isEqualTo(fingerprint);

    // A node started later serves it from its first connection; its own self-signed one is not served.
    DarwinMail three = node("three");
    assertThat(served(three.port("imaps"))).isEqualTo(fingerprint);
  }

  private static String json(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\r", "\\r") + "\"";
  }

  private static String fingerprint(String pem) throws Exception {
    X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509")
        .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
  }

  /** The SHA-256 fingerprint of the certificate a TLS listener presents (trusting any: only which one is asked). */
  private static String served(int port) throws Exception {
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(null, new TrustManager[] {new X509TrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] c, String a) {}

      @Override
      public void checkServerTrusted(X509Certificate[] c, String a) {}

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port)) {
      s.startHandshake();
      byte[] der = s.getSession().getPeerCertificates()[0].getEncoded();
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
    }
  }
}
