package io.ballast.engine.nbd;

import static io.ballast.engine.nbd.Wire.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.MemoryBlockVolume;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real server on a unix socket and on TCP port 0, driven by a raw-socket client with pipelining. */
class NbdServerSocketTest {
    private static final int MIB = 1 << 20;
    private static final int BLOCK = 4096;
    private static final int DEPTH = 32;

    @TempDir
    Path dir;
    private ExecutorService pool;
    private MemoryBlockVolume disk;
    private NbdServer server;
    private Path socket;

    @BeforeEach
    void start() throws Exception {
        pool = Executors.newFixedThreadPool(4);
        disk = new MemoryBlockVolume("disk", 4 * MIB, pool);
        // Random small delays so completions (and replies) come back out of order.
        disk.interceptor(call -> CompletableFuture.runAsync(() -> { },
                CompletableFuture.delayedExecutor(ThreadLocalRandom.current().nextInt(3), TimeUnit.MILLISECONDS)));
        socket = dir.resolve("nbd.sock");
        // A stale socket file from a crashed server: bound, then closed without unlinking.
        try (ServerSocketChannel stale = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            stale.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
        server = new NbdServer(MapNbdExports.of(disk),
                NbdServerConfig.unix(socket).withTcp("127.0.0.1", 0).withWorkerThreads(2));
        server.start();
    }

    @AfterEach
    void stop() {
        server.close();
        pool.shutdownNow();
        assertFalse(Files.exists(socket), "close() removes the socket file");
    }

    @Test
    void pipelinedWritesAndReadsOverUnixSocket() throws Exception {
        roundTrip(UnixDomainSocketAddress.of(socket), 0);
    }

    @Test
    void pipelinedWritesAndReadsOverTcp() throws Exception {
        roundTrip(new InetSocketAddress("127.0.0.1", server.tcpPort()), MIB);
    }

    @Test
    void secondServerOnALiveSocketIsRefused() {
        NbdServer second = new NbdServer(MapNbdExports.of(disk), NbdServerConfig.unix(socket));
        BallastException e = assertThrows(BallastException.class, second::start);
        assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
        second.close();
        assertTrue(Files.exists(socket), "the live server's socket must stay");
    }

    private void roundTrip(SocketAddress address, long base) throws Exception {
        try (TinyNbdClient client = new TinyNbdClient(address)) {
            client.go("disk");
            assertEquals(4 * MIB, client.exportSize);
            assertEquals(0x16d, client.transmissionFlags);

            byte[][] frames = new byte[DEPTH][];
            for (int i = 0; i < DEPTH; i++) {
                frames[i] = write(i % 2, 100 + i, base + (long) i * BLOCK, pattern(BLOCK, i));
            }
            client.send(frames);
            Map<Long, Long> errors = new HashMap<>();
            for (int i = 0; i < DEPTH; i++) {
                long[] r = client.reply();
                errors.put(r[1], r[0]);
            }
            assertEquals(DEPTH, errors.size());
            errors.values().forEach(e -> assertEquals(0L, e));

            for (int i = 0; i < DEPTH; i++) {
                frames[i] = request(0, 0, 200 + i, base + (long) i * BLOCK, BLOCK);
            }
            client.send(frames);
            Map<Long, byte[]> data = new HashMap<>();
            for (int i = 0; i < DEPTH; i++) {
                long[] r = client.reply();
                assertEquals(0, r[0]);
                ByteBuffer payload = client.read(BLOCK);
                data.put(r[1], payload.array());
            }
            for (int i = 0; i < DEPTH; i++) {
                assertArrayEquals(pattern(BLOCK, i), data.get(200L + i), "block " + i);
            }
            client.send(request(0, 2, 999, 0, 0)); // DISC
            assertTrue(client.closedByServer());
        }
        NbdStats stats = server.stats();
        assertEquals(2L * DEPTH + 1, stats.requests());
        assertEquals((long) DEPTH * BLOCK, stats.bytesRead());
        assertEquals((long) DEPTH * BLOCK, stats.bytesWritten());
        assertEquals(0, stats.errors());
    }
}
