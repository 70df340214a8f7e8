package org.darwinmail.config;

/**
 * @param certFile PEM certificate chain; empty means the self-signed one generated under data_dir/tls
 * @param keyFile  PEM private key (PKCS#8 or traditional)
 */
public record TlsConfig(String certFile, String keyFile) {
  public TlsConfig {
    certFile = certFile == null ? "" : certFile;
    keyFile = keyFile == null ? "" : keyFile;
    if (certFile.isEmpty() != keyFile.isEmpty()) {
      throw new ConfigException("tls: cert_file and key_file go together");
    }
  }
}
