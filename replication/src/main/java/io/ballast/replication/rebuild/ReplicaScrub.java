package io.ballast.replication.rebuild;

import io.ballast.engine.store.LocalBlockStore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import org.apache.ratis.client.RaftClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrub of one replica: verifies every block's checksum, {@link #STEP_BLOCKS} blocks at a time,
 * and repairs the bad ones from peers through {@link BlockRepairer} (same correctness argument).
 * Memory is bounded whatever the volume size: the store verifies through one 1 MiB buffer, and
 * repairs move one block at a time. One scrub runs per replica at a time; its progress is part of
 * {@link IntegrityStatus}.
 *
 * <p>After the volume's blocks, the {@link ScrubExtension} checks the replica's snapshot copies.
 *
 * <p>Two kinds of pass. One asked for ({@link #start()}, {@code ballast volume scrub}) covers the
 * whole volume at full speed on the node's background pool. One the {@link ScrubSchedule} starts
 * ({@link #startScheduled}) is paced, runs on the schedule's own thread (so hours of it never hold
 * a rebuild's thread), and goes on where a node stop interrupted the last one. Either way a
 * finished pass is written to the replica's {@link ScrubRecord}. Threading: thread-safe.
 */
public final class ReplicaScrub {
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaScrub.class);
    /** 8 MiB of blocks per step: a concurrent read repair waits at most one step's verify. */
    static final long STEP_BLOCKS = 2048;
    /** A paced pass notes where it is this often, so a crash loses at most this much of its progress. */
    static final long NOTE_EVERY_BYTES = 1L << 30;

    private final LocalReplica replica;
    private final BlockRepairer repairer;
    private final Executor executor;
    private final ScrubExtension extension;
    private final AtomicLong bytesDone = new AtomicLong();
    private final AtomicLong bytesTotal = new AtomicLong();
    private final AtomicLong completed = new AtomicLong();
    private CompletableFuture<Void> current;
    private Path recordFile;
    private volatile ScrubRecord record;

    public ReplicaScrub(LocalReplica replica, BlockRepairer repairer, Executor executor, ScrubExtension extension) {
        this.replica = replica;
        this.repairer = repairer;
        this.executor = executor;
        this.extension = extension;
    }

    /**
     * Reads the replica's scrub record from {@code file}, or starts one (tracked since now) when
     * there is none. A record that cannot be written is kept in memory, and said at WARN.
     */
    public synchronized void open(Path file, long nowMillis) {
        recordFile = file;
        try {
            record = ScrubRecord.read(file);
        } catch (IOException e) {
            LOG.warn("{}: cannot read its scrub record {}: {}; the schedule counts from now", replica.getId(), file, e.toString());
        }
        if (record == null) {
            note(ScrubRecord.fresh(nowMillis));
        }
    }

    /** The replica's scrub record; null before {@link #open}. */
    public ScrubRecord record() {
        return record;
    }

    /** Starts a full pass at full speed, or returns the one running; the future completes when it has covered the volume. */
    public synchronized CompletableFuture<Void> start() {
        return start(0, 0, executor, System::currentTimeMillis);
    }

    /**
     * Starts a pass paced at {@code bytesPerSecond} on {@code runOn}, from where the last scheduled
     * pass stopped, or returns the one running (whatever its kind).
     */
    public synchronized CompletableFuture<Void> startScheduled(long bytesPerSecond, Executor runOn, LongSupplier clockMillis) {
        ScrubRecord r = record;
        return start(r == null ? 0 : r.resumeFromBytes(), bytesPerSecond, runOn, clockMillis);
    }

    private CompletableFuture<Void> start(long fromBytes, long bytesPerSecond, Executor runOn, LongSupplier clockMillis) {
        if (current != null && !current.isDone()) {
            return current;
        }
        LocalBlockStore store = replica.store(); // FAILED_PRECONDITION now rather than in the background
        bytesTotal.set(store.size());
        long from = fromBytes < store.size() ? fromBytes - fromBytes % (STEP_BLOCKS * LocalBlockStore.BLOCK_SIZE) : 0;
        bytesDone.set(from);
        current = CompletableFuture.runAsync(() -> run(store, from, new RatePacer(bytesPerSecond), clockMillis), runOn);
        current.whenComplete((v, t) -> {
            if (t != null) {
                LOG.warn("volume {}: scrub stopped after {} of {} bytes: {}", replica.volumeName(), bytesDone.get(),
                        bytesTotal.get(), t.toString());
            }
        });
        return current;
    }

    private void run(LocalBlockStore store, long fromBytes, RatePacer pacer, LongSupplier clockMillis) {
        long started = System.nanoTime();
        long foundBefore = repairer.found();
        long repairedBefore = repairer.repaired();
        long blocks = bytesTotal.get() / LocalBlockStore.BLOCK_SIZE;
        LOG.info("volume {}: scrub of {} bytes started{}", replica.volumeName(), bytesTotal.get(),
                fromBytes > 0 ? " at byte " + fromBytes + ", where the last one stopped" : "");
        RaftClient client = repairer.newClient();
        int left = 0;
        long noted = fromBytes;
        ScrubExtension.Found beyond;
        try {
            for (long b = fromBytes / LocalBlockStore.BLOCK_SIZE; b < blocks; b += STEP_BLOCKS) {
                long end = Math.min(b + STEP_BLOCKS, blocks);
                pacer.take((end - b) * LocalBlockStore.BLOCK_SIZE);
                left += repairer.repairRange(client, b, end, "scrub");
                bytesDone.set(end * LocalBlockStore.BLOCK_SIZE);
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedException();
                }
                if (bytesDone.get() - noted >= NOTE_EVERY_BYTES) {
                    noted = bytesDone.get();
                    note(recordOr(clockMillis).stoppedAt(noted));
                }
            }
            beyond = extension.scrub(client, pacer);
        } catch (InterruptedException e) {
            // The node is stopping: the next scheduled pass goes on from here.
            note(recordOr(clockMillis).stoppedAt(bytesDone.get()));
            LOG.info("volume {}: scrub stopped by the node's stop at byte {} of {}", replica.volumeName(), bytesDone.get(),
                    bytesTotal.get());
            Thread.currentThread().interrupt();
            return;
        } finally {
            BlockRepairer.closeQuietly(client);
        }
        completed.incrementAndGet();
        long found = repairer.found() - foundBefore;
        note(recordOr(clockMillis).completed(clockMillis.getAsLong(), found + beyond.corrupt(), left + beyond.unrepairable()));
        LOG.info("volume {}: scrub verified {} bytes in {} ms: {} corrupt blocks, {} repaired, {} unrepairable{}",
                replica.volumeName(), bytesDone.get() - fromBytes, (System.nanoTime() - started) / 1_000_000,
                found, repairer.repaired() - repairedBefore, left, beyond.equals(ScrubExtension.Found.NOTHING) ? ""
                        : "; snapshot copies: " + beyond.corrupt() + " corrupt blocks, " + beyond.repaired() + " repaired, "
                        + beyond.unrepairable() + " unrepairable");
    }

    /** The record, or a fresh one for a replica whose record was never opened (kept in memory then). */
    private ScrubRecord recordOr(LongSupplier clockMillis) {
        ScrubRecord r = record;
        return r != null ? r : ScrubRecord.fresh(clockMillis.getAsLong());
    }

    private synchronized void note(ScrubRecord r) {
        record = r;
        if (recordFile == null) {
            return;
        }
        try {
            r.write(recordFile);
        } catch (IOException e) {
            LOG.warn("{}: cannot write its scrub record {}: {}; kept in memory until the node stops", replica.getId(),
                    recordFile, e.toString());
        }
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

    /** The volume this replica belongs to, for the schedule's messages. */
    public String volumeName() {
        return replica.volumeName();
    }

    /** Whether a scheduled pass may start now: the replica has its store and is not being rebuilt. */
    public boolean scrubbable() {
        try {
            replica.store();
        } catch (RuntimeException e) {
            return false;
        }
        return !replica.rebuilding() && record != null;
    }
}
