package io.ballast.replication.frontend;

import static io.ballast.replication.entry.VolumeLogLayout.HEADER;
import static io.ballast.replication.entry.VolumeLogLayout.TRAILER;

import io.ballast.replication.config.ReplicationConfig;
import io.ballast.replication.entry.VolumeLogLayout.Op;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The requests of one volume handle waiting for a log entry, and the group-commit rule that cuts
 * them into entries: up to {@code maxInFlight} entries in flight, each packing queued requests (at
 * most {@code batchMaxOps} records, {@code batchMaxBytes} encoded).
 *
 * <p>Only {@link #EAGER_IN_FLIGHT} entry leaves without waiting for a full batch. Beyond it an
 * entry leaves only with {@link #FURTHER_ENTRY_OPS} requests, a quarter of {@code batchMaxBytes} or
 * a full op count queued (a stream of large writes keeps several entries in flight). Each entry
 * costs Raft dozens of thread wake-ups on every node (measured ~50 voluntary context switches per
 * entry on the leader alone). Fio QD32 4 KiB writes, 3 replicas on 2 cores: every free slot taking
 * the next lone request, 615 IOPS; two eager entries, 1.5k; one, 1.8k (and 2.8k, 16 requests per
 * entry, once RaftNode turned off Ratis's metadata entries). See docs/benchmarks.md.
 *
 * <p>Threading: not thread-safe; the owning {@link ReplicatedBlockVolume} guards every call with
 * its monitor.
 */
final class GroupCommitQueue {
    static final int EAGER_IN_FLIGHT = 1;
    /**
     * Queued requests that let a further entry leave while one is in flight: at fio's QD32 4 KiB
     * random writes, half the queue depth. Without it no second entry ever formed there (32 small
     * requests never reach a quarter of batchMaxBytes): random writes ran one entry at a time. With
     * it they ran 11-16 % faster in two of three A/B rounds (the third's cluster was a slow one),
     * after +15 to +28 % in earlier rounds (docs/benchmarks.md, "A second small-write entry in
     * flight, kept"). Its earlier cost, Ratis zero-filling again log space the entry before had
     * filled, is gone since each entry is fsynced on its own (disk bytes 6.4-6.5x either way).
     */
    static final int FURTHER_ENTRY_OPS = 16;

    /** A queued request; {@code since} is when it was first queued (System.nanoTime), for the retry budget. */
    record Pending(Op op, CompletableFuture<Void> done, boolean alone, long since) {}

    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final ReplicationConfig config;
    /** Encoded size of the queued requests. */
    private long queuedBytes;
    /** Entries sent and not answered, plus slots held during a retry pause. */
    private int inFlight;

    GroupCommitQueue(ReplicationConfig config) {
        this.config = config;
    }

    void add(Pending p) {
        queue.add(p);
        queuedBytes += p.op().encodedSize();
    }

    /** Puts {@code batch} back in front of newer requests, in its order; {@code alone}: one per entry. */
    void requeueFront(List<Pending> batch, boolean alone) {
        for (int i = batch.size() - 1; i >= 0; i--) {
            Pending p = batch.get(i);
            queue.addFirst(alone ? new Pending(p.op(), p.done(), true, p.since()) : p);
            queuedBytes += p.op().encodedSize();
        }
    }

    /** The next entry's requests, counted in flight until {@link #entryDone}; null when the rule says wait. */
    List<Pending> nextBatch() {
        boolean mayStart = !queue.isEmpty() && inFlight < config.maxInFlight() && (inFlight < EAGER_IN_FLIGHT
                || queue.size() >= Math.min(FURTHER_ENTRY_OPS, config.batchMaxOps())
                || queuedBytes >= config.batchMaxBytes() / 4);
        if (!mayStart) {
            return null;
        }
        List<Pending> batch = new ArrayList<>();
        int bytes = HEADER + TRAILER;
        while (!queue.isEmpty() && batch.size() < config.batchMaxOps()) {
            Pending p = queue.peek();
            if (!batch.isEmpty() && (p.alone() || bytes + p.op().encodedSize() > config.batchMaxBytes())) {
                break;
            }
            batch.add(queue.poll());
            bytes += p.op().encodedSize();
            queuedBytes -= p.op().encodedSize();
            if (p.alone()) {
                break;
            }
        }
        inFlight++;
        return batch;
    }

    /** An entry was answered, or a retry pause ended: its slot is free. */
    void entryDone() {
        inFlight--;
    }

    /** Holds a slot during a retry pause, so the queue does not spin; released by {@link #entryDone}. */
    void holdSlot() {
        inFlight++;
    }

    /** Removes and returns every queued request (the handle is closing). */
    List<Pending> drain() {
        List<Pending> all = new ArrayList<>(queue);
        queue.clear();
        queuedBytes = 0;
        return all;
    }
}
