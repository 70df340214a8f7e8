package org.darwinmail.pop3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.darwinmail.config.BlobsConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.config.StoreConfig;
import org.darwinmail.testing.ClusterNode;
import org.darwinmail.testing.LineClient;
import org.darwinmail.testing.PostgresCluster;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * RFC 1939 §8 / RFC 2449 §8.1.1 across nodes (issue 20): two servers in this JVM on one PostgreSQL database and one
 * bucket; while a POP3 session on node 1 holds a maildrop, a login for it on node 2 gets {@code -ERR [IN-USE]}, and
 * once that session ends (QUIT, or its connection dropped) or node 1 stops, node 2 opens it. 8-14 s, in
 * {@code make check}.
 */
class MaildropLockAcrossNodesTest {
  private final List<AutoCloseable> open = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : open.reversed()) {
      c.close();
    }
  }

  private static LineClient pop3(TestServer node) throws Exception {
    LineClient c = new LineClient("127.0.0.1", node.port("pop3"));
    assertThat(c.read()).startsWith("+OK");
    return c;
  }

  private static String login(LineClient c) throws Exception {
    c.send("USER dana@cluster.test");
    assertThat(c.read()).startsWith("+OK");
    c.send("PASS pw");
    return c.read();
  }

  @Test
  void aMaildropOpenOnOneNodeIsInUseOnAnotherUntilItsSessionEnds() throws Exception {
    ClusterNode.Shared store = ClusterNode.Shared.create();
    UnaryOperator<ServerConfig> shared = c -> c
        .withStore(new StoreConfig(16L, StoreConfig.POSTGRESQL, store.jdbcUrl(), PostgresCluster.USER,
            store.passwordFile().toString(), 4))
        .withBlobs(new BlobsConfig(BlobsConfig.S3, store.endpoint(), store.bucket(), null,
            store.credentialsFile().toString(), true, null));
    TestServer n1 = TestServer.start(shared);
    open.add(n1);
    n1.addUser("dana@cluster.test", "pw");
    TestServer n2 = TestServer.start(shared);
    open.add(n2);

    LineClient first = pop3(n1);
    open.add(first);
    assertThat(login(first)).startsWith("+OK");
    LineClient second = pop3(n2);
    open.add(second);
    assertThat(login(second)).as("node 2 while node 1 holds the maildrop").startsWith("-ERR [IN-USE]");
    LineClient third = pop3(n1);
    open.add(third);
    assertThat(login(third)).as("node 1 itself, as before").startsWith("-ERR [IN-USE]");

    first.send("QUIT");
    assertThat(first.read()).startsWith("+OK");
    LineClient again = pop3(n2);
    open.add(again);
    assertThat(login(again)).as("node 2 once node 1's session quit").startsWith("+OK");
    LineClient fromOne = pop3(n1);
    open.add(fromOne);
    assertThat(login(fromOne)).as("node 1 while node 2 holds it").startsWith("-ERR [IN-USE]");

    again.close(); // dropped without QUIT: the session ends, and so does its lock (RFC 1939 §6 leaves the mail)
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> {
      LineClient c = pop3(n1);
      open.add(c);
      return login(c).startsWith("+OK");
    });

    // Node 1 stops with the maildrop open: its lock goes with it (PostgreSQL frees a closed connection's locks).
    open.remove(n1);
    n1.close();
    try (LineClient c = pop3(n2)) {
      assertThat(login(c)).as("node 2 once node 1 stopped").startsWith("+OK");
    }
  }
}
