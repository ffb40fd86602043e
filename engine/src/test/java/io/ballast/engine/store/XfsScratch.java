package io.ballast.engine.store;

import io.ballast.engine.fuse.HostRequirements;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A scratch xfs filesystem with reflink, on a loop device over a sparse image file, for tests of
 * what only a filesystem that shares extents does. Needs root, loop devices and mkfs.xfs: without
 * them the test skips, or fails under CI=true ({@link HostRequirements}). Closing unmounts it and
 * deletes the image, also after a failed test.
 */
public final class XfsScratch implements AutoCloseable {
    private final Path image;
    private final Path mount;

    private XfsScratch(Path image, Path mount) {
        this.image = image;
        this.mount = mount;
    }

    /** Makes and mounts a filesystem of {@code bytes} (sparse: it takes what is written) under {@code parent}. */
    public static XfsScratch mount(Path parent, long bytes) throws IOException, InterruptedException {
        HostRequirements.require("0".equals(run(List.of("id", "-u")).trim()), "root to mount a scratch xfs filesystem");
        HostRequirements.requireLoop();
        HostRequirements.requireTool("mkfs.xfs", "xfsprogs");
        Path image = parent.resolve("xfs.img");
        Path mount = Files.createDirectories(parent.resolve("xfs"));
        try (var raf = new java.io.RandomAccessFile(image.toFile(), "rw")) {
            raf.setLength(bytes);
        }
        run(List.of("mkfs.xfs", "-q", "-f", "-m", "reflink=1", image.toString()));
        run(List.of("mount", "-o", "loop", image.toString(), mount.toString()));
        return new XfsScratch(image, mount);
    }

    /** The mounted filesystem's root. */
    public Path root() {
        return mount;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        try {
            try {
                run(List.of("umount", mount.toString()));
            } catch (IOException busy) {
                // A closed store's checksum table stays mapped until the JVM collects it: detach the
                // mount now, the kernel drops it when the last mapping goes.
                run(List.of("umount", "-l", mount.toString()));
            }
        } finally {
            Files.deleteIfExists(image);
        }
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.trim());
        }
        return out;
    }
}
