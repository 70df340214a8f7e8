package org.darwinmail.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.darwinmail.store.Account;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The one acceptance service, called without SMTP (as the DSN path, the postmaster notice and the admin console do):
 * a message the server writes reaches a local mailbox with Return-Path: on top, through aliases; remote recipients
 * are queued only where a queue runs; the postmaster is postmaster@ the first local domain.
 */
class AcceptanceTest {
  static TestServer server;
  static final String D = "accept.test";

  @BeforeAll
  static void start() {
    server = TestServer.start();
    server.addUser("dora@" + D, "dora-pw");
    server.services().directory().addAlias("desk@" + D, List.of("dora@" + D, "someone@remote.example"));
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static List<String> inbox(String address) throws Exception {
    Account a = server.services().directory().account(address).orElseThrow();
    long box = server.services().mail().mailbox(a.id(), "INBOX").orElseThrow().id();
    List<String> out = new ArrayList<>();
    for (MessageRow m : server.services().mail().messages(box)) {
      try (var in = server.services().mail().open(m)) {
        out.add(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
    return out;
  }

  @Test
  void aMessageOfTheServerReachesALocalMailboxThroughAnAliasWithReturnPath() throws Exception {
    Acceptance local = server.services().acceptance(); // no queue: remote recipients are skipped
    Acceptance.Receipt r = local.submit("", List.of("desk@" + D, "nobody@remote.example"),
        "Subject: notice\r\n\r\nhello\r\n".getBytes(StandardCharsets.US_ASCII), false);
    assertThat(r).isEqualTo(new Acceptance.Receipt(1, 0));
    assertThat(inbox("dora@" + D)).containsExactly("Return-Path: <>\r\nSubject: notice\r\n\r\nhello\r\n");
  }

  @Test
  void nothingIsStoredWhenNobodyReceivesIt() throws Exception {
    Acceptance.Receipt r = server.services().acceptance().submit("", List.of("ghost@" + D), "x\r\n".getBytes(), false);
    assertThat(r.none()).isTrue();
  }

  @Test
  void postmasterIsTheFirstLocalDomainsAndTheAdminMailboxDefaultsToIt() {
    String first = server.services().directory().domains().getFirst();
    assertThat(server.services().acceptance().postmaster()).isEqualTo("postmaster@" + first);
    assertThat(server.services().acceptance().admin()).isEqualTo("postmaster@" + first);
  }
}
