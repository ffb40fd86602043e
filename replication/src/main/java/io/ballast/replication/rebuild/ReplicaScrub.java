package io.ballast.replication.rebuild;

import io.ballast.engine.store.LocalBlockStore;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.client.RaftClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrub of one replica: verifies every block's checksum, {@link #STEP_BLOCKS} blocks at a time,
 * and repairs the bad ones from peers through {@link BlockRepairer} (same correctness argument).
 * Memory is bounded whatever the volume size: the store verifies through one 1 MiB buffer, and
 * repairs move one block at a time. One scrub runs per replica at a time, on the node's background
 * pool; its progress is part of {@link IntegrityStatus}. Threading: thread-safe.
 */
public final class ReplicaScrub {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaScrub.class);
    /** 8 MiB of blocks per step: a concurrent read repair waits at most one step's verify. */
    static final long STEP_BLOCKS = 2048;

    private final LocalReplica replica;
    private final BlockRepairer repairer;
    private final Executor executor;
    private final AtomicLong bytesDone = new AtomicLong();
    private final AtomicLong bytesTotal = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private CompletableFuture<Void> current;

    public ReplicaScrub(LocalReplica replica, BlockRepairer repairer, Executor executor) {
        this.replica = replica;
        this.repairer = repairer;
        this.executor = executor;
    }

    /** Starts a scrub, or returns the one running; the future completes when it has covered the volume. */
    public synchronized CompletableFuture<Void> start() {
        if (current != null && !current.isDone()) {
            return current;
        }
        LocalBlockStore store = replica.store(); // FAILED_PRECONDITION now rather than in the background
        bytesTotal.set(store.size());
        bytesDone.set(0);
        current = CompletableFuture.runAsync(() -> run(store), executor);
        current.whenComplete((v, t) -> {
            if (t != null) {
                LOG.warn("volume {}: scrub stopped after {} of {} bytes: {}", replica.volumeName(), bytesDone.get(),
                        bytesTotal.get(), t.toString());
            }
        });
        return current;
    }

    private void run(LocalBlockStore store) {
        long started = System.nanoTime();
        long foundBefore = repairer.found();
        long repairedBefore = repairer.repaired();
        long blocks = bytesTotal.get() / LocalBlockStore.BLOCK_SIZE;
        LOG.info("volume {}: scrub of {} bytes started", replica.volumeName(), bytesTotal.get());
        RaftClient client = repairer.newClient();
        int left = 0;
        try {
            for (long b = 0; b < blocks; b += STEP_BLOCKS) {
                long end = Math.min(b + STEP_BLOCKS, blocks);
                left += repairer.repairRange(client, b, end, "scrub");
                bytesDone.set(end * LocalBlockStore.BLOCK_SIZE);
            }
        } finally {
            BlockRepairer.closeQuietly(client);
        }
        completed.incrementAndGet();
        LOG.info("volume {}: scrub verified {} bytes in {} ms: {} corrupt blocks, {} repaired, {} unrepairable",
                replica.volumeName(), bytesDone.get(), (System.nanoTime() - started) / 1_000_000,
                repairer.found() - foundBefore, repairer.repaired() - repairedBefore, left);
    }

    public synchronized boolean running() {
        return current != null && !current.isDone();
    }

    public long bytesDone() {
        return bytesDone.get();
    }

    public long bytesTotal() {
        return bytesTotal.get();
    }

    public long completed() {
        return completed.get();
    }
}
