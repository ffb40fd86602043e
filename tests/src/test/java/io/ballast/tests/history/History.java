package io.ballast.tests.history;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** The operations clients completed (or gave up on), in the order they were recorded. Thread-safe. */
public final class History {
    private final long origin = System.nanoTime();
    private final List<HistoryOp> ops = new ArrayList<>();
    /** Values written are unique across every client recording here, on whichever node. */
    private final AtomicLong nextValue = new AtomicLong(1);

    /** A value no write of this history used before. */
    public long nextValue() {
        return nextValue.getAndIncrement();
    }

    public synchronized void add(HistoryOp op) {
        ops.add(op);
    }

    public synchronized List<HistoryOp> ops() {
        return List.copyOf(ops);
    }

    /** When recording began: reports give times relative to it. */
    public long origin() {
        return origin;
    }
}
