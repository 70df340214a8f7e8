package org.darwinmail.s3;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.SAXException;

/**
 * A small S3 client over {@code java.net.http}, signed with AWS Signature V4 ({@link SigV4}): what the blob store
 * needs, and what a backup destination does (issue 18). Objects (PUT, GET streamed, HEAD, DELETE, ListObjectsV2), and
 * a file in parts ({@link #putMultipart}: CreateMultipartUpload, UploadPart, CompleteMultipartUpload, aborted on any
 * failure; ListMultipartUploads and AbortMultipartUpload for what a killed process left) for files above S3's 5 GB
 * single PUT, or large enough that one failed request should not send the whole file again.
 *
 * <p>Every PUT carries its content's SHA-256, signed, as {@code x-amz-content-sha256} (S3 refuses a body that does
 * not hash to it, {@code XAmzContentSHA256Mismatch}), and its MD5 as {@code Content-MD5} (refused as
 * {@code BadDigest}): a body damaged on the way is never stored under its name (S3ClientTest checks that S3Proxy
 * refuses each). Not {@code x-amz-checksum-sha256}: S3Proxy 2.6 answers it with 501 Not Implemented.
 *
 * <p>Bounded: a connect timeout, a timeout for each request until its answer's headers (a PUT's grows with its
 * size), error answers and listings read up to a limit, at most {@link #ATTEMPTS} attempts with a doubling
 * back-off, and only for a connection error or a 5xx answer (a 4xx is final). A GET's body is streamed to the
 * caller, who must close it.
 */
public final class S3Client implements AutoCloseable {
  static final int ATTEMPTS = 4;
  private static final Duration FIRST_BACKOFF = Duration.ofMillis(100);
  /** A ListObjectsV2 answer of 1000 keys is about 300 KB; anything past this is refused. */
  static final int MAX_LISTING = 8 * 1024 * 1024;
  private static final int MAX_ERROR_BODY = 16 * 1024;
  private static final Pattern ERROR_CODE = Pattern.compile("<Code>([^<]{1,100})</Code>");
  private static final HexFormat HEX = HexFormat.of();

  /**
   * Where the bucket is and how to reach it.
   *
   * @param endpoint  {@code http(s)://host[:port]} (no path)
   * @param pathStyle true: {@code endpoint/bucket/key} (MinIO, S3Proxy, most self-hosted servers); false:
   *                  {@code bucket.host/key} (AWS's virtual-hosted style)
   * @param timeout   for connecting, and for a request to be answered (a PUT gets one more second per MiB)
   */
  public record Settings(URI endpoint, String bucket, String region, boolean pathStyle, Credentials credentials,
      Duration timeout) {
    public Settings {
      if (endpoint.getHost() == null || !(endpoint.getScheme().equals("http") || endpoint.getScheme().equals("https"))) {
        throw new IllegalArgumentException("not an http(s) endpoint: " + endpoint);
      }
      // The Host header java.net.http sends has no default port: neither may the signed one.
      int port = endpoint.getPort();
      if ((port == 80 && endpoint.getScheme().equals("http")) || (port == 443 && endpoint.getScheme().equals("https"))) {
        port = -1;
      }
      endpoint = URI.create(endpoint.getScheme() + "://" + endpoint.getHost() + (port == -1 ? "" : ":" + port));
    }
  }

  /** An object's size and when it was last written (as the server's clock says). */
  public record Head(long size, Instant lastModified) {}

  /** One key of a listing. */
  public record Entry(String key, long size, Instant lastModified) {}

  /** One page of a listing; {@code next} is null on the last. */
  public record Listing(List<Entry> entries, String next) {}

  private final Settings s;
  private final HttpClient http;
  private final Clock clock;

  public S3Client(Settings settings) {
    this(settings, Clock.systemUTC());
  }

  S3Client(Settings settings, Clock clock) {
    this.s = settings;
    this.clock = clock;
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(settings.timeout())
        .followRedirects(HttpClient.Redirect.NEVER).build();
  }

  public Settings settings() {
    return s;
  }

  // ---- operations ------------------------------------------------------------------------------------------------

