package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.awaitility.Awaitility;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23: deleting mail on a full disk broke Derby's connections, which came back read-only (IMAP LOGIN answered
 * [UNAVAILABLE]) until a restart. Reproduced for real on a small ext4 file system mounted from a loop image (the
 * tests run as root, as in CI), without reserved blocks: filled to the last block, mail deleted, space freed.
 */
@Tag("slow") // about 40 s, a loop mount: run by `make test` (test-slow), not by `make check`
class DatabaseFullDiskTest {
  @TempDir
  Path dir;
  private Path mount;

  @BeforeEach
  void mountSmallFileSystem() throws Exception {
    Path image = dir.resolve("disk.img");
    mount = dir.resolve("mnt");
    Files.createDirectories(mount);
    sh("truncate", "-s", "48M", image.toString());
    sh("mkfs.ext4", "-q", "-m", "0", image.toString());
    sh("mount", "-o", "loop", image.toString(), mount.toString());
  }

  @AfterEach
  void unmount() throws Exception {
    sh("umount", "-l", mount.toString());
  }

  private static void sh(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
  }

  /** Writes files of 1 MB, then of 4 KB, until the file system refuses; returns them. */
  private static List<Path> fill(Path folder) throws IOException {
    List<Path> files = new ArrayList<>();
    byte[] chunk = new byte[1 << 20];
    for (int size : new int[] {1 << 20, 4096}) {
      for (int i = 0; ; i++) {
        Path f = folder.resolve("filler-" + size + "-" + i);
        try (OutputStream o = Files.newOutputStream(f)) {
          files.add(f);
          o.write(chunk, 0, size);
        } catch (IOException e) {
          break; // no space left on device
        }
      }
    }
    return files;
  }

  @Test
  void theStoreWorksAgainWithoutARestartOnceSpaceComesBack() throws Exception {
    Path data = mount.resolve("var");
    try (var s = DarwinMail.Services.open(ServerConfig.defaults(data))) {
      s.directory().addDomain("example.test");
      Account a = s.directory().addAccount("erin@example.test", "pw".toCharArray());
      long inbox = s.mail().mailbox(a.id(), "INBOX").orElseThrow().id();
      List<Long> uids = new ArrayList<>();
      for (int i = 0; i < 400; i++) {
        BlobStore.BlobWriter w = s.blobs().create();
        w.write(("Subject: " + i + "\r\n\r\n" + "x".repeat(2000)).getBytes(StandardCharsets.US_ASCII));
        uids.add(s.mail().deliver(List.of(inbox), w.commit(), Instant.now()).getFirst().uid());
      }
      List<Path> filler = fill(mount);
      // Deleting mail on the full disk: Derby's log cannot grow.
      List<String> failures = new ArrayList<>();
      long until = System.nanoTime() + Duration.ofSeconds(15).toNanos();
      for (int i = 0; i < uids.size() && System.nanoTime() < until; i += 10) {
        try {
          s.mail().expunge(inbox, uids.subList(i, i + 10));
          s.mail().store(inbox, uids.subList(i, Math.min(uids.size(), i + 200)), MailStore.FlagOp.ADD,
              Flags.SEEN, java.util.Set.of(), null);
        } catch (RuntimeException e) {
          failures.add(e.getMessage());
        }
      }
      assertThat(failures).as("changes refused on the full disk").isNotEmpty();
      // Clients reading their mailboxes for 5 s while the disk is still full: the pool reconnects, and Derby boots the
      // database again, read-only (before: for good, even once space came back).
      for (long end = System.nanoTime() + Duration.ofSeconds(5).toNanos(); System.nanoTime() < end; ) {
        try {
          s.mail().mailboxes(a.id());
        } catch (RuntimeException e) {
          failures.add(e.getMessage());
        }
        Thread.sleep(500);
      }
      for (Path f : filler) {
        Files.delete(f);
      }
      // Space is back: logging in and changing mail work again, without a restart.
      Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
          .until(() -> s.directory().authenticate("erin@example.test", "pw".toCharArray()).isPresent()
              && s.mail().createMailbox(a.id(), "After" + System.nanoTime(), null) != null);
      assertThat(s.mail().messages(inbox)).isNotNull();
    }
  }
}
