package io.ballast.tests.history;

import io.ballast.tests.harness.RawNbdClient;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Clients that hammer a few blocks of one NBD export with unique-value writes (FUA) and reads,
 * each on its own connection, one request at a time, and record every operation in a {@link
 * History}. Half the writes are followed at once by a read of the same block, where a lost or
 * stale write shows soonest.
 *
 * <p>A client whose connection fails (its node killed, restarting, or the volume not attached
 * yet) records the request in flight as indeterminate when it was a write, waits a little and
 * connects again, to whatever socket {@code socket} names then. Errors in NBD replies are counted;
 * the test decides whether they are expected (they are, while a majority is down).
 */
public final class HistoryClients implements AutoCloseable {
    private final History history;
    private final Supplier<Path> socket;
    private final String export;
    private final int blocks;
    private final long blockStride;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    /** Completion time of the latest successful operation, and the longest gap between two (nanos). */
    private final AtomicLong lastSuccess = new AtomicLong(System.nanoTime());
    private final AtomicLong longestGap = new AtomicLong();
    private final List<Thread> threads = new ArrayList<>();
    private final List<RawNbdClient> open = new ArrayList<>();

    /**
     * @param blocks how many distinct blocks the clients share (fewer: more contention)
     * @param blockStride bytes between two used blocks, so they fall in different regions of the store
     */
    public HistoryClients(History history, Supplier<Path> socket, String export, int clients, int blocks,
            long blockStride, long seed) {
        this(history, socket, export, 0, clients, blocks, blockStride, seed);
    }

    /**
     * As above, the clients numbered from {@code firstClient}: several sets (one per node of a
     * multi-writer volume) record into one history.
     */
    public HistoryClients(History history, Supplier<Path> socket, String export, int firstClient, int clients, int blocks,
            long blockStride, long seed) {
        this.history = history;
        this.socket = socket;
        this.export = export;
        this.blocks = blocks;
        this.blockStride = blockStride;
        for (int c = firstClient; c < firstClient + clients; c++) {
            int client = c;
            Random random = new Random(seed * 1000 + c);
            Thread t = new Thread(() -> run(client, random), "history-client-" + c);
            t.setDaemon(true);
            threads.add(t);
        }
    }

    public HistoryClients start() {
        lastSuccess.set(System.nanoTime());
        threads.forEach(Thread::start);
        return this;
    }

    private void run(int client, Random random) {
        while (running.get()) {
            RawNbdClient nbd = null;
            try {
                nbd = connect();
                while (running.get()) {
                    int block = random.nextInt(blocks);
                    if (random.nextBoolean()) {
                        write(nbd, client, block);
                        if (random.nextBoolean()) {
                            read(nbd, client, block);
                        }
                    } else {
                        read(nbd, client, block);
                    }
                }
            } catch (IOException | RuntimeException e) {
                if (running.get()) {
                    reconnects.incrementAndGet();
                    pause(200);
                }
            } finally {
                if (nbd != null) {
                    closeQuietly(nbd);
                }
            }
        }
    }

    private void closeQuietly(RawNbdClient nbd) {
        synchronized (open) {
            open.remove(nbd);
        }
        try {
            nbd.close();
        } catch (IOException e) {
            // already broken
        }
    }

    private RawNbdClient connect() throws IOException {
        RawNbdClient nbd = RawNbdClient.connect(socket.get());
        synchronized (open) {
            open.add(nbd);
        }
        try {
            return nbd.handshake(export);
        } catch (IOException e) {
            closeQuietly(nbd);
            throw e;
        }
    }

    private void write(RawNbdClient nbd, int client, int block) throws IOException {
        long value = history.nextValue();
        long invoked = System.nanoTime();
        try {
            nbd.request(1 /* FUA */, RawNbdClient.CMD_WRITE, value, offset(block), BlockValues.BLOCK,
                    BlockValues.encode(block, value));
            RawNbdClient.Reply reply = nbd.reply(0);
            long done = System.nanoTime();
            if (reply.error() != 0) {
                errors.incrementAndGet();
                history.add(new HistoryOp(HistoryOp.Kind.WRITE, client, block, value, invoked, HistoryOp.NEVER));
                pause(50);
                return;
            }
            history.add(new HistoryOp(HistoryOp.Kind.WRITE, client, block, value, invoked, done));
            succeeded(done);
        } catch (IOException e) {
            history.add(new HistoryOp(HistoryOp.Kind.WRITE, client, block, value, invoked, HistoryOp.NEVER));
            throw e;
        }
    }

    private void read(RawNbdClient nbd, int client, int block) throws IOException {
        long invoked = System.nanoTime();
        nbd.request(0, RawNbdClient.CMD_READ, -1, offset(block), BlockValues.BLOCK, null);
        RawNbdClient.Reply reply = nbd.reply(BlockValues.BLOCK);
        long done = System.nanoTime();
        if (reply.error() != 0) {
            errors.incrementAndGet();
            pause(50);
            return;
        }
        history.add(new HistoryOp(HistoryOp.Kind.READ, client, block, BlockValues.decode(block, reply.data()), invoked, done));
        succeeded(done);
    }

    /** One read of every block, in turn, on a fresh connection: the final state, recorded like any read. */
    public void readAll(int client) throws IOException {
        RawNbdClient nbd = connect();
        try {
            for (int b = 0; b < blocks; b++) {
                read(nbd, client, b);
            }
        } finally {
            closeQuietly(nbd);
        }
    }

    private long offset(int block) {
        return block * blockStride;
    }

    private void succeeded(long at) {
        long previous = lastSuccess.getAndSet(at);
        longestGap.accumulateAndGet(at - previous, Math::max);
    }

    public long errors() {
        return errors.get();
    }

    public long reconnects() {
        return reconnects.get();
    }

    /** The longest time no client operation succeeded, in milliseconds. */
    public long longestUnavailableMs() {
        return longestGap.get() / 1_000_000;
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops the clients: a request still waiting for its reply is recorded as indeterminate. */
    @Override
    public void close() {
        running.set(false);
        List<RawNbdClient> all;
        synchronized (open) {
            all = new ArrayList<>(open);
        }
        all.forEach(this::closeQuietly);
        for (Thread t : threads) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