  /**
   * Stores a file under {@code key}; {@code sha256} is its content's digest, which the server checks. The file must
   * not change during the call (it is read again on a retry).
   */
  public void put(String key, Path file, byte[] sha256, byte[] md5, long size) throws IOException {
    put(key, () -> HttpRequest.BodyPublishers.ofFile(file), sha256, md5, size);
  }

  /** Stores bytes under {@code key} with their digest (checked by the server). */
  public void put(String key, byte[] bytes, byte[] sha256, byte[] md5) throws IOException {
    put(key, () -> HttpRequest.BodyPublishers.ofByteArray(bytes), sha256, md5, bytes.length);
  }

  private interface Body {
    HttpRequest.BodyPublisher publisher() throws IOException;
  }

  private void put(String key, Body body, byte[] sha256, byte[] md5, long size) throws IOException {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("content-md5", Base64.getEncoder().encodeToString(md5));
    h.put("content-type", "application/octet-stream");
    Duration timeout = s.timeout().plusSeconds(size >> 20);
    send("PUT " + key, () -> request("PUT", key, Map.of(), h, HEX.formatHex(sha256), timeout)
        .method("PUT", body.publisher()).build(), HttpResponse.BodyHandlers.ofInputStream(), true).body().close();
  }

  // ---- multipart upload (S3 API reference: CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
  //      AbortMultipartUpload, ListMultipartUploads) --------------------------------------------------------------

  /** S3's smallest part but the last (UploadPart: "Each part must be at least 5 MB in size, except the last"). */
  public static final long MIN_PART = 5L << 20;
  /** S3's largest part, and its most parts in one upload. */
  public static final long MAX_PART = 5L << 30;
  public static final int MAX_PARTS = 10_000;
  /** Longest answer read from CreateMultipartUpload / CompleteMultipartUpload (a few hundred bytes in practice). */
  private static final int MAX_SMALL_ANSWER = 64 * 1024;
  private static final Pattern UPLOAD_ID = Pattern.compile("<UploadId>([^<]{1,1024})</UploadId>");

  /** Called after each part is stored (progress; a test's hook): throwing fails the upload, which is aborted. */
  @FunctionalInterface
  public interface PartDone {
    void done(int part, long bytesSoFar) throws IOException;
  }

  /** One upload in progress: its key and id. */
  public record Upload(String key, String uploadId) {}

