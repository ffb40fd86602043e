package io.ballast.engine.fuse;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/** Live counters of one export. Thread-safe: the reader thread and volume threads update them. */
final class FuseCounters {
    final LongAdder requests = new LongAdder();
    final LongAdder reads = new LongAdder();
    final LongAdder bytesRead = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder bytesWritten = new LongAdder();
    final LongAdder syncs = new LongAdder();
    final LongAdder errors = new LongAdder();
    private final AtomicInteger largestRead = new AtomicInteger();
    private final AtomicInteger largestWrite = new AtomicInteger();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger peakInFlight = new AtomicInteger();

    void read(int bytes) {
        reads.increment();
        bytesRead.add(bytes);
        largestRead.accumulateAndGet(bytes, Math::max);
    }

    void written(int bytes) {
        writes.increment();
        bytesWritten.add(bytes);
        largestWrite.accumulateAndGet(bytes, Math::max);
    }

    void started() {
        requests.increment();
        peakInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
    }

    void finished() {
        inFlight.decrementAndGet();
    }

    FuseStats snapshot() {
        return new FuseStats(requests.sum(), reads.sum(), bytesRead.sum(), writes.sum(), bytesWritten.sum(),
                syncs.sum(), errors.sum(), largestRead.get(), largestWrite.get(), peakInFlight.get());
    }
}
