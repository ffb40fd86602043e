package io.ballast.replication.checkpoint;

import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Asks for a Raft snapshot once {@code everyBytes} of log entries were applied since the last
 * one ({@link LogBudget#checkpointEvery}, which changes when the volume grows). Ratis's own trigger
 * counts entries (every 2048), and 2048 entries of up to 4 MiB would keep 8 GiB of log and journal
 * between two purges. At most one request is outstanding; a failed or
 * refused one is asked again on a later apply. Thread-safe.
 */
public final class CheckpointTrigger {
    private volatile long everyBytes;
    private final Executor background;
    /** Asks Ratis for the snapshot (blocking); runs on {@code background}. */
    private final Runnable request;
    private final AtomicLong bytesSince = new AtomicLong();
    private final AtomicBoolean asked = new AtomicBoolean();

    CheckpointTrigger(long everyBytes, Executor background, Runnable request) {
        this.everyBytes = everyBytes;
        this.background = background;
        this.request = request;
    }

    void everyBytes(long bytes) {
        everyBytes = bytes;
    }

    /** Called by apply with each entry's size. */
    void applied(long entryBytes) {
        if (bytesSince.addAndGet(entryBytes) < everyBytes || !asked.compareAndSet(false, true)) {
            return;
        }
        try {
            background.execute(() -> {
                try {
                    request.run();
                } finally {
                    asked.set(false);
                }
            });
        } catch (RejectedExecutionException e) {
            asked.set(false); // the node is stopping
        }
    }

    /** Called when a snapshot is taken, whoever asked for it. */
    void snapshotTaken() {
        bytesSince.set(0);
    }

    long bytesSinceSnapshot() {
        return bytesSince.get();
    }
}