  /**
   * Stores {@code file} ({@code size} bytes) under {@code key} in parts of {@code partSize} bytes (the last smaller),
   * each streamed from the file with its own SHA-256 and MD5 (computed by reading its range first; the server
   * checks both, as for {@link #put}), so memory is one copy buffer whatever the size. The parts are read in order
   * and the whole file's SHA-256 is computed on the way; {@code expectedSha256} (null: none) is compared with it
   * before CompleteMultipartUpload, so an object whose content is not the expected one is never completed. On any
   * failure the upload is aborted (AbortMultipartUpload: no parts stay stored, billed and invisible) and the
   * failure thrown. Returns the file's SHA-256.
   */
  public byte[] putMultipart(String key, Path file, long size, long partSize, byte[] expectedSha256, PartDone after)
      throws IOException {
    if (partSize < MIN_PART || partSize > MAX_PART) {
      throw new IllegalArgumentException("a part is 5 MiB to 5 GiB, not " + partSize + " bytes");
    }
    long parts = Math.max(1, (size + partSize - 1) / partSize);
    if (parts > MAX_PARTS) {
      throw new IOException(key + ": " + size + " bytes in parts of " + partSize + " is more than " + MAX_PARTS
          + " parts");
    }
    String id = createMultipartUpload(key);
    try {
      MessageDigest whole = digest("SHA-256");
      List<String> etags = new ArrayList<>();
      byte[] buf = new byte[64 * 1024];
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        for (int n = 1; n <= parts; n++) {
          long offset = (n - 1) * partSize;
          long length = Math.min(partSize, size - offset);
          MessageDigest sha = digest("SHA-256");
          MessageDigest md5 = digest("MD5");
          ByteBuffer bb = ByteBuffer.wrap(buf);
          for (long pos = offset, end = offset + length; pos < end; ) {
            bb.clear().limit((int) Math.min(buf.length, end - pos));
            int r = ch.read(bb, pos);
            if (r < 0) {
              throw new IOException(file + " became shorter than " + size + " bytes while uploaded");
            }
            sha.update(buf, 0, r);
            md5.update(buf, 0, r);
            whole.update(buf, 0, r);
            pos += r;
          }
          etags.add(uploadPart(key, id, n, file, offset, length, sha.digest(), md5.digest()));
          if (after != null) {
            after.done(n, offset + length);
          }
        }
      }
      byte[] hash = whole.digest();
      if (expectedSha256 != null && !MessageDigest.isEqual(hash, expectedSha256)) {
        throw new IOException(key + ": the file does not hash to the expected SHA-256 (changed while uploaded)");
      }
      completeMultipartUpload(key, id, etags);
      return hash;
    } catch (IOException | RuntimeException e) {
      try {
        abortMultipartUpload(key, id);
      } catch (IOException | RuntimeException x) {
        e.addSuppressed(x); // the upload stays pending: listMultipartUploads finds it for the next attempt
      }
      throw e;
    }
  }

  /** CreateMultipartUpload ({@code POST /key?uploads}): the new upload's id. */
  public String createMultipartUpload(String key) throws IOException {
    Map<String, String> h = Map.of("content-type", "application/octet-stream");
    HttpResponse<InputStream> r = send("CREATE UPLOAD " + key, () -> request("POST", key, Map.of("uploads", ""), h,
        SigV4.EMPTY_SHA256, s.timeout()).POST(HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofInputStream(), true);
    String xml = small(r);
    Matcher m = UPLOAD_ID.matcher(xml);
    if (!m.find()) {
      throw new IOException("CREATE UPLOAD " + key + ": no UploadId in the answer");
    }
    return unescape(m.group(1));
  }

  /**
   * UploadPart ({@code PUT /key?partNumber=N&uploadId=ID}) of {@code length} bytes of {@code file} from
   * {@code offset}, streamed (read again on a retry), with their SHA-256 (signed) and MD5: the part's ETag.
   */
  String uploadPart(String key, String uploadId, int part, Path file, long offset, long length, byte[] sha256,
      byte[] md5) throws IOException {
    Map<String, String> q = new LinkedHashMap<>();
    q.put("partNumber", Integer.toString(part));
    q.put("uploadId", uploadId);
    Map<String, String> h = new LinkedHashMap<>();
    h.put("content-md5", Base64.getEncoder().encodeToString(md5));
    Duration timeout = s.timeout().plusSeconds(length >> 20);
    HttpResponse<InputStream> r = send("UPLOAD PART " + part + " of " + key, () -> request("PUT", key, q, h,
        HEX.formatHex(sha256), timeout).method("PUT", HttpRequest.BodyPublishers.fromPublisher(
            HttpRequest.BodyPublishers.ofInputStream(() -> range(file, offset, length)), length)).build(),
        HttpResponse.BodyHandlers.ofInputStream(), true);
    r.body().close();
    return r.headers().firstValue("etag").orElseThrow(() -> new IOException("UPLOAD PART " + part + " of " + key
        + ": no ETag in the answer"));
  }

  /** {@code length} bytes of {@code file} from {@code offset}, as a stream (one part's body). */
  private static InputStream range(Path file, long offset, long length) {
    try {
      FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
      ch.position(offset);
      return new java.io.FilterInputStream(Channels.newInputStream(ch)) {
        private long left = length;

        @Override
        public int read() throws IOException {
          if (left <= 0) {
            return -1;
          }
          int b = super.read();
          if (b >= 0) {
            left--;
          }
          return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
          if (left <= 0) {
            return -1;
          }
          int n = super.read(b, off, (int) Math.min(len, left));
          if (n > 0) {
            left -= n;
          }
          return n;
        }
      };
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * CompleteMultipartUpload ({@code POST /key?uploadId=ID} with the parts' numbers and ETags). S3 may answer 200
   * and still fail ("the response body might contain an error": the S3 API reference): such a body is a failure.
   */
  void completeMultipartUpload(String key, String uploadId, List<String> etags) throws IOException {
    StringBuilder b = new StringBuilder("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    for (int i = 0; i < etags.size(); i++) {
      b.append("<Part><PartNumber>").append(i + 1).append("</PartNumber><ETag>").append(escape(etags.get(i)))
          .append("</ETag></Part>");
    }
    byte[] body = b.append("</CompleteMultipartUpload>").toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String sha = HEX.formatHex(digest("SHA-256").digest(body));
    Map<String, String> h = new LinkedHashMap<>();
    h.put("content-md5", Base64.getEncoder().encodeToString(digest("MD5").digest(body)));
    h.put("content-type", "application/xml");
    HttpResponse<InputStream> r = send("COMPLETE UPLOAD " + key, () -> request("POST", key,
        Map.of("uploadId", uploadId), h, sha, s.timeout().multipliedBy(4)).POST(
            HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofInputStream(), true);
    String xml = small(r);
    if (xml.contains("<Error>")) {
      Matcher m = ERROR_CODE.matcher(xml);
      throw new S3Exception("COMPLETE UPLOAD " + key, r.statusCode(), m.find() ? m.group(1) : "");
    }
  }

  /** AbortMultipartUpload ({@code DELETE /key?uploadId=ID}): the parts stored so far are deleted. */
  public void abortMultipartUpload(String key, String uploadId) throws IOException {
    HttpResponse<InputStream> r = send("ABORT UPLOAD " + key, () -> request("DELETE", key,
        Map.of("uploadId", uploadId), Map.of(), SigV4.EMPTY_SHA256, s.timeout()).DELETE().build(),
        HttpResponse.BodyHandlers.ofInputStream(), false); // 404 NoSuchUpload: gone already
    r.body().close();
  }

  /** ListMultipartUploads ({@code GET /?uploads&prefix=P}): the uploads in progress under {@code prefix}. */
  public List<Upload> listMultipartUploads(String prefix) throws IOException {
    List<Upload> out = new ArrayList<>();
    String keyMarker = null;
    String idMarker = null;
    for (int page = 0; page < 10_000; page++) {
      Map<String, String> q = new LinkedHashMap<>();
      q.put("uploads", "");
      q.put("prefix", prefix);
      if (keyMarker != null) {
        q.put("key-marker", keyMarker);
        q.put("upload-id-marker", idMarker == null ? "" : idMarker);
      }
      HttpResponse<InputStream> r = send("LIST UPLOADS " + prefix, () -> request("GET", "", q, Map.of(),
          SigV4.EMPTY_SHA256, s.timeout()).GET().build(), HttpResponse.BodyHandlers.ofInputStream(), true);
      byte[] xml;
      try (InputStream in = r.body()) {
        xml = in.readNBytes(MAX_LISTING + 1);
      }
      if (xml.length > MAX_LISTING) {
        throw new IOException("LIST UPLOADS " + prefix + ": the answer is larger than " + MAX_LISTING + " bytes");
      }
      Element root = parse(xml, "LIST UPLOADS").getDocumentElement();
      NodeList uploads = root.getElementsByTagName("Upload");
      for (int i = 0; i < uploads.getLength(); i++) {
        Element u = (Element) uploads.item(i);
        String key = text(u, "Key");
        String id = text(u, "UploadId");
        if (key != null && id != null) {
          out.add(new Upload(key, id));
        }
      }
      String truncated = text(root, "IsTruncated");
      if (truncated == null || !truncated.strip().equalsIgnoreCase("true")) {
        return out;
      }
      keyMarker = text(root, "NextKeyMarker");
      idMarker = text(root, "NextUploadIdMarker");
      if (keyMarker == null || keyMarker.isEmpty()) {
        throw new IOException("LIST UPLOADS: a truncated answer without a next marker");
      }
    }
    throw new IOException("LIST UPLOADS " + prefix + ": more than 10,000 pages");
  }

  private static String small(HttpResponse<InputStream> r) throws IOException {
    try (InputStream in = r.body()) {
      return new String(in.readNBytes(MAX_SMALL_ANSWER), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }

  private static String unescape(String s) {
    return s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
  }

  private static MessageDigest digest(String algorithm) {
    try {
      return MessageDigest.getInstance(algorithm);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The object's content, streamed; {@link NoSuchFileException} when there is no such key. Close it. */
  public InputStream get(String key) throws IOException {
    HttpResponse<InputStream> r = send("GET " + key, () -> request("GET", key, Map.of(), Map.of(),
        SigV4.EMPTY_SHA256, s.timeout()).GET().build(), HttpResponse.BodyHandlers.ofInputStream(), false);
    if (r.statusCode() == 404) {
      r.body().close();
      throw new NoSuchFileException(key);
    }
    return r.body();
  }

  /** The object's size and time, or null when there is no such key. */
  public Head head(String key) throws IOException {
    HttpResponse<InputStream> r = send("HEAD " + key, () -> request("HEAD", key, Map.of(), Map.of(),
        SigV4.EMPTY_SHA256, s.timeout()).method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
        HttpResponse.BodyHandlers.ofInputStream(), false);
    r.body().close();
    if (r.statusCode() == 404) {
      return null;
    }
    long size = r.headers().firstValueAsLong("content-length").orElse(-1);
    return new Head(size, lastModified(r.headers().firstValue("last-modified").orElse(null)));
  }

  /** Deletes the object; a missing one is no error (S3 answers 204 either way). */
  public void delete(String key) throws IOException {
    HttpResponse<InputStream> r = send("DELETE " + key, () -> request("DELETE", key, Map.of(), Map.of(),
        SigV4.EMPTY_SHA256, s.timeout()).DELETE().build(), HttpResponse.BodyHandlers.ofInputStream(), false);
    r.body().close();
  }

  /** One page (up to 1000 keys) of the keys under {@code prefix}, from {@code token} (null: the first page). */
  public Listing list(String prefix, String token) throws IOException {
    Map<String, String> q = new LinkedHashMap<>();
    q.put("list-type", "2");
    q.put("prefix", prefix);
    q.put("max-keys", "1000");
    if (token != null) {
      q.put("continuation-token", token);
    }
    HttpResponse<InputStream> r = send("LIST " + prefix, () -> request("GET", "", q, Map.of(), SigV4.EMPTY_SHA256,
        s.timeout()).GET().build(), HttpResponse.BodyHandlers.ofInputStream(), true);
    byte[] xml;
    try (InputStream in = r.body()) {
      xml = in.readNBytes(MAX_LISTING + 1);
    }
    if (xml.length > MAX_LISTING) {
      throw new IOException("LIST " + prefix + ": the answer is larger than " + MAX_LISTING + " bytes");
    }
    return parseListing(xml);
  }

  /** Creates the bucket (for tests and set-up; an existing bucket of this owner is no error). */
  public void createBucket() throws IOException {
    try {
      send("PUT bucket", () -> request("PUT", "", Map.of(), Map.of(), SigV4.EMPTY_SHA256, s.timeout())
          .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofInputStream(), true)
          .body().close();
    } catch (S3Exception e) {
      if (!e.code().equals("BucketAlreadyOwnedByYou")) {
        throw e;
      }
    }
  }

  // ---- the request -----------------------------------------------------------------------------------------------

  private interface Request {
    HttpRequest build() throws IOException;
  }

  /**
   * Sends with retries: a connection error or a 5xx is tried again after a doubling back-off, up to
   * {@link #ATTEMPTS}; a 4xx other than 404 is an {@link S3Exception} at once, and so is a 404 when
   * {@code notFoundIsError}.
   */
  private <T extends InputStream> HttpResponse<T> send(String what, Request req, HttpResponse.BodyHandler<T> handler,
      boolean notFoundIsError) throws IOException {
    Duration backoff = FIRST_BACKOFF;
    for (int attempt = 1; ; attempt++) {
      IOException failure;
      try {
        HttpResponse<T> r = http.send(req.build(), handler);
        int status = r.statusCode();
        if (status / 100 == 2 || (status == 404 && !notFoundIsError)) {
          return r;
        }
        S3Exception e = error(what, r);
        if (status / 100 != 5) {
          throw e;
        }
        failure = e;
      } catch (S3Exception e) {
        throw e;
      } catch (java.net.http.HttpTimeoutException e) {
        failure = new IOException(what + ": no answer within the timeout", e);
      } catch (IOException e) {
        failure = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException(what + ": interrupted");
      }
      if (attempt == ATTEMPTS) {
        throw failure;
      }
      try {
        Thread.sleep(backoff.toMillis() + ThreadLocalRandom.current().nextLong(backoff.toMillis()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException(what + ": interrupted");
      }
      backoff = backoff.multipliedBy(2);
    }
  }

  private static S3Exception error(String what, HttpResponse<? extends InputStream> r) throws IOException {
    byte[] body;
    try (InputStream in = r.body()) {
      body = in.readNBytes(MAX_ERROR_BODY);
    }
    Matcher m = ERROR_CODE.matcher(new String(body, java.nio.charset.StandardCharsets.UTF_8));
    return new S3Exception(what, r.statusCode(), m.find() ? m.group(1) : "");
  }

  /** A signed request for {@code key} (empty: the bucket itself) with the query {@code q}. */
  private HttpRequest.Builder request(String method, String key, Map<String, String> q, Map<String, String> extra,
      String payloadSha256, Duration timeout) {
    URI e = s.endpoint();
    String host = e.getHost() + (e.getPort() == -1 ? "" : ":" + e.getPort());
    String path;
    if (s.pathStyle()) {
      path = "/" + SigV4.encode(s.bucket(), true) + "/" + SigV4.encode(key, false);
    } else {
      host = s.bucket() + "." + host;
      path = "/" + SigV4.encode(key, false);
    }
    String query = SigV4.query(q);
    ZonedDateTime now = ZonedDateTime.now(clock);
    Map<String, String> signed = new LinkedHashMap<>(extra);
    signed.put("host", host);
    signed.put("x-amz-date", now.withZoneSameInstant(java.time.ZoneOffset.UTC).format(SigV4.AMZ_DATE));
    signed.put("x-amz-content-sha256", payloadSha256);
    String auth = SigV4.authorization(s.credentials(), s.region(), method, path, query, signed, payloadSha256, now);
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(e.getScheme() + "://" + host + path
        + (query.isEmpty() ? "" : "?" + query))).timeout(timeout).header("authorization", auth);
    signed.forEach((k, v) -> {
      if (!k.equals("host")) {
        b.header(k, v);
      }
    });
    return b;
  }

  private static Instant lastModified(String v) {
    if (v == null) {
      return null;
    }
    try {
      return ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  /** A ListObjectsV2 answer: {@code <Contents><Key/><Size/><LastModified/></Contents>...<NextContinuationToken/>}. */
  static Listing parseListing(byte[] xml) throws IOException {
    Document doc = parse(xml, "LIST");
    List<Entry> entries = new ArrayList<>();
    NodeList contents = doc.getDocumentElement().getElementsByTagName("Contents");
    for (int i = 0; i < contents.getLength(); i++) {
      Element c = (Element) contents.item(i);
      String key = text(c, "Key");
      if (key == null) {
        continue;
      }
      long size;
      try {
        size = Long.parseLong(String.valueOf(text(c, "Size")).strip());
      } catch (NumberFormatException e) {
        size = -1;
      }
      Instant t = null;
      String lm = text(c, "LastModified");
      if (lm != null) {
        try {
          t = Instant.parse(lm.strip());
        } catch (DateTimeParseException e) {
          // left unknown
        }
      }
      entries.add(new Entry(key, size, t));
    }
    String truncated = text(doc.getDocumentElement(), "IsTruncated");
    String next = text(doc.getDocumentElement(), "NextContinuationToken");
    boolean more = truncated != null && truncated.strip().toLowerCase(Locale.ROOT).equals("true");
    if (more && (next == null || next.isEmpty())) {
      throw new IOException("LIST: a truncated answer without a continuation token");
    }
    return new Listing(entries, more ? next : null);
  }

  /** An S3 XML answer, parsed without DTDs or entities. */
  private static Document parse(byte[] xml, String what) throws IOException {
    try {
      DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
      f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
      f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
      f.setExpandEntityReferences(false);
      f.setNamespaceAware(false);
      var builder = f.newDocumentBuilder();
      builder.setErrorHandler(new org.xml.sax.helpers.DefaultHandler()); // errors are thrown, not printed
      return builder.parse(new ByteArrayInputStream(xml));
    } catch (ParserConfigurationException | SAXException e) {
      throw new IOException(what + ": not an S3 answer: " + e.getMessage(), e);
    }
  }

  private static String text(Element parent, String tag) {
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element el && el.getTagName().equals(tag)) {
        return el.getTextContent();
      }
    }
    return null;
  }

  @Override
  public void close() {
    http.close();
  }
}
