package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.darwinmail.DarwinMail;
import org.darwinmail.cli.Cli;
import org.darwinmail.cli.Main;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.testing.TestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code darwinmail setup}, what the appliance's first boot runs when its OVF properties give a domain and an admin
 * password: afterwards the mailbox and its aliases exist, the admin signs in to the console with that password, no
 * setup code is made and the wizard answers 404, as after the wizard.
 */
class SetupCommandTest {
  @TempDir
  Path dir;

  private Path config() throws Exception {
    Path c = dir.resolve("darwinmail.toml");
    Files.writeString(c, "hostname = \"cli.test\"\ndata_dir = \"var\"\n[listen]\nsmtp = \"127.0.0.1:0\"\n"
        + "submission = \"\"\nsubmissions = \"\"\nimap = \"\"\nimaps = \"\"\npop3 = \"\"\npop3s = \"\"\n"
        + "admin = \"127.0.0.1:0\"\nhttps = \"127.0.0.1:0\"\n");
    return c;
  }

  private static String[] run(String stdin, String... args) {
    try (Cli cli = Cli.local()) {
      return Main.run(cli, stdin, args);
    }
  }

  @Test
  void setupFromTheCommandLineClosesTheWizardAndTheAdminSignsIn() throws Exception {
    Path c = config();
    String[] r = run("", "--config", c.toString(), "setup", "--domain", "example.test", "--password-stdin");
    assertThat(r[0]).as("no password").isEqualTo("1");
    r = run("short-pw\n", "--config", c.toString(), "setup", "--domain", "example.test", "--password-stdin");
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).startsWith("darwinmail: ").contains("12 characters");
    r = run("correct horse battery\n", "--config", c.toString(), "setup", "--domain", "bare", "--password-stdin");
    assertThat(r[0]).as(r[2]).isEqualTo("1");

    r = run("correct horse battery\n", "--config", c.toString(), "setup", "--domain", "example.test",
        "--password-stdin", "--mta-sts", "sometimes");
    assertThat(r[0]).as("an MTA-STS mode that is none of none, testing, enforce").isEqualTo("1");
    assertThat(r[2]).contains("mta_sts.mode");

    r = run("correct horse battery\n", "--config", c.toString(), "setup", "--domain", "example.test",
        "--password-stdin", "--mta-sts", "enforce");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).contains("postmaster@example.test");
    // Again (a first boot that ran twice): the same answer, nothing added twice.
    String settings = Files.readString(dir.resolve("var/settings.toml"));
    r = run("correct horse battery\n", "--config", c.toString(), "setup", "--domain", "example.test",
        "--password-stdin", "--mta-sts", "enforce");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(Files.readString(dir.resolve("var/settings.toml"))).isEqualTo(settings);

    var config = ConfigLoader.load(c);
    assertThat(config.mtaSts().domains()).containsExactly("example.test");
    assertThat(config.mtaSts().mode()).isEqualTo("enforce");
    // the records to publish, without a browser
    String id = new org.darwinmail.admin.dns.MtaStsPolicy("enforce", "cli.test", config.mtaSts().maxAge()).id();
    r = run("", "--config", c.toString(), "domain", "dns", "example.test");
    assertThat(r[0]).as(r[2]).isEqualTo("0");
    assertThat(r[1]).contains("_mta-sts.example.test.\tIN\tTXT\t\"v=STSv1; id=" + id + "\"\n")
        .contains("mta-sts.example.test.\tIN\tCNAME\tcli.test.\n")
        .contains("_smtp._tls.example.test.\tIN\tTXT\t\"v=TLSRPTv1; rua=mailto:postmaster@example.test\"\n");
    Duration t = Duration.ofSeconds(5);
    try (DarwinMail m = DarwinMail.start(TestServer.prepare(config));
        AdminWeb web = AdminWeb.start(m, new AdminWeb.Options(t, Duration.ofMinutes(30), Duration.ofHours(12),
            Duration.ofMillis(10), Clock.systemUTC()))) {
      var d = m.services().directory();
      assertThat(d.domains()).containsExactly("example.test");
      assertThat(d.accounts().stream().map(a -> a.address()).toList()).containsExactly("postmaster@example.test");
      assertThat(d.aliases()).containsEntry("abuse@example.test", List.of("postmaster@example.test"));
      assertThat(config.dataDir().resolve("run/setup-code")).doesNotExist();
      AdminHttp http = new AdminHttp(web.port());
      assertThat(http.get("/setup/").status()).isEqualTo(404);
      assertThat(http.post("/api/login", "{\"name\":\"admin\",\"password\":\"correct horse battery\"}").status())
          .isEqualTo(200);
    }
  }
}
