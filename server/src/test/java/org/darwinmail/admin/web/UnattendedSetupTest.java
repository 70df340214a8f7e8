package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.darwinmail.DarwinMail;
import org.darwinmail.admin.settings.Settings;
import org.darwinmail.config.ListenConfig;
import org.darwinmail.config.ServerConfig;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The unattended path (the appliance's first boot with an admin password in the OVF properties) and the wizard
 * give the same result: the same directory, the same settings.toml, an admin who can sign in, no code, no wizard.
 */
class UnattendedSetupTest {
  @TempDir
  Path wizardDir;
  @TempDir
  Path unattendedDir;

  private static ServerConfig config(Path dir) {
    String e = "127.0.0.1:0";
    return ServerConfig.defaults(dir).withListen(new ListenConfig(e, e, e, e, e, e, e, e));
  }

  private static AdminWeb.Options fast() {
    return new AdminWeb.Options(Duration.ofSeconds(5), Duration.ofMinutes(30), Duration.ofHours(12),
        Duration.ofMillis(10), Clock.systemUTC());
  }

  private static String csrfOf(AdminHttp.Reply r) {
    Matcher m = Pattern.compile("\"csrf\":\"([^\"]+)\"").matcher(r.body());
    assertThat(m.find()).isTrue();
    return m.group(1);
  }

  record Result(List<String> domains, List<String> accounts, Map<String, List<String>> aliases, String settings) {}

  private static Result result(DarwinMail m, Path dir) throws Exception {
    var d = m.services().directory();
    return new Result(d.domains(), d.accounts().stream().map(a -> a.address()).toList(), d.aliases(),
        Files.readString(dir.resolve("settings.toml")));
  }

  @Test
  void theUnattendedPathAndTheWizardGiveTheSameResult() throws Exception {
    Result byWizard;
    try (DarwinMail m = DarwinMail.start(TestServer.prepare(config(wizardDir))); AdminWeb web = AdminWeb.start(m, fast())) {
      AdminHttp http = new AdminHttp(web.port());
      String code = Files.readString(wizardDir.resolve("run/setup-code")).lines().filter(l -> l.startsWith("code="))
          .findFirst().orElseThrow().substring(5);
      AdminHttp.Reply r = http.post("/api/setup/code", "{\"code\":\"" + code + "\"}");
      String c = r.header("Set-Cookie");
      String[] s = {"Cookie: " + c.substring(0, c.indexOf(';')), "X-CSRF-Token: " + csrfOf(r)};
      assertThat(http.post("/api/setup/admin", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}", s)
          .status()).isEqualTo(200);
      assertThat(http.post("/api/setup/host", "{\"hostname\":\"mail.example.test\",\"domain\":\"example.test\","
          + "\"acceptWarnings\":true}", s).status()).isEqualTo(200);
      for (String step : new String[] {"network", "checks/done", "tls/keep", "dns"}) { // steps 4-7 only inform
        assertThat(http.post("/api/setup/" + step, "{}", s).status()).as(step).isEqualTo(200);
      }
      assertThat(http.post("/api/setup/mailbox", "{\"mailbox\":\"ada\",\"password\":\"mailbox-pw\"}", s).status())
          .isEqualTo(200);
      assertThat(http.post("/api/setup/finish", "{}", s).status()).isEqualTo(200);
      byWizard = result(m, wizardDir);
    }

    try (DarwinMail m = DarwinMail.start(TestServer.prepare(config(unattendedDir)))) {
      Settings doc = new Settings("mail.example.test", "example.test", "ada", "mailbox-pw".toCharArray(), List.of());
      Unattended.complete(unattendedDir, m.services().directory(), doc, "admin", null,
          "correct horse battery".toCharArray());
      Unattended.complete(unattendedDir, m.services().directory(), doc, "admin", null,
          "correct horse battery".toCharArray()); // again: nothing changes
      assertThat(result(m, unattendedDir)).isEqualTo(byWizard);
      try (AdminWeb web = AdminWeb.start(m, fast())) {
        AdminHttp http = new AdminHttp(web.port());
        assertThat(Files.exists(unattendedDir.resolve("run/setup-code"))).as("no setup code").isFalse();
        assertThat(http.get("/setup/").status()).isEqualTo(404);
        assertThat(http.post("/api/login", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}").status())
            .isEqualTo(200);
      }
    }
  }
}
