package io.ballast.engine.store;

import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Read/write locks over block ranges, so a reader never sees a block's new data with its old
 * checksum while requests on other blocks run in parallel.
 *
 * <p>Blocks are grouped into granules of {@code 1 << GRANULE_SHIFT} blocks (64 KiB), and granule
 * {@code g} maps to stripe {@code g % STRIPES}: a 1 MiB request takes 16 stripes, not 256. A range
 * takes its stripes in ascending stripe index order (deadlock-free), all of them when it covers
 * {@code STRIPES} granules or more. Not reentrant across overlapping ranges of one thread.
 */
final class StripedLocks {
    static final int STRIPES = 256;
    static final int GRANULE_SHIFT = 4;

    private final ReentrantReadWriteLock[] locks = new ReentrantReadWriteLock[STRIPES];

    StripedLocks() {
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantReadWriteLock();
        }
    }

    /** A held set of stripes; release with {@link #close()}. */
    interface Held extends AutoCloseable {
        @Override
        void close();
    }

    Held lockRead(long firstBlock, long lastBlock) {
        return lock(firstBlock, lastBlock, false);
    }

    Held lockWrite(long firstBlock, long lastBlock) {
        return lock(firstBlock, lastBlock, true);
    }

    private Held lock(long firstBlock, long lastBlock, boolean write) {
        long g0 = firstBlock >>> GRANULE_SHIFT;
        long g1 = lastBlock >>> GRANULE_SHIFT;
        int lo;
        int hi;
        boolean wraps;
        if (g1 - g0 + 1 >= STRIPES) {
            lo = 0;
            hi = STRIPES - 1;
            wraps = false;
        } else {
            lo = (int) (g0 % STRIPES);
            hi = (int) (g1 % STRIPES);
            wraps = hi < lo; // stripes [0, hi] and [lo, STRIPES)
        }
        if (!wraps) {
            acquire(lo, hi, write);
            return () -> release(lo, hi, write);
        }
        acquire(0, hi, write);
        acquire(lo, STRIPES - 1, write);
        return () -> {
            release(lo, STRIPES - 1, write);
            release(0, hi, write);
        };
    }

    private void acquire(int from, int to, boolean write) {
        for (int i = from; i <= to; i++) {
            lockOf(i, write).lock();
        }
    }

    private void release(int from, int to, boolean write) {
        for (int i = to; i >= from; i--) {
            lockOf(i, write).unlock();
        }
    }

    private Lock lockOf(int stripe, boolean write) {
        return write ? locks[stripe].writeLock() : locks[stripe].readLock();
    }
}
