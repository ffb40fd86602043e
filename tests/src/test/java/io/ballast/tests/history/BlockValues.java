package io.ballast.tests.history;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The contents a history client writes: every block write carries a unique value, so a read names
 * the one write it observed. Layout of a {@link #BLOCK}-byte block: magic, block number, value,
 * then a pattern derived from the value, then a CRC32C over all of that. A read that is neither
 * zeroes nor a well-formed block of that very block number (torn, shifted, mixed, or another
 * block's data) decodes as {@link #GARBAGE}: contents that no write produced.
 */
public final class BlockValues {
    public static final int BLOCK = 4096;
    /** The value of a block never written: all zeroes. */
    public static final long INITIAL = 0;
    /** Contents no write produced. */
    public static final long GARBAGE = -1;
    private static final long MAGIC = 0x424C535448495354L; // "BLSTHIST"

    private BlockValues() {
    }

    public static byte[] encode(int block, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException("values are positive: " + value);
        }
        ByteBuffer b = ByteBuffer.allocate(BLOCK);
        b.putLong(MAGIC).putLong(block).putLong(value);
        long x = value;
        while (b.remaining() > 4) {
            x = mix(x);
            b.putInt((int) x);
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, BLOCK - 4);
        b.putInt((int) crc.getValue());
        return b.array();
    }

    public static long decode(int block, byte[] data) {
        if (data.length != BLOCK) {
            return GARBAGE;
        }
        boolean zero = true;
        for (byte x : data) {
            if (x != 0) {
                zero = false;
                break;
            }
        }
        if (zero) {
            return INITIAL;
        }
        ByteBuffer b = ByteBuffer.wrap(data);
        long value = b.getLong(16);
        if (b.getLong(0) != MAGIC || b.getLong(8) != block || value <= 0) {
            return GARBAGE;
        }
        CRC32C crc = new CRC32C();
        crc.update(data, 0, BLOCK - 4);
        if (b.getInt(BLOCK - 4) != (int) crc.getValue()) {
            return GARBAGE;
        }
        // The CRC proves the block is whole; the pattern proves the value field is the writer's.
        return java.util.Arrays.equals(encode(block, value), data) ? value : GARBAGE;
    }

    public static String name(long value) {
        return value == INITIAL ? "initial zeroes" : value == GARBAGE ? "garbage" : Long.toString(value);
    }

    /** SplitMix64's finalizer: a cheap, well-spread pattern per value. */
    private static long mix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
