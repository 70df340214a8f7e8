package org.darwinmail.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.darwinmail.config.ConfigPaths;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The client's reading of a command line before it is sent, as typed, to a running server (issue 22): the
 * configuration file in every form picocli accepts, stdin use, and the lines it leaves to picocli.
 */
class TypedLineTest {
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      # line                                          | config                          | reads stdin
      user list                                       | /etc/darwinmail/darwinmail.toml | false
      --config /d/a.toml user list                    | /d/a.toml                       | false
      -c /d/a.toml user list                          | /d/a.toml                       | false
      --config=/d/a.toml domain list                  | /d/a.toml                       | false
      -c=/d/a.toml domain list                        | /d/a.toml                       | false
      -c/d/a.toml domain list                         | /d/a.toml                       | false
      user list --config /d/a.toml                    | /d/a.toml                       | false
      user add a@b.test --password-stdin -c /d/a.toml | /d/a.toml                       | true
      alias add x@b.test -- --password-stdin          | /etc/darwinmail/darwinmail.toml | false
      queue list                                      | /etc/darwinmail/darwinmail.toml | false
      """)
  void forwardable(String line, String config, boolean stdin) {
    assertThat(TypedLine.scan(line.split(" "))).isEqualTo(new TypedLine(Path.of(config), stdin));
    assertThat(ConfigPaths.DEFAULT_FILE).isEqualTo("/etc/darwinmail/darwinmail.toml");
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      # line: parsed by picocli first
      serve
      --config /d/a.toml serve
      --version
      -V
      --help
      user list --help
      user -h
      --config /d/a.toml
      user list --config
      --verbose user list
      @args.txt
      -- user list
      user list --config=
      """)
  void leftToPicocli(String line) {
    assertThat(TypedLine.scan(line.split(" "))).isNull();
  }

  /** {@code serve} with {@code --config} only starts without picocli (issue 22); any other serve line goes to it. */
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
      # line                                  | config of the picocli-free start, or - for picocli
      serve                                   | /etc/darwinmail/darwinmail.toml
      serve --config /d/a.toml                | /d/a.toml
      --config /d/a.toml serve                | /d/a.toml
      -c /d/a.toml serve                      | /d/a.toml
      serve --config=/d/a.toml                | /d/a.toml
      serve -c/d/a.toml                       | /d/a.toml
      serve --help                            | -
      serve -h                                | -
      serve serve                             | -
      serve --config                          | -
      serve --config=                         | -
      serve extra                             | -
      --verbose serve                         | -
      @args.txt                               | -
      user list                               | -
      --config /d/a.toml                      | -
      """)
  void serveLine(String line, String config) {
    assertThat(TypedLine.serveConfig(line.split(" "))).isEqualTo(config == null ? null : Path.of(config));
  }
}
