package org.darwinmail.admin.web;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The wizard warns when the host name given resolves to a loopback address here (other servers cannot use it). */
class HostWarningsTest {
  @Test
  void aNameThatResolvesToLoopbackIsWarnedAbout() {
    assertThat(Api.hostWarnings("localhost")).singleElement().asString().contains("loopback");
  }

  @Test
  void aNameThatDoesNotResolveGetsNoWarningHere() {
    assertThat(Api.hostWarnings("mail.example.invalid")).isEmpty();
  }
}
