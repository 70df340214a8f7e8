package org.darwinmail.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Where message bodies are kept ({@code [blobs]}; ARCHITECTURE.md, "The storage seam").
 *
 * @param backend         {@code files} (the default: {@code data_dir/blobs/}) or {@code s3} (an S3 bucket; the
 *                        rest of the data directory stays local, the intake journal included)
 * @param endpoint        S3 only: {@code https://HOST[:PORT]} (or {@code http://} on a network you trust: the
 *                        requests are signed, not encrypted), no path
 * @param bucket          S3 only: the bucket, which belongs to this data directory alone (the start-up sweep
 *                        deletes every object named like a blob that no message refers to)
 * @param region          S3 only: the region the requests are signed for ({@code us-east-1} by default; MinIO and
 *                        S3Proxy accept it)
 * @param credentialsFile S3 only: a file with {@code aws_access_key_id = ...} and {@code aws_secret_access_key =
 *                        ...} lines (the AWS credentials file's form), readable by the server, kept out of this file
 * @param pathStyle       S3 only: true for {@code endpoint/bucket/key} (MinIO, Ceph, S3Proxy), false (the default,
 *                        AWS) for {@code bucket.endpoint/key}
 * @param cacheMb         S3 only: local copies of bodies read as files (IMAP's large FETCH, POP3's RETR) are kept
 *                        up to this size (MiB) in {@code data_dir/blobs/cache/}, least recently used first out
 */
public record BlobsConfig(String backend, String endpoint, String bucket, String region, String credentialsFile,
    Boolean pathStyle, Long cacheMb) {
  public static final String FILES = "files";
  public static final String S3 = "s3";
  /** S3's bucket naming rules: 3-63 lower-case letters, digits, dots and hyphens, a letter or digit at each end. */
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");
  private static final Pattern REGION = Pattern.compile("[a-z0-9-]{1,32}");

  public BlobsConfig {
    backend = backend == null ? FILES : backend;
    endpoint = endpoint == null ? "" : endpoint;
    bucket = bucket == null ? "" : bucket;
    region = region == null ? "" : region;
    credentialsFile = credentialsFile == null ? "" : credentialsFile;
    switch (backend) {
      case FILES -> {
        if (!endpoint.isEmpty() || !bucket.isEmpty() || !region.isEmpty() || !credentialsFile.isEmpty()
            || pathStyle != null || cacheMb != null) {
          throw new ConfigException("blobs: endpoint, bucket, region, credentials_file, path_style and cache_mb"
              + " apply to backend = \"s3\" only");
        }
        pathStyle = false;
        cacheMb = 0L;
      }
      case S3 -> {
        region = region.isEmpty() ? "us-east-1" : region;
        pathStyle = pathStyle != null && pathStyle;
        cacheMb = cacheMb == null ? 1024L : cacheMb;
        Checks.range("blobs.cache_mb", cacheMb, 1, 10_000_000);
        checkEndpoint("blobs.endpoint", endpoint);
        if (!BUCKET.matcher(bucket).matches() || bucket.contains("..")) {
          throw new ConfigException("blobs.bucket: \"" + bucket + "\" is not a bucket name (3-63 lower-case"
              + " letters, digits, dots and hyphens, a letter or digit at each end)");
        }
        if (!REGION.matcher(region).matches()) {
          throw new ConfigException("blobs.region: \"" + region + "\" is not a region name (such as us-east-1)");
        }
        if (credentialsFile.isEmpty()) {
          throw new ConfigException("blobs: backend = \"s3\" needs credentials_file");
        }
        if (!Files.isRegularFile(Path.of(credentialsFile)) || !Files.isReadable(Path.of(credentialsFile))) {
          throw new ConfigException("blobs.credentials_file: " + credentialsFile + " is not a readable file");
        }
      }
      default -> throw new ConfigException("blobs.backend: \"" + backend + "\" is not a backend (\"files\" or"
          + " \"s3\")");
    }
  }

  /** An S3 endpoint: {@code https://HOST[:PORT]} or {@code http://...}, no path; {@code key} names it in errors. */
  static void checkEndpoint(String key, String endpoint) {
    URI u;
    try {
      u = new URI(endpoint);
    } catch (URISyntaxException e) {
      throw new ConfigException(key + ": \"" + endpoint + "\" is not a URL");
    }
    if (u.getScheme() == null || !(u.getScheme().equals("https") || u.getScheme().equals("http"))
        || u.getHost() == null || u.getUserInfo() != null || u.getQuery() != null || u.getFragment() != null
        || !(u.getRawPath() == null || u.getRawPath().isEmpty() || u.getRawPath().equals("/"))) {
      throw new ConfigException(key + ": \"" + endpoint + "\" is not https://HOST[:PORT] (or http://)");
    }
  }

  public static BlobsConfig defaults() {
    return new BlobsConfig(null, null, null, null, null, null, null);
  }

  public boolean s3() {
    return backend.equals(S3);
  }

  public long cacheBytes() {
    return cacheMb << 20;
  }
}
