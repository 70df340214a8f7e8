package org.darwinmail.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The control socket's wire format: what one side writes the other reads whole; bad input is refused, bounded. */
class ControlProtocolTest {
  @Test
  void aRequestAndAReplyComeBackAsTheyWereSent() throws IOException {
    var req = new ControlProtocol.Request(List.of("--config", "/etc/d.toml", "user", "add", "é@example.test", ""),
        "secret\n");
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    ControlProtocol.write(req, b);
    assertThat(ControlProtocol.readRequest(new ByteArrayInputStream(b.toByteArray()))).isEqualTo(req);

    var reply = new ControlProtocol.Reply(1, "", "darwinmail: no such account: x@example.test\n");
    b.reset();
    ControlProtocol.write(reply, b);
    assertThat(ControlProtocol.readReply(new ByteArrayInputStream(b.toByteArray()))).isEqualTo(reply);
  }

  @Test
  void tooManyArgumentsAHugeLengthOrACutMessageAreRefusedBeforeAllocating() throws IOException {
    assertThatThrownBy(() -> ControlProtocol.readRequest(ints(ControlProtocol.MAX_ARGS + 1)))
        .isInstanceOf(IOException.class).hasMessageContaining("argument count");
    assertThatThrownBy(() -> ControlProtocol.readRequest(ints(1, Integer.MAX_VALUE)))
        .isInstanceOf(IOException.class).hasMessageContaining("over");
    assertThatThrownBy(() -> ControlProtocol.readRequest(ints(1, -1)))
        .isInstanceOf(IOException.class).hasMessageContaining("over");
    assertThatThrownBy(() -> ControlProtocol.readReply(ints(0, 10)))
        .isInstanceOf(IOException.class).hasMessageContaining("cut short");
    // Strings that each fit but together pass the message's limit.
    int half = ControlProtocol.MAX_MESSAGE / 2 + 1;
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(b);
    d.writeInt(2);
    d.writeInt(half);
    d.write(new byte[half]);
    d.writeInt(half);
    assertThatThrownBy(() -> ControlProtocol.readRequest(new ByteArrayInputStream(b.toByteArray())))
        .isInstanceOf(IOException.class).hasMessageContaining("over");
  }

  private static ByteArrayInputStream ints(int... values) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(b);
    for (int v : values) {
      d.writeInt(v);
    }
    return new ByteArrayInputStream(b.toByteArray());
  }
}
