package io.ballast.engine.attach;

import io.ballast.engine.nbd.MapNbdExports;
import io.ballast.engine.nbd.NbdServer;
import io.ballast.engine.nbd.NbdServerConfig;
import io.ballast.engine.store.NodeDirectory;
import io.ballast.engine.volume.LocalBlockVolume;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** A {@link LocalBlockVolume} exported by our own {@link NbdServer} on a unix socket, restartable. */
final class NbdTestServer implements AutoCloseable {
    final NodeDirectory node;
    final ExecutorService io = Executors.newFixedThreadPool(2);
    final LocalBlockVolume volume;
    final MapNbdExports exports = new MapNbdExports();
    final Path socket;
    private NbdServer server;

    NbdTestServer(Path dir, String volumeName, long size) {
        node = NodeDirectory.openOrFormat(dir.resolve("node"), "cluster", "node-1");
        volume = new LocalBlockVolume(volumeName, node.createVolume(volumeName, size), io);
        exports.add(volume);
        socket = dir.resolve("nbd.sock");
        start();
    }

    void start() {
        server = new NbdServer(exports, NbdServerConfig.unix(socket).withWorkerThreads(1));
        server.start();
    }

    /** Closes the server (every connection drops, as on a crash of the node process). */
    void stop() {
        server.close();
    }

    int openConnections() {
        return server.openConnections();
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            volume.close();
            node.close();
            io.shutdownNow();
        }
    }
}
