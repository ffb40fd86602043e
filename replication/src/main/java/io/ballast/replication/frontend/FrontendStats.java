package io.ballast.replication.frontend;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one volume handle's reads and writes as its clients see them: operations, bytes and
 * the sum of their latencies (so a dashboard divides rates: mean latency = rate(seconds) / rate(ops),
 * as node_exporter does for disks). Failed operations are counted in {@link #errors}. Thread-safe.
 */
public final class FrontendStats {
    private final LongAdder reads = new LongAdder();
    private final LongAdder readBytes = new LongAdder();
    private final LongAdder readNanos = new LongAdder();
    private final LongAdder writes = new LongAdder();
    private final LongAdder writeBytes = new LongAdder();
    private final LongAdder writeNanos = new LongAdder();
    private final LongAdder errors = new LongAdder();

    void read(long bytes, long startNanos, boolean ok) {
        reads.increment();
        readBytes.add(bytes);
        readNanos.add(System.nanoTime() - startNanos);
        if (!ok) {
            errors.increment();
        }
    }

    void write(long bytes, long startNanos, boolean ok) {
        writes.increment();
        writeBytes.add(bytes);
        writeNanos.add(System.nanoTime() - startNanos);
        if (!ok) {
            errors.increment();
        }
    }

    public long reads() {
        return reads.sum();
    }

    public long readBytes() {
        return readBytes.sum();
    }

    public double readSeconds() {
        return readNanos.sum() / 1e9;
    }

    public long writes() {
        return writes.sum();
    }

    public long writeBytes() {
        return writeBytes.sum();
    }

    public double writeSeconds() {
        return writeNanos.sum() / 1e9;
    }

    public long errors() {
        return errors.sum();
    }
}
