package org.darwinmail.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.darwinmail.s3.Credentials;
import org.darwinmail.s3.S3Client;

/**
 * A real S3 endpoint for the tests: S3Proxy (org.gaul:s3proxy, its self-contained jar copied to
 * {@code target/s3proxy/} by the pom) run as a child process of the test JVM, serving the S3 API from a temporary
 * folder (jclouds' {@code filesystem-nio2} provider) on 127.0.0.1 and a free port, with Signature V4 required and a
 * random key pair written to a credentials file ({@link #credentialsFile()}).
 *
 * <p>One per test JVM, started on first use ({@link #shared()}, about 5 s), stopped by its PID when the JVM exits,
 * its folder then removed. Each caller takes a bucket of its own ({@link #newBucket}).
 */
public final class S3Server {
  public static final String REGION = "us-east-1";
  private static S3Server shared;

  private final Path dir;
  private final int port;
  private final Process proxy;
  private final Credentials credentials;
  private final AtomicInteger buckets = new AtomicInteger();
  public final long startMillis;

  private S3Server(Path dir, int port, Process proxy, Credentials credentials, long startMillis) {
    this.dir = dir;
    this.port = port;
    this.proxy = proxy;
    this.credentials = credentials;
    this.startMillis = startMillis;
  }

  /** The endpoint of this JVM, started on the first call. */
  public static synchronized S3Server shared() {
    if (shared == null) {
      shared = start();
      S3Server s = shared;
      System.out.println("S3Proxy on 127.0.0.1:" + s.port + ", PID " + s.proxy.pid() + ", ready in " + s.startMillis
          + " ms");
      Runtime.getRuntime().addShutdownHook(new Thread(s::stop, "s3proxy-stop"));
    }
    return shared;
  }

  private static S3Server start() {
    Path jar = Path.of(System.getProperty("darwin.test.s3proxy", "target/s3proxy/s3proxy.jar"));
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException("S3Proxy's jar is missing (" + jar + "): the pom copies it at"
          + " generate-test-resources (mvn test fetches org.gaul:s3proxy from Maven Central once)");
    }
    long t0 = System.nanoTime();
    try {
      Path dir = Files.createTempDirectory("darwinmail-s3");
      Path data = Files.createDirectories(dir.resolve("data"));
      String id = "AKID" + Long.toHexString(System.nanoTime()).toUpperCase(java.util.Locale.ROOT);
      String secret = "secret-" + Long.toHexString(Double.doubleToLongBits(Math.random()));
      Credentials creds = new Credentials(id, secret);
      Files.writeString(dir.resolve("credentials"), "[default]\naws_access_key_id = " + id
          + "\naws_secret_access_key = " + secret + "\n", StandardCharsets.UTF_8);
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      for (int attempt = 1; ; attempt++) {
        int port = freePort();
        Path props = dir.resolve("s3proxy.properties");
        Files.writeString(props, String.join("\n",
            "s3proxy.endpoint=http://127.0.0.1:" + port,
            "s3proxy.authorization=aws-v4",
            "s3proxy.identity=" + id,
            "s3proxy.credential=" + secret,
            "jclouds.provider=filesystem-nio2",
            "jclouds.identity=local",
            "jclouds.credential=local",
            "jclouds.filesystem.basedir=" + data,
            "jclouds.region=" + REGION, ""), StandardCharsets.UTF_8);
        Path log = dir.resolve("s3proxy.log");
        Process p = new ProcessBuilder(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", jar.toString(),
            "--properties", props.toString())).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (waitReady(p, port)) {
          return new S3Server(dir, port, p, creds, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        if (attempt == 3) {
          throw new IllegalStateException("S3Proxy did not start: " + Files.readString(log));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot start S3Proxy: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Waits until the port accepts a connection (true), or the process exited or 60 s went by (false). */
  private static boolean waitReady(Process p, int port) throws InterruptedException {
    for (int i = 0; i < 1200; i++) {
      if (!p.isAlive()) {
        return false;
      }
      try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
        return true;
      } catch (IOException e) {
        Thread.sleep(50);
      }
    }
    return false;
  }

  public URI endpoint() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public Credentials credentials() {
    return credentials;
  }

  /** A credentials file holding this endpoint's key pair (the [blobs] credentials_file form). */
  public Path credentialsFile() {
    return dir.resolve("credentials");
  }

  /** The folder S3Proxy keeps bucket {@code b}'s objects in (one file per key). */
  public Path bucketFolder(String bucket) {
    return dir.resolve("data").resolve(bucket);
  }

  /** Settings for bucket {@code bucket} on this endpoint (path style). */
  public S3Client.Settings settings(String bucket) {
    return new S3Client.Settings(endpoint(), bucket, REGION, true, credentials, Duration.ofSeconds(10));
  }

  /** Creates an empty bucket and returns its name. */
  public String newBucket() {
    String name = "t" + ProcessHandle.current().pid() + "-" + buckets.incrementAndGet();
    try (S3Client c = new S3Client(settings(name))) {
      c.createBucket();
    } catch (IOException e) {
      throw new IllegalStateException("cannot create bucket " + name + ": " + e.getMessage(), e);
    }
    return name;
  }

  public long pid() {
    return proxy.pid();
  }

  /** SIGTERM by PID, SIGKILL after 10 s; then the folder goes. */
  public void stop() {
    try {
      if (proxy.isAlive()) {
        proxy.destroy();
        if (!proxy.waitFor(10, TimeUnit.SECONDS)) {
          proxy.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      }
      try (var s = Files.walk(dir)) {
        s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    } catch (IOException e) {
      // the temporary directory stays; nothing else depends on it
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
