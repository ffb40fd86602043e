package io.ballast.engine.crypt;

import io.ballast.engine.store.NodeDirectory;
import io.ballast.engine.volume.BlockVolume;
import io.ballast.engine.volume.BlockVolumeContractTest;
import io.ballast.engine.volume.LocalBlockVolume;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/** An encrypted volume over a real local store keeps every promise of a plain one. */
class EncryptedBlockVolumeContractTest extends BlockVolumeContractTest {
    @TempDir
    Path tmp;

    private NodeDirectory node;
    private ExecutorService io;

    @Override
    protected BlockVolume newVolume(long sizeBytes) {
        node = NodeDirectory.openOrFormat(tmp.resolve("node"), "cluster", "node-1");
        io = Executors.newFixedThreadPool(4);
        BlockVolume raw = new LocalBlockVolume("pvc-1", node.createVolume("pvc-1", sizeBytes + KeyHeaderLayout.DATA_OFFSET), io);
        return new VolumeKeys(new SecureRandom(), 1000).unlock(raw, Passphrases.of("contract")).volume();
    }

    @AfterEach
    void closeNode() {
        node.close();
        io.shutdown();
    }
}
