package io.ballast.tests.harness;

import io.ballast.replication.testing.FreePorts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A class-data-sharing archive of the classes a {@code ballast node} loads, made once per built
 * jar and mapped by every JVM the integration tests start. The suite starts hundreds of node and
 * CLI JVMs on 2 cores: with the archive a node is ready in ~1.2 s instead of ~2.2 s, and a CLI
 * call costs ~0.5 s less CPU (measured on this machine).
 *
 * <p>The archive is made by one JVM that runs a node until it is ready and then stops it cleanly
 * ({@code -XX:ArchiveClassesAtExit}, JDK 19+), written under another name and moved into place,
 * so no JVM ever maps a half-written file. It lives beside the jar and is made again when the jar
 * is newer. Should making it fail, the tests run without it (slower, the same otherwise).
 *
 * <p>The JVM's CDS log lines are off: the JDK's own base archive was made without
 * {@code --enable-native-access}, so every JVM that maps an archive prints three "error" lines
 * about it (and goes on, without the optimized module handling), which would mix into what the
 * CLI prints and tests read.
 */
final class ClassDataArchive {
    private static List<String> options;

    private ClassDataArchive() {
    }

    /**
     * JVM options that map the archive (empty when there is none); made on first use by
     * {@code baseCommand} (the java binary and the options every test JVM runs with) on {@code jar}.
     */
    static synchronized List<String> options(List<String> baseCommand, Path jar) {
        if (options == null) {
            Path archive = jar.resolveSibling("ballast-it.jsa");
            options = upToDate(archive, jar) || make(baseCommand, jar, archive)
                    ? List.of("-XX:SharedArchiveFile=" + archive, "-Xlog:cds*=off")
                    : List.of();
        }
        return options;
    }

    private static boolean upToDate(Path archive, Path jar) {
        try {
            return Files.isRegularFile(archive)
                    && Files.getLastModifiedTime(archive).compareTo(Files.getLastModifiedTime(jar)) > 0;
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean make(List<String> baseCommand, Path jar, Path archive) {
        Path dir = null;
        Process node = null;
        try {
            dir = Files.createTempDirectory(jar.getParent(), "cds-training");
            Path partial = dir.resolve("archive.jsa");
            Path log = dir.resolve("node.log");
            List<String> cmd = new ArrayList<>(baseCommand);
            cmd.add(1, "-XX:ArchiveClassesAtExit=" + partial);
            cmd.addAll(List.of("-jar", jar.toString(), "node", "--data-dir", dir.resolve("data").toString(), "--node-id", "cds",
                    "--cluster-id", "cds", "--nbd-socket", dir.resolve("nbd.sock").toString(),
                    "--raft-listen", "127.0.0.1:" + FreePorts.next(), "--admin-listen", "127.0.0.1:" + FreePorts.next()));
            node = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline && node.isAlive() && !Files.readString(log).contains("ballast node ready")) {
                Thread.sleep(50);
            }
            node.destroy(); // SIGTERM: the JVM writes the archive as it exits
            if (!node.waitFor(60, TimeUnit.SECONDS) || !Files.isRegularFile(partial)) {
                System.out.println("class-data archive not made (the tests run without it):\n" + Files.readString(log));
                return false;
            }
            Files.move(partial, archive, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            System.out.println("class-data archive not made (the tests run without it): " + e);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            if (node != null) {
                node.destroyForcibly();
            }
            if (dir != null) {
                TestDirs.deleteTree(dir);
            }
        }
    }
}
