package io.ballast.tests.history;

/**
 * One client operation on one block, as the client saw it: when it was invoked and when it
 * completed (System.nanoTime), and the value it wrote or read.
 *
 * <p>A write whose outcome the client could not learn (an error reply, a dropped connection, a
 * node killed under it) is <em>indeterminate</em>: it may or may not have taken effect, at any
 * moment after its invocation, so its completion is {@link #NEVER}. Reads that failed tell nothing
 * and are not recorded.
 *
 * @param client which client thread ran it (for reports)
 * @param value for a write the unique value written; for a read the value found ({@link
 *     BlockValues#INITIAL} for a never-written block, {@link BlockValues#GARBAGE} for contents no
 *     write produced)
 */
public record HistoryOp(Kind kind, int client, int block, long value, long invokeNanos, long completeNanos) {
    /** Completion time of an indeterminate write: it may take effect at any time after its invocation. */
    public static final long NEVER = Long.MAX_VALUE;

    public enum Kind { WRITE, READ }

    public boolean indeterminate() {
        return completeNanos == NEVER;
    }

    /** A readable description relative to {@code origin} (the history's start), in milliseconds. */
    public String describe(long origin) {
        String end = indeterminate() ? "?" : String.format("%.3f", (completeNanos - origin) / 1e6);
        String what = kind == Kind.WRITE ? "write " + value : "read -> " + BlockValues.name(value);
        return String.format("client %d %s of block %d [%.3f ms .. %s ms]", client, what, block,
                (invokeNanos - origin) / 1e6, end);
    }
}
