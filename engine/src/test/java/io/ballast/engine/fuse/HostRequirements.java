package io.ballast.engine.fuse;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Checks for privileged tests: root, /dev/fuse, loop devices, tools. Missing ones skip the test
 * with a message saying what it needs; under {@code CI=true} they fail it instead, so CI cannot
 * pass by skipping.
 */
public final class HostRequirements {
    private HostRequirements() {
    }

    public static void require(boolean present, String what) {
        if (present) {
            return;
        }
        String message = "this test needs " + what;
        if ("true".equals(System.getenv("CI"))) {
            fail(message + " (CI=true: missing privileges or tools are a failure)");
        }
        assumeTrue(false, message + "; skipping");
    }

    public static void requireRootAndFuse() {
        require(isRoot(), "root (CAP_SYS_ADMIN) to mount FUSE filesystems");
        require(Files.isReadable(Path.of("/dev/fuse")) && Files.isWritable(Path.of("/dev/fuse")),
                "/dev/fuse (the fuse kernel module; in a container: --device /dev/fuse)");
    }

    public static void requireLoop() {
        require(Files.exists(Path.of("/dev/loop-control")), "/dev/loop-control (the loop kernel module)");
    }

    public static void requireTool(String tool, String debianPackage) {
        boolean found = Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/usr/bin", tool))
                || Files.isExecutable(Path.of("/sbin", tool));
        require(found, tool + " (apt-get install -y " + debianPackage + ")");
    }

    static boolean isRoot() {
        try {
            Process p = new ProcessBuilder("id", "-u").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor();
            return out.equals("0");
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
