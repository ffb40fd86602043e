package io.ballast.replication.snapshot;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.zip.CRC32C;

/**
 * The replicated facts about a volume's snapshots and origin that the block store does not hold,
 * as applied from the log on this replica: which snapshot ids the group has taken (at which log
 * index, when, of what size), whether the volume is a clone (of "volume@snapshot") and whether its
 * fill finished, and the rebuild fence (entries up to it were applied over a block copy, so a
 * snapshot at such an index could not be taken here). One file {@value #FILE_NAME} in the group's
 * Ratis state machine directory (so it goes with the group), replaced atomically on every change;
 * a rebuilding replica receives the leader's copy with the blocks. Big-endian.
 *
 * <pre>
 *  0        4     5       6         8                16         18
 *  +--------+-----+-------+---------+----------------+----------+--------+----------+
 *  | magic  | ver | flags | zero    | fence (i64)    | originLen| origin | count u32|
 *  +--------+-----+-------+---------+----------------+----------+--------+----------+
 *  count x ( idLen u16 | id | index i64 | created ms i64 | size i64 ),  crc32c u32 over all before
 *  flags bit 0: FILLED
 * </pre>
 *
 * <p>Threading: updates come from the apply thread or a rebuild (never both: Ratis pauses applies
 * for a rebuild) and are serialised by this object's monitor; reads see the last saved state.
 */
public final class SnapshotRegistry {
    static final String FILE_NAME = "volume.registry";
    private static final int MAGIC = 0x42414C52; // "BALR"

    /** One snapshot the group took: the index of its SNAPSHOT entry, its time and the volume's size then. */
    record Registered(String id, long index, long createdMillis, long sizeBytes) {}

    /** An immutable registry state; {@code origin} empty for a volume that is not a clone. */
    record State(String origin, boolean filled, long fence, SortedMap<String, Registered> snapshots) {
        static final State EMPTY = new State("", false, -1, Collections.emptySortedMap());

        State {
            snapshots = Collections.unmodifiableSortedMap(new TreeMap<>(snapshots));
        }

        State with(Registered r) {
            TreeMap<String, Registered> m = new TreeMap<>(snapshots);
            m.put(r.id(), r);
            return new State(origin, filled, fence, m);
        }

        State without(String id) {
            TreeMap<String, Registered> m = new TreeMap<>(snapshots);
            m.remove(id);
            return new State(origin, filled, fence, m);
        }
    }

    private final Path file;
    private volatile State state;

    private SnapshotRegistry(Path file, State state) {
        this.file = file;
        this.state = state;
    }

    /** Loads the registry of the state machine directory {@code dir} (empty when it has none). */
    static SnapshotRegistry load(Path dir) throws IOException {
        Path f = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(f)) {
            return new SnapshotRegistry(f, State.EMPTY);
        }
        return new SnapshotRegistry(f, decode(ByteBuffer.wrap(Files.readAllBytes(f)), f.toString()));
    }

    State state() {
        return state;
    }

    /** Applies {@code change} and saves the result durably before returning it. */
    synchronized State update(UnaryOperator<State> change) {
        State next = change.apply(state);
        if (!next.equals(state)) {
            save(next);
            state = next;
        }
        return next;
    }

    private void save(State s) {
        Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer b = encode(s);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                d.force(true);
            }
        } catch (IOException e) {
            // Not deterministic: a disk failure here stops this replica's group (as any apply failure).
            throw new BallastException(ErrorCode.IO_ERROR, "cannot save " + file + ": " + e, e);
        }
    }

    static ByteBuffer encode(State s) {
        byte[] origin = s.origin().getBytes(StandardCharsets.UTF_8);
        int size = 4 + 1 + 1 + 2 + 8 + 2 + origin.length + 4 + 4;
        for (Registered r : s.snapshots().values()) {
            size += 2 + r.id().getBytes(StandardCharsets.UTF_8).length + 24;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.putInt(MAGIC).put((byte) 1).put((byte) (s.filled() ? 1 : 0)).putShort((short) 0).putLong(s.fence())
                .putShort((short) origin.length).put(origin).putInt(s.snapshots().size());
        for (Registered r : s.snapshots().values()) {
            byte[] id = r.id().getBytes(StandardCharsets.UTF_8);
            b.putShort((short) id.length).put(id).putLong(r.index()).putLong(r.createdMillis()).putLong(r.sizeBytes());
        }
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        return b.putInt((int) crc.getValue()).flip();
    }

    /** Decodes a registry; an empty buffer is the empty registry. IOException when damaged. */
    static State decode(ByteBuffer raw, String what) throws IOException {
        if (!raw.hasRemaining()) {
            return State.EMPTY;
        }
        ByteBuffer b = raw.slice();
        try {
            if (b.remaining() < 26 || b.getInt(0) != MAGIC || b.get(4) != 1) {
                throw new IOException(what + " is not a Ballast snapshot registry");
            }
            CRC32C crc = new CRC32C();
            crc.update(b.duplicate().limit(b.limit() - 4));
            if ((int) crc.getValue() != b.getInt(b.limit() - 4)) {
                throw new IOException(what + " fails its CRC32C");
            }
            boolean filled = (b.get(5) & 1) != 0;
            b.position(8);
            long fence = b.getLong();
            String origin = string(b, Short.toUnsignedInt(b.getShort()));
            int count = b.getInt();
            TreeMap<String, Registered> m = new TreeMap<>();
            for (int i = 0; i < count; i++) {
                String id = string(b, Short.toUnsignedInt(b.getShort()));
                m.put(id, new Registered(id, b.getLong(), b.getLong(), b.getLong()));
            }
            return new State(origin, filled, fence, m);
        } catch (RuntimeException e) { // truncated fields under a matching CRC: not ours
            throw new IOException(what + " is malformed: " + e, e);
        }
    }

    private static String string(ByteBuffer b, int len) {
        byte[] n = new byte[len];
        b.get(n);
        return new String(n, StandardCharsets.UTF_8);
    }
}
