package org.darwinmail.errors;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import org.junit.jupiter.api.Test;

/** Issue 23: errors people read say what happened, never a Java class name. */
class ErrorsTest {
  @Test
  void fileAndNetworkErrorsInPlainWords() {
    assertThat(Errors.describe(new AccessDeniedException("/srv/var"))).isEqualTo("permission denied: /srv/var");
    assertThat(Errors.reason(new AccessDeniedException("/srv/var"))).isEqualTo("permission denied");
    assertThat(Errors.describe(new FileSystemException("/srv/var", null, "Read-only file system")))
        .isEqualTo("read-only file system: /srv/var");
    assertThat(Errors.describe(new java.net.UnknownHostException("mx.example"))).isEqualTo("host not found: mx.example");
    assertThat(Errors.describe(new java.io.EOFException())).isEqualTo("the connection closed unexpectedly");
    assertThat(Errors.describe(new IOException())).isEqualTo("input/output error");
  }

  @Test
  void unexpectedErrorsShowTheirMessageNotTheirClass() {
    assertThat(Errors.plain(new UncheckedIOException("cannot open the intake journal /srv/var/intake",
        new AccessDeniedException("/srv/var/intake/0001.seg"))))
        .isEqualTo("cannot open the intake journal /srv/var/intake: permission denied: /srv/var/intake/0001.seg");
    assertThat(Errors.plain(new RuntimeException(new IllegalStateException("the pool is closed"))))
        .isEqualTo("the pool is closed");
    assertThat(Errors.plain(new NullPointerException())).isEqualTo("internal error (the log has the details)");
  }
}
