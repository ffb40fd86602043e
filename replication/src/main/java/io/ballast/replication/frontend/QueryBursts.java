package io.ballast.replication.frontend;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * Group commit for reads: at most {@code maxInFlight} queries out at once; items arriving while
 * they are out wait and leave together in the next one, up to {@code maxItems} items and
 * {@code maxBytes} bytes per query (an item larger than that leaves alone). A lone item leaves at
 * once, so a light load pays no wait; a burst pays one round trip per batch instead of one per item.
 * Threading: thread-safe; the caller sends the batches it is handed, and calls {@link #done} once per
 * batch when it has been answered.
 */
final class QueryBursts<P> {
    private final int maxInFlight;
    private final int maxItems;
    private final long maxBytes;
    private final ToLongFunction<P> bytes;
    private final ArrayDeque<P> waiting = new ArrayDeque<>();
    private int inFlight;

    QueryBursts(int maxInFlight, int maxItems, long maxBytes, ToLongFunction<P> bytes) {
        if (maxInFlight < 1 || maxItems < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("limits must be positive: " + maxInFlight + ", " + maxItems + ", " + maxBytes);
        }
        this.maxInFlight = maxInFlight;
        this.maxItems = maxItems;
        this.maxBytes = maxBytes;
        this.bytes = bytes;
    }

    /** Queues {@code items} in order; returns the batches to send now (none while all slots are out). */
    synchronized List<List<P>> add(List<P> items) {
        waiting.addAll(items);
        return take();
    }

    /** One batch was answered: its slot is free; returns the batches to send now. */
    synchronized List<List<P>> done() {
        if (inFlight == 0) {
            throw new IllegalStateException("done() without a batch out");
        }
        inFlight--;
        return take();
    }

    synchronized int waiting() {
        return waiting.size();
    }

    private List<List<P>> take() {
        List<List<P>> out = new ArrayList<>(1);
        while (inFlight < maxInFlight && !waiting.isEmpty()) {
            List<P> batch = new ArrayList<>();
            long size = 0;
            while (!waiting.isEmpty() && batch.size() < maxItems
                    && (batch.isEmpty() || size + bytes.applyAsLong(waiting.peekFirst()) <= maxBytes)) {
                P p = waiting.pollFirst();
                size += bytes.applyAsLong(p);
                batch.add(p);
            }
            inFlight++;
            out.add(batch);
        }
        return out;
    }
}
