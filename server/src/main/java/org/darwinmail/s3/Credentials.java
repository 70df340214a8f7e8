package org.darwinmail.s3;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An access key and its secret, read from a file kept out of the configuration: the AWS credentials file's form
 * ({@code aws_access_key_id = ...} and {@code aws_secret_access_key = ...} lines; {@code [profile]} headers, blank
 * lines and {@code #} or {@code ;} comments ignored; the first value of each key counts).
 */
public record Credentials(String accessKey, String secretKey) {
  /** A credentials file is a few lines: anything larger is not one. */
  static final int MAX_FILE = 64 * 1024;

  public Credentials {
    if (accessKey == null || accessKey.isBlank() || secretKey == null || secretKey.isBlank()) {
      throw new IllegalArgumentException("an access key and a secret key are both needed");
    }
  }

  @Override
  public String toString() {
    return "Credentials[" + accessKey + ", secret hidden]"; // never the secret in a log
  }

  /** Reads a credentials file; the message of the exception names the file and what is wrong, never the secret. */
  public static Credentials read(Path file) throws IOException {
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(MAX_FILE + 1);
    }
    if (bytes.length > MAX_FILE) {
      throw new IOException(file + ": larger than " + MAX_FILE + " bytes, not a credentials file");
    }
    String access = null;
    String secret = null;
    for (String line : new String(bytes, StandardCharsets.UTF_8).split("\\R")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#") || l.startsWith(";") || l.startsWith("[")) {
        continue;
      }
      int eq = l.indexOf('=');
      if (eq < 0) {
        throw new IOException(file + ": a line is not \"name = value\"");
      }
      String k = l.substring(0, eq).strip();
      String v = l.substring(eq + 1).strip();
      if (k.equals("aws_access_key_id") && access == null) {
        access = v;
      } else if (k.equals("aws_secret_access_key") && secret == null) {
        secret = v;
      }
    }
    if (access == null || access.isEmpty() || secret == null || secret.isEmpty()) {
      throw new IOException(file + ": needs aws_access_key_id and aws_secret_access_key");
    }
    return new Credentials(access, secret);
  }
}
