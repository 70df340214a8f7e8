package org.darwinmail.guard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.darwinmail.testing.Submitter;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The classic open-relay tricks (the ones relay testers try) on port 25 without authentication, and on the
 * submission port without AUTH: none may get a recipient outside our domains accepted (RFC 5321 §3.6.2, §7.1;
 * RFC 2505 §2.6). A local recipient is accepted, so the suite can fail.
 */
class OpenRelayTest {
  static TestServer server;
  static final String D = "relay.test";

  @BeforeAll
  static void start() {
    // Harvest slowing off here: the tricks are many unknown recipients from one address.
    server = TestServer.start(c -> c.withGuard(c.guard().withHarvest(10_000, 10_000)));
    server.addUser("alice@" + D, "alice-pw");
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  static Stream<Arguments> tricks() {
    return Stream.of(
        Arguments.of("plain remote recipient", "<victim@elsewhere.test>"),
        Arguments.of("percent hack", "<victim%elsewhere.test@" + D + ">"),
        Arguments.of("double percent hack", "<victim%elsewhere.test%" + D + "@" + D + ">"),
        Arguments.of("bang path", "<elsewhere.test!victim@" + D + ">"),
        Arguments.of("bang path without domain", "<elsewhere.test!victim>"),
        Arguments.of("source route through us", "<@" + D + ":victim@elsewhere.test>"),
        Arguments.of("source route list", "<@" + D + ",@mx.test:victim@elsewhere.test>"),
        Arguments.of("quoted local part with @", "<\"victim@elsewhere.test\"@" + D + ">"),
        Arguments.of("quoted local part with %", "<\"victim%elsewhere.test\"@" + D + ">"),
        Arguments.of("@ in the local part", "<victim@elsewhere.test@" + D + ">"),
        Arguments.of("address literal", "<victim@[192.0.2.1]>"),
        Arguments.of("our address literal", "<victim@[127.0.0.1]>"),
        Arguments.of("trailing dot", "<victim@elsewhere.test.>"),
        Arguments.of("our domain as a suffix", "<victim@" + D + ".elsewhere.test>"),
        Arguments.of("our domain as a prefix label", "<victim@elsewhere." + D + ">"),
        Arguments.of("no angle brackets", "victim@elsewhere.test"),
        Arguments.of("postmaster elsewhere", "<postmaster@elsewhere.test>"));
  }

  @ParameterizedTest(name = "{0}: RCPT TO:{1}")
  @MethodSource("tricks")
  void portTwentyFiveRelaysNothing(String trick, String rcpt) throws Exception {
    try (Submitter c = new Submitter("127.0.0.1", server.port("smtp"))) {
      c.ehlo();
      c.send("MAIL FROM:<spammer@elsewhere.test>");
      assertThat(c.read()).startsWith("250");
      c.send("RCPT TO:" + rcpt);
      String r = c.read();
      assertThat(r).as(trick).matches("5\\d\\d .*");
      c.send("DATA");
      assertThat(c.read()).as("DATA after the refused recipient").startsWith("554");
    }
  }

  @Test
  void aLocalRecipientIsAccepted() throws Exception {
    try (Submitter c = new Submitter("127.0.0.1", server.port("smtp"))) {
      c.ehlo();
      assertThat(c.send("someone@elsewhere.test", java.util.List.of("alice@" + D), "hello")).startsWith("250 ");
    }
  }

  @Test
  void submissionWithoutAuthenticationRelaysNothing() throws Exception {
    try (Submitter c = new Submitter("127.0.0.1", server.port("submission"))) {
      c.ehlo();
      c.send("MAIL FROM:<alice@" + D + ">");
      assertThat(c.read()).startsWith("530 5.7.0");
      c.startTls();
      c.send("MAIL FROM:<alice@" + D + ">");
      assertThat(c.read()).startsWith("530 5.7.0 Authentication required");
      c.send("RCPT TO:<victim@elsewhere.test>");
      assertThat(c.read()).startsWith("503");
    }
  }
}
