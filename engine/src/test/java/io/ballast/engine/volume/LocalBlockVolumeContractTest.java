package io.ballast.engine.volume;

import io.ballast.engine.store.LocalBlockStore;
import io.ballast.engine.store.NodeDirectory;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** The contract on a real local store; subclasses may put a layer on top (encryption). */
public class LocalBlockVolumeContractTest extends BlockVolumeContractTest {
    @TempDir
    Path tmp;

    private NodeDirectory node;
    private ExecutorService io;

    @Override
    protected BlockVolume newVolume(long sizeBytes) {
        node = NodeDirectory.openOrFormat(tmp.resolve("node"), "cluster", "node-1");
        io = Executors.newFixedThreadPool(4);
        LocalBlockStore store = node.createVolume("pvc-1", sizeBytes);
        return new LocalBlockVolume("pvc-1", store, io);
    }

    @AfterEach
    void closeNode() {
        node.close();
        io.shutdown();
    }
}
