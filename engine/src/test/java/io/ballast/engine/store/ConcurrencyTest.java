package io.ballast.engine.store;

import static io.ballast.engine.store.StoreTesting.B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Readers and writers hammer a few overlapping blocks. Each written block describes itself
 * (seed, block number, bytes derived from the seed), so a reader can tell a whole block some
 * writer wrote from a mix or from new data under an old checksum (which would be CORRUPTION).
 */
class ConcurrencyTest {
    private static final Logger log = LoggerFactory.getLogger(ConcurrencyTest.class);
    private static final int BLOCKS = 48;
    private static final long RUN_NANOS = 1_500_000_000L;

    @TempDir
    Path tmp;

    static void fill(ByteBuffer block, long seed, long index) {
        SplittableRandom r = new SplittableRandom(seed);
        block.putLong(0, seed).putLong(8, index);
        for (int i = 16; i < B; i += 8) {
            block.putLong(i, r.nextLong());
        }
    }

    /** Null when the block is valid, else what is wrong. */
    static String check(ByteBuffer block, long index) {
        long seed = block.getLong(0);
        if (seed == 0 && block.getLong(8) == 0) {
            for (int i = 0; i < B; i += 8) {
                if (block.getLong(i) != 0) {
                    return "block " + index + " is neither zero nor written";
                }
            }
            return null;
        }
        if (block.getLong(8) != index) {
            return "block " + index + " holds block " + block.getLong(8) + "'s content";
        }
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 16; i < B; i += 8) {
            if (block.getLong(i) != r.nextLong()) {
                return "block " + index + " is torn at byte " + i;
            }
        }
        return null;
    }

    @Test
    void overlappingReadsAndWritesNeverSeeTornBlocksOrFalseCorruption() throws Exception {
        try (LocalBlockStore s = StoreTesting.newStore(tmp, (long) BLOCKS * B, 16)) {
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            AtomicLong writes = new AtomicLong();
            AtomicLong reads = new AtomicLong();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                boolean writer = t % 2 == 0;
                long threadSeed = t;
                threads.add(Thread.ofPlatform().name("hammer-" + t).start(() -> {
                    SplittableRandom rnd = new SplittableRandom(threadSeed);
                    ByteBuffer buf = ByteBuffer.allocateDirect(3 * B);
                    try {
                        while (!stop.get()) {
                            int n = 1 + rnd.nextInt(3);
                            long first = rnd.nextInt(BLOCKS - n + 1);
                            buf.clear().limit(n * B);
                            if (writer) {
                                for (int i = 0; i < n; i++) {
                                    fill(buf.slice(i * B, B), rnd.nextLong() | 1, first + i);
                                }
                                s.write(first * B, buf);
                                if (rnd.nextInt(200) == 0) {
                                    s.flush();
                                }
                                writes.incrementAndGet();
                            } else {
                                s.read(first * B, buf);
                                for (int i = 0; i < n; i++) {
                                    String p = check(buf.slice(i * B, B), first + i);
                                    if (p != null) {
                                        problems.add(p);
                                    }
                                }
                                reads.incrementAndGet();
                            }
                        }
                    } catch (BallastException e) {
                        problems.add(e.toString());
                    }
                }));
            }
            long deadline = System.nanoTime() + RUN_NANOS;
            while (System.nanoTime() < deadline && problems.isEmpty()) {
                Thread.sleep(50);
            }
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            log.info("hammer: {} writes, {} reads of 1-3 blocks", writes.get(), reads.get());
            assertEquals(List.of(), List.copyOf(problems));
            assertEquals(0, s.checksumFailures());
            assertEquals(List.of(), s.verify());
            assertTrue(writes.get() > 0 && reads.get() > 0);
        }
    }

}
