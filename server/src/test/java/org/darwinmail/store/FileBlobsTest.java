package org.darwinmail.store;

import java.nio.file.Path;

/** The blob contract on the data directory's files. */
class FileBlobsTest extends BlobBackendContract {
  @Override
  BlobStore open(Path root) {
    return new BlobStore(root, 0);
  }
}
