package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.darwinmail.DarwinMail;
import org.darwinmail.config.ConfigLoader;
import org.darwinmail.testing.S3Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code backup create} with the bodies in a bucket: refused in one line, nothing written, rather than a backup
 * without bodies that its own verify would call damaged (the bucket is issue 18's next destination).
 */
class BackupS3Test {
  @TempDir Path dir;

  @Test
  void aBackupOfADataDirectoryWhoseBodiesAreInABucketIsRefused() throws Exception {
    S3Server s3 = S3Server.shared();
    Path c = CliTest.config(dir);
    Files.writeString(c, Files.readString(c) + "[blobs]\nbackend = \"s3\"\nendpoint = \"" + s3.endpoint()
        + "\"\nbucket = \"" + s3.newBucket() + "\"\ncredentials_file = \"" + s3.credentialsFile()
        + "\"\npath_style = true\n");
    try (var s = DarwinMail.Services.open(ConfigLoader.load(c))) {
      s.directory().addDomain("one.test");
    }
    Path backups = dir.resolve("backups");
    String[] r = CliTest.run("", "--config", c.toString(), "backup", "create", backups.toString());
    assertThat(r[0]).isEqualTo("1");
    assertThat(r[2]).startsWith("darwinmail: the message bodies are in an S3 bucket").endsWith("\n");
    assertThat(backups).doesNotExist();
  }
}
