package io.ballast.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.tests.harness.BallastNodeProcess;
import io.ballast.tests.harness.ExternalTool;
import io.ballast.tests.harness.TestDirs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The `ballast` command line as a user meets it: help, mistakes, and directories that are not its own. */
class NodeCliIT {

    @Test
    void helpDescribesTheCommands() {
        ExternalTool.Result top = ExternalTool.run(60, BallastNodeProcess.command("--help")).assertSuccess();
        assertTrue(top.stdout().contains("node"), top.stdout());
        ExternalTool.Result node = ExternalTool.run(60, BallastNodeProcess.command("node", "--help")).assertSuccess();
        for (String option : new String[] {"--data-dir", "--volume", "--nbd-socket", "--nbd-listen"}) {
            assertTrue(node.stdout().contains(option), "node --help should document " + option + ":\n" + node.stdout());
        }
    }

    @Test
    void mistakesAreExplainedWithExitCode2() {
        Path dir = TestDirs.fresh("cli-mistakes");
        ExternalTool.Result missing = ExternalTool.run(60, BallastNodeProcess.command("node"));
        assertEquals(2, missing.exitCode());
        assertTrue(missing.stderr().contains("--data-dir"), missing.describe());

        ExternalTool.Result badSize = ExternalTool.run(60, BallastNodeProcess.command(
                "node", "--data-dir", dir.resolve("d").toString(), "--volume", "vol1:lots"));
        assertEquals(2, badSize.exitCode());
        assertTrue(badSize.stderr().contains("vol1:lots") && badSize.stderr().contains("4G"), badSize.describe());
        assertTrue(!Files.exists(dir.resolve("d")), "a refused command line must not create the data directory");
    }

    @Test
    void readsFlagsFromAnArgumentFile() throws Exception {
        // README: flags can live in a file (`ballast node @FILE`, one per line, # comments).
        Path dir = TestDirs.fresh("cli-argfile");
        Path args = dir.resolve("node.args");
        Files.writeString(args, "# a node's flags\n--data-dir " + dir.resolve("d") + "\n--volume vol1:lots\n");
        ExternalTool.Result r = ExternalTool.run(60, BallastNodeProcess.command("node", "@" + args));
        assertEquals(2, r.exitCode(), r.describe());
        assertTrue(r.stderr().contains("vol1:lots"), "the file's --volume was read and refused:\n" + r.describe());
        assertTrue(!Files.exists(dir.resolve("d")), "a refused command line must not create the data directory");
    }

    @Test
    void refusesADirectoryThatIsNotItsOwnAndChangesNothing() throws Exception {
        Path dir = TestDirs.fresh("cli-foreign");
        Path data = dir.resolve("data");
        try (BallastNodeProcess n = new BallastNodeProcess("node1", data,
                List.of("--node-id", "n1", "--cluster-id", "c1", "--volume", "v:16M"))) {
            n.start();
            n.stopCleanly();
        }
        byte[] cookie = Files.readAllBytes(data.resolve(cookieName(data)));

        ExternalTool.Result otherNode = ExternalTool.run(60, BallastNodeProcess.command(
                "node", "--data-dir", data.toString(), "--node-id", "n2", "--cluster-id", "c1"));
        assertEquals(1, otherNode.exitCode(), otherNode.describe());
        assertTrue(otherNode.stderr().contains("FOREIGN_FORMAT") && otherNode.stderr().contains("n1"), otherNode.describe());

        Path stranger = dir.resolve("stranger");
        Files.createDirectories(stranger);
        Files.writeString(stranger.resolve("important.txt"), "not Ballast's");
        ExternalTool.Result foreign = ExternalTool.run(60, BallastNodeProcess.command(
                "node", "--data-dir", stranger.toString()));
        assertEquals(1, foreign.exitCode(), foreign.describe());
        assertTrue(foreign.stderr().contains("important.txt"), "the message should say what was found:\n" + foreign.describe());
        try (var files = Files.list(stranger)) {
            assertEquals(List.of(stranger.resolve("important.txt")), files.toList(), "nothing may be added to a foreign dir");
        }
        assertTrue(java.util.Arrays.equals(cookie, Files.readAllBytes(data.resolve(cookieName(data)))), "cookie changed");
    }

    private static String cookieName(Path data) throws Exception {
        try (var files = Files.list(data)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.contains("cookie")).findFirst()
                    .orElseThrow(() -> new AssertionError("no cookie file in " + data));
        }
    }
}
