package org.darwinmail.pop3;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.darwinmail.store.Account;
import org.darwinmail.store.BlobRef;
import org.darwinmail.store.BlobStore;
import org.darwinmail.store.Mailbox;
import org.darwinmail.store.MessageRow;
import org.darwinmail.testing.TestServer;

/** Puts mail into an INBOX the way local delivery does (blob first, then the row), for POP3 tests. */
final class Pop3Mail {
  private Pop3Mail() {}

  /**
   * The standard test message number {@code k}: 144 octets, fixed whatever the domain, with lines that need
   * byte-stuffing on the way out.
   */
  static String message(int k) {
    return "From: sender@example.net\r\n"
        + "To: alice@example.test\r\n"
        + "Subject: Message " + k + "\r\n"
        + "\r\n"
        + "Line one of message " + k + "\r\n"
        + ".leading dot\r\n"
        + "Line three\r\n"
        + "..two dots\r\n"
        + "Last line\r\n";
  }

  static MessageRow deliver(TestServer server, String address, byte[] body) {
    try {
      BlobStore.BlobWriter w = server.services().blobs().create();
      w.write(body);
      BlobRef ref = w.commit();
      return server.services().mail().deliver(List.of(inbox(server, address).id()), ref, Instant.now()).getFirst();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static Mailbox inbox(TestServer server, String address) {
    Account a = server.services().directory().account(address).orElseThrow();
    return server.services().mail().mailbox(a.id(), Mailbox.INBOX).orElseThrow();
  }

  /**
   * The script setup: a line "#! mail USER N" delivers the standard messages 1..N to USER@$D (several such lines
   * may follow the first line).
   */
  static void prepare(TestServer server, String domain, Path script) throws IOException {
    for (String line : Files.readAllLines(script)) {
      if (line.startsWith("#! mail ")) {
        String[] p = line.substring(8).strip().split(" +");
        for (int k = 1; k <= Integer.parseInt(p[1]); k++) {
          deliver(server, p[0] + "@" + domain, message(k).getBytes(StandardCharsets.US_ASCII));
        }
      }
    }
  }
}
