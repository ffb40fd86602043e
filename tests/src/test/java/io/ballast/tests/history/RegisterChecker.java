package io.ballast.tests.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checks that a recorded history is linearizable per block: each block behaves as one atomic
 * register, whatever the clients, nodes and faults in between.
 *
 * <p>Since every write carries a unique value, a read names the write it saw, and the check is
 * exact and fast (Gibbons and Korach, "Testing shared memories", SIAM J. Comput. 1997): group each
 * write with the reads that returned its value (a <em>cluster</em>). A cluster's ops must all be
 * linearized while the block holds that value. Its <em>zone</em> runs from the earliest completion
 * to the latest invocation among its ops: when the earliest completion comes first the zone is
 * <em>forward</em> and the value must hold the block for that whole stretch; otherwise it is
 * <em>backward</em> and the value may hold it for an instant inside it. The history is
 * linearizable if and only if every read ends after its write began, no two forward zones overlap,
 * and no backward zone lies inside a forward zone.
 *
 * <p>The block's initial contents (zeroes) are a write before all others. An indeterminate write
 * ({@link HistoryOp#indeterminate()}) that nobody read is left out (it may never have happened);
 * one that was read counts as a write that completed no earlier than its readers.
 */
public final class RegisterChecker {
    private RegisterChecker() {
    }

    /** One reason the history is not linearizable, with the operations that show it. */
    public record Violation(int block, String reason, List<HistoryOp> ops) {
        public String describe(long origin) {
            StringBuilder s = new StringBuilder("block " + block + ": " + reason);
            for (HistoryOp op : ops) {
                s.append("\n    ").append(op.describe(origin));
            }
            return s.toString();
        }
    }

    private record Cluster(long value, HistoryOp write, List<HistoryOp> reads, long low, long high) {
        boolean forward() {
            return low < high;
        }

        List<HistoryOp> ops() {
            List<HistoryOp> all = new ArrayList<>();
            if (write != null) {
                all.add(write);
            }
            all.addAll(reads);
            return all;
        }
    }

    public static List<Violation> check(List<HistoryOp> history) {
        Map<Integer, List<HistoryOp>> byBlock = new TreeMap<>();
        for (HistoryOp op : history) {
            byBlock.computeIfAbsent(op.block(), b -> new ArrayList<>()).add(op);
        }
        List<Violation> found = new ArrayList<>();
        byBlock.forEach((block, ops) -> found.addAll(checkBlock(block, ops)));
        return found;
    }

    static List<Violation> checkBlock(int block, List<HistoryOp> ops) {
        List<Violation> found = new ArrayList<>();
        Map<Long, HistoryOp> writes = new HashMap<>();
        Map<Long, List<HistoryOp>> readsOf = new HashMap<>();
        for (HistoryOp op : ops) {
            if (op.kind() == HistoryOp.Kind.WRITE) {
                HistoryOp twin = writes.put(op.value(), op);
                if (twin != null) {
                    throw new IllegalArgumentException("value " + op.value() + " written twice: the history is unusable");
                }
            } else {
                readsOf.computeIfAbsent(op.value(), v -> new ArrayList<>()).add(op);
            }
        }
        List<Cluster> clusters = new ArrayList<>();
        for (Map.Entry<Long, List<HistoryOp>> e : readsOf.entrySet()) {
            long value = e.getKey();
            List<HistoryOp> reads = e.getValue();
            HistoryOp write = writes.get(value);
            if (value == BlockValues.GARBAGE) {
                found.add(new Violation(block, "a read returned contents that no write produced (torn, mixed or foreign data)", reads));
                continue;
            }
            if (value != BlockValues.INITIAL && write == null) {
                found.add(new Violation(block, "a read returned value " + value + ", which no client wrote to this block", reads));
                continue;
            }
            List<HistoryOp> early = new ArrayList<>();
            for (HistoryOp r : reads) {
                if (write != null && r.completeNanos() < write.invokeNanos()) {
                    early.add(r);
                }
            }
            if (!early.isEmpty()) {
                early.add(0, write);
                found.add(new Violation(block, "a read returned a value before the write of it began", early));
                continue;
            }
            clusters.add(cluster(value, write, reads));
        }
        for (HistoryOp w : writes.values()) {
            if (!readsOf.containsKey(w.value()) && !w.indeterminate()) {
                clusters.add(cluster(w.value(), w, List.of()));
            }
        }
        List<Cluster> forward = clusters.stream().filter(Cluster::forward)
                .sorted(Comparator.comparingLong(Cluster::low)).toList();
        // Two forward zones overlap: both values had to hold the block over a common stretch.
        for (int i = 0; i < forward.size(); i++) {
            Cluster a = forward.get(i);
            for (int j = i + 1; j < forward.size() && forward.get(j).low() < a.high(); j++) {
                found.add(overlap(block, a, forward.get(j)));
            }
        }
        // A backward zone inside a forward one: that value had to appear while the other held the block.
        for (Cluster b : clusters) {
            if (b.forward()) {
                continue;
            }
            for (Cluster f : forward) {
                if (f.low() < b.high() && b.low() < f.high()) {
                    found.add(overlap(block, f, b));
                }
            }
        }
        return found;
    }

    private static Cluster cluster(long value, HistoryOp write, List<HistoryOp> reads) {
        long low = write == null ? Long.MIN_VALUE : write.completeNanos();
        long high = write == null ? Long.MIN_VALUE : write.invokeNanos();
        for (HistoryOp r : reads) {
            low = Math.min(low, r.completeNanos());
            high = Math.max(high, r.invokeNanos());
        }
        return new Cluster(value, write, reads, low, high);
    }

    /**
     * Explains why clusters {@code f} (forward) and {@code o} cannot both fit, naming the usual
     * culprit when there is one: a read of an older value after a newer write had completed.
     */
    private static Violation overlap(int block, Cluster f, Cluster o) {
        for (Cluster[] pair : new Cluster[][] {{f, o}, {o, f}}) {
            Cluster old = pair[0];
            Cluster newer = pair[1];
            if (newer.write() == null || newer.write().indeterminate()) {
                continue;
            }
            long oldWritten = old.write() == null ? Long.MIN_VALUE : old.write().completeNanos();
            if (oldWritten >= newer.write().invokeNanos()) {
                continue;
            }
            for (HistoryOp r : old.reads()) {
                if (r.invokeNanos() > newer.write().completeNanos()) {
                    List<HistoryOp> ops = new ArrayList<>();
                    if (old.write() != null) {
                        ops.add(old.write());
                    }
                    ops.add(newer.write());
                    ops.add(r);
                    return new Violation(block, "stale read: it returned " + BlockValues.name(old.value())
                            + " after a later write (" + newer.value() + ") had been acknowledged", ops);
                }
            }
        }
        List<HistoryOp> ops = new ArrayList<>(f.ops());
        ops.addAll(o.ops());
        return new Violation(block, "values " + BlockValues.name(f.value()) + " and " + BlockValues.name(o.value())
                + " cannot both fit one order of these operations", ops);
    }
}
