package org.darwinmail.s3;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * AWS Signature Version 4 for S3, header-based ("Signing AWS API requests", "Create a canonical request" and
 * "Authenticating Requests: Using the Authorization Header" in the S3 API reference). No I/O: the caller gives the
 * method, the encoded path and query, the headers to sign and the payload's SHA-256, and gets the Authorization value.
 */
final class SigV4 {
  static final String ALGORITHM = "AWS4-HMAC-SHA256";
  /** SHA-256 of nothing: the payload hash of GET, HEAD, DELETE. */
  static final String EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  static final DateTimeFormatter AMZ_DATE = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);
  private static final HexFormat HEX = HexFormat.of();

  private SigV4() {}

  /**
   * The Authorization header's value. {@code headers} are every header to sign (at least host, x-amz-date and
   * x-amz-content-sha256), names in any case; {@code canonicalQuery} is already sorted and encoded
   * ({@link #query}).
   */
  static String authorization(Credentials c, String region, String method, String encodedPath,
      String canonicalQuery, Map<String, String> headers, String payloadSha256, ZonedDateTime now) {
    TreeMap<String, String> h = new TreeMap<>();
    headers.forEach((k, v) -> h.put(k.toLowerCase(Locale.ROOT), v.strip().replaceAll(" +", " ")));
    StringBuilder canonicalHeaders = new StringBuilder();
    h.forEach((k, v) -> canonicalHeaders.append(k).append(':').append(v).append('\n'));
    String signed = String.join(";", h.keySet());
    String canonicalRequest = method + "\n" + encodedPath + "\n" + canonicalQuery + "\n" + canonicalHeaders + "\n"
        + signed + "\n" + payloadSha256;
    String amzDate = now.withZoneSameInstant(ZoneOffset.UTC).format(AMZ_DATE);
    String day = amzDate.substring(0, 8);
    String scope = day + "/" + region + "/s3/aws4_request";
    String toSign = ALGORITHM + "\n" + amzDate + "\n" + scope + "\n" + HEX.formatHex(sha256(canonicalRequest));
    byte[] key = hmac(("AWS4" + c.secretKey()).getBytes(StandardCharsets.UTF_8), day);
    key = hmac(key, region);
    key = hmac(key, "s3");
    key = hmac(key, "aws4_request");
    String signature = HEX.formatHex(hmac(key, toSign));
    return ALGORITHM + " Credential=" + c.accessKey() + "/" + scope + ", SignedHeaders=" + signed + ", Signature="
        + signature;
  }

  /** The canonical query string: parameters sorted by name, names and values URI-encoded ('/' too). */
  static String query(Map<String, String> params) {
    TreeMap<String, String> sorted = new TreeMap<>();
    params.forEach((k, v) -> sorted.put(encode(k, true), encode(v, true)));
    StringBuilder sb = new StringBuilder();
    sorted.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : "&").append(k).append('=').append(v));
    return sb.toString();
  }

  /** URI encoding as SigV4 wants it: every byte but A-Z a-z 0-9 - _ . ~ as %XY (upper case); '/' kept in paths. */
  static String encode(String s, boolean slash) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      char ch = (char) (b & 0xff);
      if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'
          || ch == '.' || ch == '~' || (ch == '/' && !slash)) {
        sb.append(ch);
      } else {
        sb.append('%').append(HEX.withUpperCase().toHexDigits(b));
      }
    }
    return sb.toString();
  }

  static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] hmac(byte[] key, String data) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
