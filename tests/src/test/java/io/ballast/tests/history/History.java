package io.ballast.tests.history;

import java.util.ArrayList;
import java.util.List;

/** The operations clients completed (or gave up on), in the order they were recorded. Thread-safe. */
public final class History {
    private final long origin = System.nanoTime();
    private final List<HistoryOp> ops = new ArrayList<>();

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
