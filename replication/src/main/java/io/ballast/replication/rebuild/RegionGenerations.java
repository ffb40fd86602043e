package io.ballast.replication.rebuild;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Changed-block tracking for incremental rebuilds: for each region of a replica's volume, the log
 * index of the last applied entry that changed it (its generation). A replica that comes back
 * behind the leader's purged log tells its applied index {@code a}; the leader answers which
 * regions have a generation above {@code a} ({@link #changedSince}), and only those are copied.
 *
 * <p><b>Why it is exact.</b> Every replica applies every committed entry in order, so two replicas
 * at applied indexes {@code a <= b} differ only in regions some entry in {@code (a, b]} changed,
 * and each of those has a generation above {@code a} on the replica at {@code b}. A generation may
 * be too high (then a region is copied for nothing), never too low:
 * <ul>
 *   <li>The table is saved at each checkpoint, after the store ({@link #save}); a restart replays
 *   the log after the checkpoint, which raises the same generations again.
 *   <li>No saved table (a volume from before this class): every region gets the checkpoint's
 *   index, which is at least the index of any entry already in the store.
 *   <li>After a rebuild by copy from T0, every region gets T0 (the copy reflects at least T0; later
 *   entries are replayed and raise their regions).
 * </ul>
 *
 * <p><b>Size.</b> One long per region; the region is 256 KiB, doubled until a volume has at most
 * {@link #MAX_REGIONS} regions (a 16 GiB volume: 64Ki regions, 512 KiB of heap; 1 TiB: 16 MiB
 * regions), so the table stays small whatever the volume size. Growing the volume past that coarsens
 * the table (two regions merge, keeping the higher generation).
 *
 * <p><b>File</b> (big-endian): magic (4), region shift (1), region count (8), generations (8 each),
 * CRC32C of all before (4): a {@link SealedFile}.
 *
 * <p>Threads: {@link #written} and {@link #grown} from the apply thread only; reads from any.
 */
public final class RegionGenerations {
    static final int MIN_SHIFT = 18; // 256 KiB
    static final int MAX_REGIONS = 1 << 16;
    private static final int MAGIC = 0x42414C47; // "BALG"

    /** The region size (as a shift) and the generations, replaced together when the volume grows. */
    private record Table(int shift, AtomicLongArray gens) {
    }

    private volatile Table table;

    private RegionGenerations(int shift, AtomicLongArray gens) {
        this.table = new Table(shift, gens);
    }

    /** A table for a volume of {@code size} bytes whose every region has generation {@code index}. */
    public static RegionGenerations uniform(long size, long index) {
        int shift = shiftFor(size);
        AtomicLongArray a = new AtomicLongArray(regions(size, shift));
        for (int i = 0; i < a.length(); i++) {
            a.set(i, index);
        }
        return new RegionGenerations(shift, a);
    }

    /**
     * The table saved in {@code file}, sized for {@code size}; if there is none, or it cannot be
     * read, a uniform one at {@code checkpointIndex} (the index of the state the store holds).
     */
    public static RegionGenerations load(Path file, long size, long checkpointIndex) {
        RegionGenerations g = null;
        try {
            ByteBuffer b = SealedFile.read(file); // none: a volume from before changed-block tracking, or a new one
            if (b != null && b.remaining() >= 13 && b.getInt(0) == MAGIC) {
                int shift = b.get(4);
                long n = b.getLong(5);
                if (shift >= MIN_SHIFT && shift < 63 && n >= 0 && n <= Integer.MAX_VALUE && b.remaining() == 13 + 8 * n) {
                    AtomicLongArray a = new AtomicLongArray((int) n);
                    for (int i = 0; i < n; i++) {
                        a.set(i, b.getLong(13 + 8 * i));
                    }
                    g = new RegionGenerations(shift, a);
                }
            }
        } catch (IOException e) {
            // unreadable: the uniform table is the safe answer
        }
        if (g == null) {
            return uniform(size, checkpointIndex);
        }
        g.grown(size, checkpointIndex);
        return g;
    }

    /** Saves the table durably (see the class comment for when). */
    public void save(Path file) throws IOException {
        Table t = table;
        AtomicLongArray a = t.gens();
        int n = a.length();
        ByteBuffer b = ByteBuffer.allocate(13 + 8 * n);
        b.putInt(MAGIC).put((byte) t.shift()).putLong(n);
        for (int i = 0; i < n; i++) {
            b.putLong(a.get(i));
        }
        SealedFile.write(file, b.flip());
    }

    /** Entry {@code index} changed bytes [offset, offset + length). */
    public void written(long offset, long length, long index) {
        if (length <= 0) {
            return;
        }
        Table t = table;
        AtomicLongArray a = t.gens();
        int s = t.shift();
        long last = Math.min((offset + length - 1) >>> s, a.length() - 1L);
        for (long r = offset >>> s; r <= last; r++) {
            if (a.get((int) r) < index) {
                a.set((int) r, index);
            }
        }
    }

    /**
     * The volume is now {@code size} bytes (entry {@code index} grew it). Regions past the old end,
     * and the old last region (its tail past the old size became volume), get {@code index}; when
     * the table would exceed {@link #MAX_REGIONS} it coarsens, a merged region keeping the highest
     * generation of its parts.
     */
    public void grown(long size, long index) {
        Table old = table;
        int s = old.shift();
        while (regions(size, s) > MAX_REGIONS && s < 62) {
            s++;
        }
        int n = regions(size, s);
        if (s == old.shift() && n <= old.gens().length()) {
            return;
        }
        long lastOldStart = (long) (old.gens().length() - 1) << old.shift();
        AtomicLongArray a = new AtomicLongArray(n);
        for (int j = 0; j < n; j++) {
            a.set(j, ((long) (j + 1) << s) > lastOldStart ? index : Long.MIN_VALUE);
        }
        for (int i = 0; i < old.gens().length(); i++) {
            int j = i >>> (s - old.shift());
            a.set(j, Math.max(a.get(j), old.gens().get(i)));
        }
        table = new Table(s, a);
    }

    /** Bytes per region. */
    long regionSize() {
        return 1L << table.shift();
    }

    /** The regions whose generation is above {@code index}: what a replica at {@code index} lacks. */
    public Changed changedSince(long index) {
        Table t = table;
        AtomicLongArray a = t.gens();
        BitSet b = new BitSet(a.length());
        for (int i = 0; i < a.length(); i++) {
            if (a.get(i) > index) {
                b.set(i);
            }
        }
        return new Changed(t.shift(), a.length(), b);
    }

    /**
     * Regions of {@code 1 << shift} bytes, {@code count} of them, the set ones changed. Encoded as
     * shift (1), count (4), then the bit set's bytes (little-endian bit order, as BitSet.toByteArray).
     */
    public record Changed(int shift, int count, BitSet regions) {
        public ByteBuffer encode() {
            byte[] bits = regions.toByteArray();
            return ByteBuffer.allocate(5 + bits.length).put((byte) shift).putInt(count).put(bits).flip();
        }

        static Changed decode(ByteBuffer b) {
            int shift = b.get();
            int count = b.getInt();
            if (shift < MIN_SHIFT || shift > 62 || count < 0) {
                throw new IllegalArgumentException("bad changed-regions reply: shift " + shift + ", count " + count);
            }
            byte[] bits = new byte[b.remaining()];
            b.get(bits);
            return new Changed(shift, count, BitSet.valueOf(bits));
        }

        /** Bytes of the set regions within a volume of {@code size} bytes. */
        long bytes(long size) {
            long total = 0;
            for (int r = regions.nextSetBit(0); r >= 0; r = regions.nextSetBit(r + 1)) {
                long start = (long) r << shift;
                total += Math.max(0, Math.min(size, start + (1L << shift)) - start);
            }
            return total;
        }
    }

    long generation(int region) {
        return table.gens().get(region);
    }

    int regionCount() {
        return table.gens().length();
    }

    static int shiftFor(long size) {
        int s = MIN_SHIFT;
        while (regions(size, s) > MAX_REGIONS) {
            s++;
        }
        return s;
    }

    private static int regions(long size, int shift) {
        return (int) Math.max(1, (size + (1L << shift) - 1) >>> shift);
    }
}
