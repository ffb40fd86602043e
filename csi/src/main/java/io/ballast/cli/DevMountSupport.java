package io.ballast.cli;

import java.nio.file.Files;
import java.nio.file.Path;

/** Whether this machine can mount a dev volume (FUSE file + loop device + mount need root). */
final class DevMountSupport {
    private DevMountSupport() {}

    /** Null when it can, else what is missing, for a person to read. */
    static String missing() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "root";
        }
        if (!Files.exists(Path.of("/dev/fuse"))) {
            return "/dev/fuse";
        }
        if (!Files.exists(Path.of("/dev/loop-control"))) {
            return "loop devices (/dev/loop-control)";
        }
        for (String tool : new String[] {"mkfs.ext4", "mount", "blkid"}) {
            boolean found = false;
            for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
                found |= Files.isExecutable(Path.of(dir, tool));
            }
            if (!found) {
                return tool + " (e2fsprogs / util-linux)";
            }
        }
        return null;
    }
}
