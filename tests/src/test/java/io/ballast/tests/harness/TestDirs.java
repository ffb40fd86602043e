package io.ballast.tests.harness;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Per-test working folders under {@code tests/target/it/} (on the build's disk, so benchmarks
 * and sparse-file checks see a real filesystem, and a failed run leaves its logs to read).
 * Unix socket paths must stay under 108 bytes, which is why the root is short and relative to
 * the module. A class whose tests all passed has its folders deleted after it
 * ({@link PassedTestDirsCleanup}).
 */
public final class TestDirs {
    private static final Set<Path> CREATED = ConcurrentHashMap.newKeySet();

    private TestDirs() {
    }

    public static Path fresh(String name) {
        Path dir = Path.of("target", "it", name).toAbsolutePath();
        deleteTree(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        CREATED.add(dir);
        return dir;
    }

    /** The folders {@link #fresh} made since the last call. */
    static List<Path> takeCreated() {
        List<Path> dirs = new ArrayList<>();
        for (Path dir : List.copyOf(CREATED)) {
            if (CREATED.remove(dir)) {
                dirs.add(dir);
            }
        }
        return dirs;
    }

    public static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.delete(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.delete(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Bytes actually allocated on disk under a path (what `du` says, not the apparent size). */
    public static long allocatedBytes(Path path) {
        ExternalTool.Result r = ExternalTool.run(60, "du", "-s", "-B1", path.toString()).assertSuccess();
        return Long.parseLong(r.stdout().trim().split("\\s+")[0]);
    }
}
