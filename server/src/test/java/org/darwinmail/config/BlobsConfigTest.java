package org.darwinmail.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The [blobs] section: files by default, S3 with every key checked at load, naming the key. */
class BlobsConfigTest {
  @TempDir Path dir;

  private ServerConfig load(String blobs) throws Exception {
    Path f = dir.resolve("darwinmail.toml");
    Files.writeString(f, "[blobs]\n" + blobs.replace("CREDS", dir.resolve("creds").toString()) + "\n");
    return ConfigLoader.load(f);
  }

  private String s3(String endpoint, String bucket, String extra) {
    return "backend = \"s3\"\nendpoint = \"" + endpoint + "\"\nbucket = \"" + bucket + "\"\n"
        + "credentials_file = \"CREDS\"\n" + extra;
  }

  @Test
  void filesIsTheDefaultAndTakesNoS3Keys() throws Exception {
    assertThat(ServerConfig.defaults(dir).blobs().backend()).isEqualTo("files");
    assertThat(load("backend = \"files\"").blobs().s3()).isFalse();
    assertThatThrownBy(() -> load("bucket = \"mail\"")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("s3\" only");
    assertThatThrownBy(() -> load("backend = \"ftp\"")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("blobs.backend");
    assertThatThrownBy(() -> load("backend = \"files\"\nsecret = \"x\"")).isInstanceOf(ConfigException.class)
        .hasMessageContaining("unknown key").hasMessageContaining("secret");
  }

  @Test
  void anS3BackendIsCheckedKeyByKey() throws Exception {
    Files.writeString(dir.resolve("creds"), "aws_access_key_id = a\naws_secret_access_key = b\n");
    BlobsConfig b = load(s3("https://s3.example.test:9000", "mail-bodies", "path_style = true")).blobs();
    assertThat(b.s3()).isTrue();
    assertThat(b.region()).isEqualTo("us-east-1");
    assertThat(b.pathStyle()).isTrue();
    assertThat(b.cacheBytes()).isEqualTo(1024L << 20);
    assertThat(load(s3("http://127.0.0.1:8080/", "mail", "region = \"eu-west-1\"")).blobs().region())
        .isEqualTo("eu-west-1");

    for (String endpoint : new String[] {"s3.example.test", "ftp://s3.example.test", "https://s3.example.test/bucket",
        "https://user:pw@s3.example.test", "https://s3.example.test?x=1", "https:// bad"}) {
      assertThatThrownBy(() -> load(s3(endpoint, "mail", ""))).isInstanceOf(ConfigException.class)
          .as(endpoint).hasMessageContaining("blobs.endpoint");
    }
    for (String bucket : new String[] {"ab", "Mail", "-mail", "mail-", "mail..bodies", "mail_bodies", "x".repeat(64)}) {
      assertThatThrownBy(() -> load(s3("https://s3.example.test", bucket, ""))).isInstanceOf(ConfigException.class)
          .as(bucket).hasMessageContaining("blobs.bucket");
    }
    assertThatThrownBy(() -> load(s3("https://s3.example.test", "mail", "region = \"EU West\"")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("blobs.region");
    assertThatThrownBy(() -> load(s3("https://s3.example.test", "mail", "cache_mb = 0")))
        .isInstanceOf(ConfigException.class).hasMessageContaining("blobs.cache_mb");
    Files.delete(dir.resolve("creds"));
    assertThatThrownBy(() -> load(s3("https://s3.example.test", "mail", ""))).isInstanceOf(ConfigException.class)
        .hasMessageContaining("blobs.credentials_file").hasMessageContaining("not a readable file");
    assertThatThrownBy(() -> load("backend = \"s3\"\nendpoint = \"https://s3.example.test\"\nbucket = \"mail\""))
        .isInstanceOf(ConfigException.class).hasMessageContaining("needs credentials_file");
  }
}
