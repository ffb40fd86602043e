package io.ballast.replication.statemachine;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applying a committed entry on a full disk: wait for space, never fail. An apply that throws
 * makes Ratis close the group's division for good (until the process restarts), so a replica whose
 * disk filled for a minute used to stay dead, and two of them cost the volume its quorum (issue
 * 14). Here the apply thread retries every {@link #RETRY} while the store answers NO_SPACE: this
 * replica stops applying (its peers carry on), says so in its condition, and resumes by itself
 * once space returns. Re-running an entry is safe: every entry kind writes the same bytes to the
 * same places again.
 *
 * <p>Threading: {@link #apply} on the group's apply thread; {@link #condition} from any thread.
 */
public final class DiskFullWait {
    private static final Logger LOG = LoggerFactory.getLogger(DiskFullWait.class);
    static final Duration RETRY = Duration.ofSeconds(1);

    private final String group;
    private volatile Instant fullSince;
    private volatile String why;

    DiskFullWait(String group) {
        this.group = group;
    }

    /** Runs {@code apply}, again and again while it fails for want of space; other errors pass through. */
    <T> T apply(Supplier<T> apply, long index) {
        while (true) {
            try {
                T result = apply.get();
                if (fullSince != null) {
                    LOG.info("{}: space is back: entry {} applied after {} s of waiting", group, index,
                            Duration.between(fullSince, Instant.now()).toSeconds());
                    fullSince = null;
                    why = null;
                }
                return result;
            } catch (BallastException e) {
                if (e.code() != ErrorCode.NO_SPACE) {
                    throw e;
                }
                if (fullSince == null) {
                    fullSince = Instant.now();
                    LOG.warn("{}: disk full applying entry {} ({}); this replica stops applying and retries every {} s "
                            + "until space is freed", group, index, e.getMessage(), RETRY.toSeconds());
                }
                why = e.getMessage();
            }
            try {
                Thread.sleep(RETRY.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the division is closing
                throw new BallastException(ErrorCode.UNAVAILABLE, group + ": closed while waiting for disk space", e);
            }
        }
    }

    /** Null while applying normally; else what the volume condition says about this replica. */
    String condition() {
        Instant since = fullSince;
        return since == null ? null : "disk full since " + since + ", applying paused until space is freed (" + why + ")";
    }
}
