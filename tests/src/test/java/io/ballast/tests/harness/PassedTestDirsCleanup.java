package io.ballast.tests.harness;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Deletes the folders a test class made with {@link TestDirs#fresh} once the class is done and none
 * of its tests failed. Kept, a whole suite's folders took 14 GiB under tests/target/it (Raft logs,
 * stores, fio files) on a disk shared with everything else; a failed class keeps its own, since
 * the nodes' logs in them are what one reads first.
 *
 * <p>Every test class of this module gets it through JUnit's extension autodetection (the service
 * file under src/test/resources/META-INF/services, switched on by failsafe's system property
 * {@code junit.jupiter.extensions.autodetection.enabled}). Classes run one after another, so the
 * folders made since the last class ended are this class's.
 */
public final class PassedTestDirsCleanup implements TestWatcher, AfterAllCallback {
    private static volatile boolean failed;

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        failed = true;
    }

    @Override
    public void afterAll(ExtensionContext context) {
        boolean keep = failed || context.getExecutionException().isPresent();
        failed = false;
        for (Path dir : TestDirs.takeCreated()) {
            if (keep) {
                System.out.println("kept for reading: " + dir);
                continue;
            }
            try {
                TestDirs.deleteTree(dir);
            } catch (UncheckedIOException e) { // e.g. a mount a test could not undo: say so, do not fail a passed class
                System.out.println("could not delete " + dir + ": " + e.getCause());
            }
        }
    }
}
