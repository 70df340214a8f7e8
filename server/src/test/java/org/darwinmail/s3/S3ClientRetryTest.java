package org.darwinmail.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Retries against a real HTTP server on loopback (the JDK's) that answers what each test scripts: a 5xx or a broken
 * connection is tried again, up to {@link S3Client#ATTEMPTS}; a 4xx is final; a listing past its limit is refused.
 */
class S3ClientRetryTest {
  private HttpServer http;
  private final Deque<Integer> statuses = new ArrayDeque<>();
  private final AtomicInteger requests = new AtomicInteger();
  private byte[] listing = new byte[0];
  private S3Client client;

  @BeforeEach
  void start() throws Exception {
    http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    http.createContext("/", ex -> {
      requests.incrementAndGet();
      ex.getRequestBody().readAllBytes();
      Integer status = statuses.poll();
      byte[] body = status == null ? listing
          : ("<Error><Code>Scripted" + status + "</Code></Error>").getBytes(StandardCharsets.UTF_8);
      int code = status == null ? 200 : status;
      if (code == 0) { // a connection closed with no answer
        ex.close();
        return;
      }
      ex.sendResponseHeaders(code, ex.getRequestMethod().equals("HEAD") ? -1 : body.length);
      if (!ex.getRequestMethod().equals("HEAD")) {
        ex.getResponseBody().write(body);
      }
      ex.close();
    });
    http.start();
    client = new S3Client(new S3Client.Settings(URI.create("http://127.0.0.1:" + http.getAddress().getPort()),
        "bucket", "us-east-1", true, new Credentials("id", "secret"), Duration.ofSeconds(5)));
  }

  @AfterEach
  void stop() {
    client.close();
    http.stop(0);
  }

  @Test
  void a5xxIsTriedAgainAndTheThirdAttemptSucceeds() throws Exception {
    statuses.add(503);
    statuses.add(500);
    client.delete("k");
    assertThat(requests.get()).isEqualTo(3);
  }

  @Test
  void aConnectionClosedWithoutAnAnswerIsTriedAgain() throws Exception {
    statuses.add(0);
    client.delete("k");
    assertThat(requests.get()).isEqualTo(2);
  }

  @Test
  void a5xxEveryTimeGivesUpAfterTheLastAttempt() {
    for (int i = 0; i < 10; i++) {
      statuses.add(503);
    }
    assertThatThrownBy(() -> client.delete("k")).isInstanceOf(S3Exception.class).hasMessageContaining("503")
        .hasMessageContaining("Scripted503");
    assertThat(requests.get()).isEqualTo(S3Client.ATTEMPTS);
  }

  @Test
  void a4xxIsFinalAtOnce() {
    statuses.add(403);
    statuses.add(403);
    assertThatThrownBy(() -> client.put("k", new byte[] {1}, new byte[32], new byte[16]))
        .isInstanceOf(S3Exception.class).hasMessageContaining("403");
    assertThat(requests.get()).isEqualTo(1);
  }

  @Test
  void aListingLargerThanItsLimitIsRefused() {
    listing = new byte[S3Client.MAX_LISTING + 1];
    assertThatThrownBy(() -> client.list("", null)).hasMessageContaining("larger than");
  }
}
