package io.ballast.engine.fuse;

import io.ballast.engine.attach.LoopDevices;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Last-resort cleanup for privileged tests, so a failing test leaves no mount behind: lazily
 * unmounts every mount point under a directory (deepest first) and aborts FUSE connections that
 * are still mounted there, turning any stuck I/O into errors.
 */
public final class HostCleanup {
    private HostCleanup() {
    }

    /** Mount points at or under {@code dir}, from /proc/self/mountinfo, deepest (latest) first. */
    public static List<Path> mountsUnder(Path dir) throws IOException {
        Path root = dir.toRealPath();
        List<Path> found = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            Path mp = Path.of(f[4].replace("\\040", " "));
            if (mp.startsWith(root)) {
                found.add(0, mp);
            }
        }
        return found;
    }

    /** The FUSE connection numbers (/sys/fs/fuse/connections/N) of mounts under {@code dir}. */
    static List<String> fuseConnectionsUnder(Path dir) throws IOException {
        Path root = dir.toRealPath();
        List<String> found = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (Path.of(f[4]).startsWith(root) && f[dash + 1].startsWith("fuse")) {
                found.add(f[2].substring(f[2].indexOf(':') + 1)); // st_dev minor = connection id
            }
        }
        return found;
    }

    /**
     * Removes everything a test may have left under {@code dir}, in the order that cannot hang:
     * filesystems on loop devices first (lazy unmount), then loop devices backed by files under
     * {@code dir}, then FUSE connections mounted there (aborted, then lazily unmounted).
     */
    public static void unmountUnder(Path dir) {
        try {
            if (!Files.exists(dir)) {
                return;
            }
            List<String> fuse = fuseConnectionsUnder(dir);
            List<Path> fuseMounts = fuseMountsUnder(dir);
            for (Path mp : mountsUnder(dir)) {
                if (!fuseMounts.contains(mp)) {
                    run("umount", "-l", mp.toString());
                }
            }
            for (int n : LoopDevices.boundUnder(dir.toRealPath())) {
                run("losetup", "-d", "/dev/loop" + n);
            }
            for (String conn : fuse) {
                Path abort = Path.of("/sys/fs/fuse/connections", conn, "abort");
                if (Files.exists(abort)) {
                    Files.writeString(abort, "1");
                }
            }
            for (Path mp : fuseMounts) {
                run("umount", "-l", mp.toString());
            }
        } catch (IOException e) {
            throw new IllegalStateException("cleanup of mounts under " + dir + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static List<Path> fuseMountsUnder(Path dir) throws IOException {
        Path root = dir.toRealPath();
        List<Path> found = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            int dash = List.of(f).indexOf("-");
            if (Path.of(f[4]).startsWith(root) && f[dash + 1].startsWith("fuse")) {
                found.add(Path.of(f[4]));
            }
        }
        return found;
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        new ProcessBuilder(cmd).inheritIO().start().waitFor();
    }
}
