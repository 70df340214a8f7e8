package org.darwinmail.smtp;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.darwinmail.store.BlobStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link IncomingMessage#staysInMemory}, which decides what SMTP runs on the event loop: a piece of message data it
 * promises stays in memory must never open a file (the event loop must not wait for the disk), and the first piece
 * that would open one must be refused (it goes to the session's thread).
 */
class IncomingMessageTest {
  private static final String TRACE = "Received: from client.example ([127.0.0.1]) by mx.test with ESMTP;"
      + " Sat, 5 Dec 2026 12:00:00 +0000\r\n";

  @TempDir
  Path dir;

  private List<Path> filesBeingWritten() throws IOException {
    try (Stream<Path> s = Files.list(dir.resolve("tmp"))) {
      return s.toList();
    }
  }

  private static byte[] piece(int n) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) 'x');
    b[n - 2] = '\r';
    b[n - 1] = '\n';
    return b;
  }

  @Test
  void aPieceIsInMemoryExactlyUntilOneWouldOpenAFile() throws Exception {
    BlobStore blobs = new BlobStore(dir);
    IncomingMessage m = new IncomingMessage(blobs.create(), TRACE, 10L * BlobStore.SMALL, 100, headers -> "");
    byte[] header = "Subject: pieces\r\nFrom: a@client.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    assertThat(m.staysInMemory(header.length, true)).isTrue();
    m.write(header);
    byte[] piece = piece(1000);
    int inMemory = 0;
    while (m.staysInMemory(piece.length, true)) {
      m.write(piece);
      inMemory++;
      assertThat(filesBeingWritten()).as("after %d pieces said to stay in memory", inMemory).isEmpty();
    }
    // As many pieces as fit in the 64 KB buffer beside the trace and the header section.
    assertThat(inMemory).isEqualTo((BlobStore.SMALL - TRACE.length() - header.length) / piece.length);
    m.write(piece);
    assertThat(filesBeingWritten()).as("the piece refused").hasSize(1);
    m.abort();
    assertThat(filesBeingWritten()).isEmpty();
  }

  @Test
  void theHeaderSectionsEndStaysOutWhileHeadersMayBeAdded() throws Exception {
    BlobStore blobs = new BlobStore(dir);
    // Submission adds Date: and Message-ID: where missing, and checks From: against the account (a directory read).
    IncomingMessage m = new IncomingMessage(blobs.create(), TRACE, 10L * BlobStore.SMALL, 100,
        headers -> "Date: Sat, 5 Dec 2026 12:00:00 +0000\r\n");
    byte[] firstLine = "Subject: pieces\r\n".getBytes(StandardCharsets.US_ASCII);
    assertThat(m.staysInMemory(firstLine.length, false)).as("the header section may end here").isFalse();
    m.write(firstLine);
    m.write("\r\n".getBytes(StandardCharsets.US_ASCII));
    assertThat(m.staysInMemory(1000, false)).as("the header section is done").isTrue();
    m.abort();
  }

  @Test
  void aMessageOverTheSizeLimitIsOnlyCounted() throws Exception {
    BlobStore blobs = new BlobStore(dir);
    IncomingMessage m = new IncomingMessage(blobs.create(), TRACE, 2000, 100, headers -> "");
    m.write("Subject: big\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    byte[] piece = piece(BlobStore.SMALL);
    assertThat(m.staysInMemory(piece.length, true)).isTrue();
    m.write(piece);
    assertThat(m.tooBig()).isTrue();
    assertThat(m.staysInMemory(piece.length, true)).isTrue();
    m.write(piece);
    assertThat(filesBeingWritten()).isEmpty();
    m.abort();
  }
}
