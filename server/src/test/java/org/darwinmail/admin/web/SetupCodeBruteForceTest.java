package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.GuardConfig;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guessing the setup code: each wrong code is refused, and past {@code guard.login_lock_after} wrong codes the
 * address is locked out (429), the right code included, as a mail login would be.
 */
class SetupCodeBruteForceTest {
  @TempDir
  Path dir;

  @Test
  void wrongCodesLockTheGuessingAddressOut() throws Exception {
    String e = "127.0.0.1:0";
    ServerConfig c = ServerConfig.defaults(dir).withListen(new ListenConfig(e, e, e, e, e, e, e, e))
        .withGuard(new GuardConfig(null, null, null, null, null, 1, 3, 600, null, null));
    try (DarwinMail m = DarwinMail.start(TestServer.prepare(c)); AdminWeb web = AdminWeb.start(m, new AdminWeb.Options(
        Duration.ofSeconds(5), Duration.ofMinutes(30), Duration.ofHours(12), Duration.ofMillis(10),
        Clock.systemUTC()))) {
      AdminHttp http = new AdminHttp(web.port());
      for (int i = 0; i < 3; i++) {
        assertThat(http.post("/api/setup/code", "{\"code\":\"22222-22222\"}").status()).isEqualTo(422);
      }
      assertThat(http.post("/api/setup/code", "{\"code\":\"22222-22222\"}").status()).isEqualTo(429);
      String code = Files.readString(dir.resolve("run/setup-code")).lines().filter(l -> l.startsWith("code="))
          .findFirst().orElseThrow().substring(5);
      AdminHttp.Reply right = http.post("/api/setup/code", "{\"code\":\"" + code + "\"}");
      assertThat(right.status()).as("locked, even with the right code").isEqualTo(429);
      assertThat(right.header("Set-Cookie")).isNull();
    }
  }
}
