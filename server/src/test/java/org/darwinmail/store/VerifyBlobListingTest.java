package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What `darwinmail verify` lists under blobs/ (Verify.blobHashes); its checks against the rows are in cli.VerifyTest. */
class VerifyBlobListingTest {
  @TempDir
  Path root;

  @Test
  void blobsAreListedStrayFilesReportedAndTmpLeftAlone() throws Exception {
    String good = "ab" + "0".repeat(62);
    String misplaced = "ab" + "1".repeat(62);
    Files.createDirectories(root.resolve("ab"));
    Files.createDirectories(root.resolve("cd"));
    Files.createDirectories(root.resolve("tmp"));
    Files.writeString(root.resolve("ab").resolve(good), "x");
    Files.writeString(root.resolve("ab").resolve("notes.txt"), "x");
    Files.writeString(root.resolve("cd").resolve(misplaced), "x");
    Files.writeString(root.resolve("tmp").resolve("0f2c.tmp"), "x"); // a body being written: not a problem
    List<String> problems = new ArrayList<>();
    assertThat(Verify.blobHashes(root, problems::add)).containsExactly(good);
    assertThat(problems).containsExactlyInAnyOrder(
        "blobs/ab/notes.txt: not a blob (its name is not its SHA-256 in its folder)",
        "blobs/cd/" + misplaced + ": not a blob (its name is not its SHA-256 in its folder)");
  }

  @Test
  void aMissingFolderHasNoBlobsAndNoProblem() {
    List<String> problems = new ArrayList<>();
    assertThat(Verify.blobHashes(root.resolve("absent"), problems::add)).isEmpty();
    assertThat(problems).isEmpty();
  }
}
