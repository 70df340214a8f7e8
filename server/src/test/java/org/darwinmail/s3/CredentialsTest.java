package org.darwinmail.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CredentialsTest {
  @TempDir Path dir;

  private Path write(String text) throws IOException {
    return Files.writeString(dir.resolve("credentials"), text);
  }

  @Test
  void theAwsCredentialsFileFormIsRead() throws Exception {
    Credentials c = Credentials.read(write("# mail bodies\n[default]\naws_access_key_id = AKID\n"
        + "aws_secret_access_key=s3cr=et\n\n[other]\naws_access_key_id = IGNORED\n"));
    assertThat(c.accessKey()).isEqualTo("AKID");
    assertThat(c.secretKey()).isEqualTo("s3cr=et");
    assertThat(c.toString()).doesNotContain("s3cr=et");
  }

  @Test
  void aFileWithoutBothKeysOrTooLargeIsRefusedWithoutShowingTheSecret() throws Exception {
    assertThatThrownBy(() -> Credentials.read(write("aws_secret_access_key = topsecret\n")))
        .hasMessageContaining("needs aws_access_key_id").hasMessageNotContaining("topsecret");
    assertThatThrownBy(() -> Credentials.read(write("topsecret\n"))).hasMessageContaining("name = value")
        .hasMessageNotContaining("topsecret");
    assertThatThrownBy(() -> Credentials.read(write("#".repeat(Credentials.MAX_FILE + 1))))
        .hasMessageContaining("not a credentials file");
  }
}
