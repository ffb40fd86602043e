package io.ballast.engine.nbd;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live NBD counters. Thread-safe; a connection's counters also add to its server's ({@code parent}).
 */
final class NbdCounters {
    private final NbdCounters parent;
    private final LongAdder requests = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final ConcurrentHashMap<Integer, LongAdder> errors = new ConcurrentHashMap<>();

    NbdCounters(NbdCounters parent) {
        this.parent = parent;
    }

    void request() {
        requests.increment();
        if (parent != null) {
            parent.request();
        }
    }

    void read(long bytes) {
        bytesRead.add(bytes);
        if (parent != null) {
            parent.read(bytes);
        }
    }

    void written(long bytes) {
        bytesWritten.add(bytes);
        if (parent != null) {
            parent.written(bytes);
        }
    }

    void error(int errno) {
        errors.computeIfAbsent(errno, k -> new LongAdder()).increment();
        if (parent != null) {
            parent.error(errno);
        }
    }

    NbdStats snapshot() {
        Map<Integer, Long> byErrno = new TreeMap<>();
        errors.forEach((errno, n) -> byErrno.put(errno, n.sum()));
        return new NbdStats(requests.sum(), bytesRead.sum(), bytesWritten.sum(), byErrno);
    }
}
