package io.ballast.replication.testing;

import java.util.Random;

/** Reproducible test data: the same seed always gives the same bytes, so a test can check any block later. */
public final class TestBytes {
    /** One 4 KiB block. */
    public static final int BLOCK = 4096;

    private TestBytes() {
    }

    /** {@code n} pseudo-random bytes from {@code seed}. */
    public static byte[] of(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A 4 KiB block from {@code seed}. */
    public static byte[] block(long seed) {
        return of(seed, BLOCK);
    }
}
