package org.darwinmail.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The data directory's layout is the upgrade-by-disk-swap contract: the appliance's templates and tests name paths
 * on the data disk, and each must be one the server's {@link DataDir} names, or a disk moved to a newer appliance
 * would not hold what the new one looks for.
 */
class DataDirTest {
  /** A path under the data directory as the appliance spells it: the shell's $data, the Ansible variable, or literal. */
  private static final Pattern UNDER_DATA = Pattern.compile(
      "(?:\\$data|\\{\\{ darwinmail_data_dir }}|/var/lib/darwinmail)/([A-Za-z0-9._+-]+)");

  @Test
  void everyPathTheApplianceNamesOnTheDataDiskIsInTheServersLayout() throws IOException {
    Path repo = Path.of("").toAbsolutePath().getParent(); // tests run in server/
    List<Path> files = new ArrayList<>();
    for (String dir : List.of("ansible/roles", "tests/appliance")) {
      try (Stream<Path> s = Files.walk(repo.resolve(dir))) {
        s.filter(p -> p.toString().endsWith(".j2") || p.toString().endsWith(".py")).forEach(files::add);
      }
    }
    assertThat(files).isNotEmpty();
    List<String> named = new ArrayList<>();
    for (Path f : files) {
      Matcher m = UNDER_DATA.matcher(Files.readString(f));
      while (m.find()) {
        String name = m.group(1);
        named.add(name + " (" + repo.relativize(f) + ")");
        if (!name.equals("lost+found")) { // ext4's, on the data disk's file system
          assertThat(DataDir.NAMES).as("%s names %s under the data directory", repo.relativize(f), name)
              .contains(name);
        }
      }
    }
    assertThat(named).as("the templates name paths on the data disk").isNotEmpty();
  }

  @Test
  void theNamedPathsAreUnderTheRoot() {
    DataDir d = DataDir.of(Path.of("/data"));
    assertThat(List.of(d.db(), d.blobs(), d.intake(), d.dkim(), d.backup(), d.settings(), d.format(), d.derbyLog(),
        d.tlsCert().getParent(), d.controlSocket().getParent()))
        .allSatisfy(p -> assertThat(DataDir.NAMES).contains(p.getFileName().toString()));
  }

  @Test
  void theControlClientFindsTheSocketWhereTheServerMakesIt() {
    Path root = Path.of("/var/lib/darwinmail");
    assertThat(org.darwinmail.admin.ControlProtocol.socketPath(root)).isEqualTo(DataDir.of(root).controlSocket());
  }
}
