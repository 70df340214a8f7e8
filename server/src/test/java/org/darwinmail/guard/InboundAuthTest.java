package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.List;
import org.apache.james.jdkim.DKIMSigner;
import org.darwinmail.testing.Submitter;
import org.darwinmail.config.DnsConfig;
import org.darwinmail.config.InboundConfig;
import org.darwinmail.store.Account;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.TestDns;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SPF, DKIM and DMARC on port 25 against records served by a DNS server on loopback (TestDns): each result in the
 * Authentication-Results header (RFC 8601), DMARC p=reject refused with 550 5.7.1, p=quarantine delivered to Junk,
 * a forged Authentication-Results header removed. The client (127.0.0.1) is not trusted here.
 */
class InboundAuthTest {
  static TestDns dns;
  static TestServer server;
  static KeyPair key;
  static final String D = "inbound.test";

  @BeforeAll
  static void start() throws Exception {
    dns = new TestDns();
    dns.txt("spf-pass.example", "v=spf1 ip4:127.0.0.0/8 -all")
        .txt("spf-fail.example", "v=spf1 ip4:192.0.2.1 -all")
        .txt("spf-soft.example", "v=spf1 ip4:192.0.2.1 ~all")
        .a("spf-none.example", "192.0.2.7")
        .txt("dmarc-reject.example", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.dmarc-reject.example", "v=DMARC1; p=reject")
        .txt("dmarc-quarantine.example", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.dmarc-quarantine.example", "v=DMARC1; p=quarantine; rua=mailto:r@dmarc-quarantine.example")
        .txt("dmarc-pass.example", "v=spf1 ip4:127.0.0.1 -all")
        .txt("_dmarc.dmarc-pass.example", "v=DMARC1; p=reject")
        .txt("dkim.example", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.dkim.example", "v=DMARC1; p=reject; adkim=s")
        .txt("orgpolicy.example", "v=spf1 ip4:192.0.2.1 -all")
        .txt("_dmarc.orgpolicy.example", "v=DMARC1; p=none; sp=reject")
        .a("mail.orgpolicy.example", "192.0.2.8");
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(1024);
    key = g.generateKeyPair();
    dns.txt("sel._domainkey.dkim.example",
        "v=DKIM1; k=rsa; p=" + Base64.getEncoder().encodeToString(key.getPublic().getEncoded()));
    server = TestServer.start(c -> c.withDns(new DnsConfig(List.of(dns.address()), 2))
        .withGuard(c.guard().withInbound(new InboundConfig(true, List.of(), null, null, null))));
    server.addUser("alice@" + D, "alice-pw");
  }

  @AfterAll
  static void stop() {
    server.close();
    dns.close();
  }

  /** Sends a message on port 25 from 127.0.0.1; returns the final reply. */
  private static String send(String mailFrom, String message) throws Exception {
    try (Submitter c = new Submitter("127.0.0.1", server.port("smtp"))) {
      c.ehlo();
      c.send("MAIL FROM:<" + mailFrom + ">");
      assertThat(c.read()).startsWith("250");
      c.send("RCPT TO:<alice@" + D + ">");
      assertThat(c.read()).startsWith("250");
      c.send("DATA");
      assertThat(c.read()).startsWith("354");
      c.send(message + ".");
      return c.read();
    }
  }

  private static String message(String from, String subject) {
    return "From: <" + from + ">\r\nTo: <alice@" + D + ">\r\nSubject: " + subject + "\r\n\r\nHello.\r\n";
  }

  /** The stored message whose Subject is {@code subject}, in {@code folder} of alice. */
  private static String stored(String folder, String subject) throws Exception {
    var s = server.services();
    Account a = s.directory().account("alice@" + D).orElseThrow();
    Mailbox m = s.mail().mailbox(a.id(), folder).orElseThrow();
    for (MessageRow r : s.mail().messages(m.id())) {
      try (InputStream in = s.mail().open(r)) {
        String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        if (text.contains("\r\nSubject: " + subject + "\r\n")) {
          return text;
        }
      }
    }
    return null;
  }

  private static String authResults(String text) {
    int i = text.indexOf("Authentication-Results: ");
    int end = text.indexOf("\r\n", i);
    while (text.startsWith("\t", end + 2)) {
      end = text.indexOf("\r\n", end + 2);
    }
    return text.substring(i, end).replace("\r\n\t", " ");
  }

  @Test
  void spfPassFailSoftfailNone() throws Exception {
    for (String[] c : new String[][] {{"spf-pass.example", "pass"}, {"spf-fail.example", "fail"},
        {"spf-soft.example", "softfail"}, {"spf-none.example", "none"}}) {
      String subject = "spf " + c[1];
      assertThat(send("bob@" + c[0], message("bob@" + c[0], subject))).startsWith("250 ");
      // Return-Path: first (RFC 5321 §4.4), then our Authentication-Results: (RFC 8601 §5)
      assertThat(stored("INBOX", subject)).startsWith("Return-Path: <bob@" + c[0] + ">\r\nAuthentication-Results: ");
      String ar = authResults(stored("INBOX", subject));
      assertThat(ar).as(c[0]).startsWith("Authentication-Results: mx.test; spf=" + c[1] + " smtp.mailfrom=bob@" + c[0])
          .contains("dkim=none").contains("dmarc=none header.from=" + c[0]);
    }
  }

  @Test
  void dmarcRejectIsRefused() throws Exception {
    String r = send("bob@dmarc-reject.example", message("bob@dmarc-reject.example", "forged"));
    assertThat(r).isEqualTo("550 5.7.1 Message refused by the DMARC policy of dmarc-reject.example");
    assertThat(stored("INBOX", "forged")).isNull();
  }

  @Test
  void dmarcQuarantineGoesToJunk() throws Exception {
    assertThat(send("bob@dmarc-quarantine.example", message("bob@dmarc-quarantine.example", "dubious")))
        .startsWith("250 ");
    assertThat(stored("INBOX", "dubious")).isNull();
    String text = stored("Junk", "dubious");
    assertThat(authResults(text)).contains("spf=fail").contains("dmarc=fail (p=quarantine dis=quarantine)");
  }

  @Test
  void alignedSpfPassesDmarc() throws Exception {
    assertThat(send("bob@dmarc-pass.example", message("bob@dmarc-pass.example", "aligned"))).startsWith("250 ");
    assertThat(authResults(stored("INBOX", "aligned"))).contains("spf=pass")
        .contains("dmarc=pass (p=reject dis=none) header.from=dmarc-pass.example");
  }

  @Test
  void aValidDkimSignatureSavesAMessageWhoseSpfFails() throws Exception {
    String body = message("news@dkim.example", "signed");
    DKIMSigner signer = new DKIMSigner("v=1; a=rsa-sha256; c=relaxed/relaxed; d=dkim.example; s=sel; "
        + "h=from:to:subject; bh=; b=;", key.getPrivate());
    String sig = signer.sign(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)));
    assertThat(send("bounce@dkim.example", sig + "\r\n" + body)).startsWith("250 ");
    String ar = authResults(stored("INBOX", "signed"));
    assertThat(ar).contains("spf=fail").contains("dkim=pass header.d=dkim.example header.s=sel")
        .contains("dmarc=pass (p=reject dis=none)");

    // The same message altered in transit: the signature fails, and so does DMARC (p=reject).
    String tampered = sig + "\r\n" + body.replace("Hello.", "Hello, send money.");
    assertThat(send("bounce@dkim.example", tampered)).startsWith("550 5.7.1");
  }

  @Test
  void subdomainsGetTheOrganisationalDomainsSubdomainPolicy() throws Exception {
    String r = send("bob@mail.orgpolicy.example", message("bob@mail.orgpolicy.example", "sub"));
    assertThat(r).startsWith("550 5.7.1 Message refused by the DMARC policy of mail.orgpolicy.example");
  }

  @Test
  void aForgedAuthenticationResultsHeaderIsRemoved() throws Exception {
    String forged = "Authentication-Results: mx.test; dmarc=pass header.from=spf-fail.example\r\n"
        + message("bob@spf-fail.example", "forged header");
    assertThat(send("bob@spf-fail.example", forged)).startsWith("250 ");
    String text = stored("INBOX", "forged header");
    assertThat(text.split("Authentication-Results:", -1)).hasSize(2);
    assertThat(authResults(text)).contains("spf=fail");
  }
}
