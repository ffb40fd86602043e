package io.ballast.tests.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Tests that make kernel block devices and mount filesystems (FUSE + loop) need root,
 * {@code /dev/fuse} and {@code /dev/loop-control}. Elsewhere they are skipped with a message saying
 * what is missing; under {@code CI=true} as root a missing piece is a failure, so they never
 * silently stop running where CI runs them.
 */
public final class Privileged {
    private Privileged() {}

    public static void requireFuseAndLoop() {
        String missing = null;
        long uid = new com.sun.security.auth.module.UnixSystem().getUid();
        if (uid != 0) {
            missing = "root (running as uid " + uid + ")";
        } else if (!Files.exists(Path.of("/dev/fuse"))) {
            missing = "/dev/fuse (modprobe fuse)";
        } else if (!Files.exists(Path.of("/dev/loop-control"))) {
            missing = "/dev/loop-control (modprobe loop)";
        }
        if (missing == null) {
            return;
        }
        String msg = "kernel block device tests (FUSE + loop, mkfs, mount) need " + missing;
        if ("true".equals(System.getenv("CI")) && uid == 0) {
            fail(msg + " (CI runs as root, so this must work there)");
        }
        Assumptions.abort(msg);
    }
}
