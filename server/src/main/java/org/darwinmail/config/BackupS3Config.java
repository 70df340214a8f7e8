package org.darwinmail.config;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;
import org.darwinmail.s3.Credentials;
import org.darwinmail.s3.S3Client;
import org.darwinmail.store.BucketBackup;

/**
 * How backups reach a bucket ({@code [backup.s3]}; ARCHITECTURE.md, "Backups"): the endpoint and key of the
 * S3-compatible server that {@code s3://BUCKET/PREFIX} destinations ({@code backup create}, {@code [backup] folder})
 * name. The same keys as {@code [blobs]}' S3 settings; a backup bucket is another bucket (or another prefix) than
 * the blobs' one.
 *
 * @param endpoint        {@code https://HOST[:PORT]} (or {@code http://} on a network you trust), no path
 * @param region          the region the requests are signed for ({@code us-east-1} by default)
 * @param credentialsFile a file with {@code aws_access_key_id = ...} and {@code aws_secret_access_key = ...}
 * @param pathStyle       true for {@code endpoint/bucket/key} (MinIO, Ceph, S3Proxy), false (AWS) for
 *                        {@code bucket.endpoint/key}
 */
public record BackupS3Config(String endpoint, String region, String credentialsFile, Boolean pathStyle) {
  public static final String SCHEME = "s3://";
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  private static final Pattern REGION = Pattern.compile("[a-z0-9-]{1,32}");
  /** A prefix: path segments of letters, digits, '.', '_', '-' (no "..", no empty segment), at most 200 characters. */
  private static final Pattern PREFIX = Pattern.compile("[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  public BackupS3Config {
    endpoint = endpoint == null ? "" : endpoint.strip();
    region = region == null || region.isBlank() ? "us-east-1" : region.strip();
    credentialsFile = credentialsFile == null ? "" : credentialsFile.strip();
    pathStyle = pathStyle != null && pathStyle;
    if (!endpoint.isEmpty()) {
      BlobsConfig.checkEndpoint("backup.s3.endpoint", endpoint);
    }
    if (!REGION.matcher(region).matches()) {
      throw new ConfigException("backup.s3.region: \"" + region + "\" is not a region name (such as us-east-1)");
    }
  }

  public static BackupS3Config defaults() {
    return new BackupS3Config(null, null, null, null);
  }

  /** Whether {@code destination} names a bucket ({@code s3://...}) rather than a folder. */
  public static boolean isBucket(String destination) {
    return destination != null && destination.startsWith(SCHEME);
  }

  /**
   * The bucket destination {@code s3://BUCKET[/PREFIX]} reached with these settings; a {@link ConfigException}
   * naming what is wrong (the destination's form, a missing endpoint or credentials file, an unreadable one).
   */
  public BucketBackup.Target target(String destination) {
    if (!isBucket(destination)) {
      throw new ConfigException("\"" + destination + "\" is not s3://BUCKET[/PREFIX]");
    }
    String rest = destination.substring(SCHEME.length());
    int slash = rest.indexOf('/');
    String bucket = slash < 0 ? rest : rest.substring(0, slash);
    String prefix = slash < 0 ? "" : rest.substring(slash + 1);
    while (prefix.endsWith("/")) {
      prefix = prefix.substring(0, prefix.length() - 1);
    }
    if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
      throw new ConfigException("\"" + destination + "\": \"" + bucket + "\" is not a bucket name (3-63 lower-case"
          + " letters, digits, dots and hyphens, a letter or digit at each end)");
    }
    if (!prefix.isEmpty() && (prefix.length() > 200 || !PREFIX.matcher(prefix).matches()
        || java.util.List.of(prefix.split("/")).contains(".."))) {
      throw new ConfigException("\"" + destination + "\": the prefix \"" + prefix + "\" is not path segments of"
          + " letters, digits, '.', '_' and '-' (at most 200 characters)");
    }
    if (endpoint.isEmpty() || credentialsFile.isEmpty()) {
      throw new ConfigException("backups to " + destination + " need [backup.s3] endpoint and credentials_file in"
          + " the settings");
    }
    Path file = Path.of(credentialsFile);
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw new ConfigException("backup.s3.credentials_file: " + credentialsFile + " is not a readable file");
    }
    Credentials c;
    try {
      c = Credentials.read(file);
    } catch (IOException e) {
      throw new ConfigException("backup.s3.credentials_file: " + e.getMessage(), e);
    }
    return new BucketBackup.Target(new S3Client.Settings(URI.create(endpoint), bucket, region, pathStyle, c, TIMEOUT),
        prefix);
  }
}
