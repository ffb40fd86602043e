package io.ballast.replication.entry;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

/**
 * Binary layout of a volume group's Raft log entries (and of the query messages that use the
 * same framing). Big-endian.
 *
 * <pre>
 *  0         4     5     6           8                       16          20
 *  +---------+-----+-----+-----------+-----------------------+-----------+
 *  | magic   | ver | kind| count     | epoch                 | bodyLen   |   header (20 bytes)
 *  +---------+-----+-----+-----------+-----------------------+-----------+
 *  | body: kind-specific, bodyLen bytes                                  |
 *  +---------------------------------------------------------------------+
 *  | crc32c over header + body (4)                                       |   trailer
 *  +---------------------------------------------------------------------+
 *
 *  OPS body: count records, each
 *  0      1       2          4            8                  16                 24
 *  +------+-------+----------+------------+------------------+------------------+---------+
 *  | type | flags | reserved | dataLen    | offset           | length           | data... |
 *  +------+-------+----------+------------+------------------+------------------+---------+
 *  WRITE: data = the bytes (dataLen == length); TRIM, ZEROES (flags bit0 = may punch hole):
 *  dataLen 0; RESIZE: offset = new size, length 0.
 *
 *  CREATE body: size (8) + volume name (UTF-8, rest of body).   count = 0
 *  ATTACH body: empty; epoch = the new writer epoch.             count = 0
 *  SNAPSHOT body: created (ms epoch, 8) + snapshot id (UTF-8, rest of body)
 *  DELETE_SNAPSHOT body: snapshot id (UTF-8)
 *  CREATE_CLONE body: size (8) + name length (2) + volume name + source "volume@snapshot" (rest)
 *  FILLED body: source "volume@snapshot" (the clone's fill from it is complete)
 *  QUERY_INFO, QUERY_FENCE: empty.  QUERY_READ: one record (type READ) without data; epoch 0 (peers'
 *  rebuild and repair) or the asking frontend's writer epoch (refused unless current); flags bit1 (SPARSE):
 *  an all-zero range is answered with an empty reply.
 *  QUERY_CHANGED body: a log index (8); the reply is {@link RegionGenerations.Changed}.
 * </pre>
 *
 * Every OPS entry carries the writer epoch of the handle that built it (fencing). A batch entry
 * carries up to 65535 records (group commit). The CRC makes a damaged entry detectable: it is
 * refused in {@code startTransaction} and, should it reach apply, ignored on every replica alike.
 *
 * <p>Apply replies: {@code count (2)} then one status byte per record (or one for the other kinds).
 */
public final class VolumeLogLayout {
    public static final int MAGIC = 0x42414C56; // "BALV"
    public static final byte VERSION = 1;
    public static final int HEADER = 20;
    public static final int TRAILER = 4;
    public static final int RECORD_HEADER = 24;

    public static final byte KIND_CREATE = 1;
    public static final byte KIND_ATTACH = 2;
    public static final byte KIND_OPS = 3;
    public static final byte KIND_SNAPSHOT = 4;
    public static final byte KIND_DELETE_SNAPSHOT = 5;
    public static final byte KIND_CREATE_CLONE = 6;
    public static final byte KIND_FILLED = 7;
    public static final byte KIND_QUERY_INFO = 10;
    public static final byte KIND_QUERY_READ = 11;
    /** The read fence's question: the writer epoch this replica has applied (reply: epoch 8 + applied index 8). */
    public static final byte KIND_QUERY_FENCE = 12;
    /** Which regions changed after a log index ({@link io.ballast.replication.rebuild.RegionGenerations RegionGenerations}): an incremental rebuild's question. */
    public static final byte KIND_QUERY_CHANGED = 13;
    /**
     * A range of this replica's copy of a snapshot (its id as the name, the index it was taken at in
     * the epoch field, one READ record): a replica without a copy fetches one from a peer.
     */
    public static final byte KIND_QUERY_SNAPSHOT_READ = 14;

    public static final byte OP_WRITE = 1;
    public static final byte OP_TRIM = 2;
    public static final byte OP_ZEROES = 3;
    public static final byte OP_RESIZE = 4;
    public static final byte OP_READ = 5;
    public static final byte FLAG_PUNCH = 1;
    /** QUERY_READ: answer an all-zero range with an empty reply instead of its zeroes (rebuild). */
    public static final byte FLAG_SPARSE = 2;

    public static final byte ST_OK = 0;
    public static final byte ST_FENCED = 1;
    public static final byte ST_OUT_OF_RANGE = 2;
    public static final byte ST_INVALID = 3;
    public static final byte ST_PRECONDITION = 4;
    public static final byte ST_CORRUPT_ENTRY = 5;
    /** SNAPSHOT: the id was taken by an earlier entry; this one changed nothing. */
    public static final byte ST_EXISTS = 6;

    private VolumeLogLayout() {}

    /** One record of an OPS entry; {@code data} is a read-only slice for WRITE, else null. */
    public record Op(byte type, byte flags, long offset, long length, ByteBuffer data) {
        public int encodedSize() {
            return RECORD_HEADER + (data == null ? 0 : data.remaining());
        }
    }

    /**
     * A decoded entry. {@code name}: the volume (CREATE, CREATE_CLONE) or snapshot id (SNAPSHOT,
     * DELETE_SNAPSHOT); {@code size}: the volume size, or the snapshot's creation time;
     * {@code source}: "volume@snapshot" (CREATE_CLONE, FILLED), else null.
     */
    public record Entry(byte kind, long epoch, List<Op> ops, String name, long size, String source) {
        Entry(byte kind, long epoch, List<Op> ops, String name, long size) {
            this(kind, epoch, ops, name, size, null);
        }
    }

    public static ByteBuffer create(String name, long size) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = begin(KIND_CREATE, 0, 0, 8 + n.length);
        b.putLong(size).put(n);
        return finish(b);
    }

    /** CREATE of a volume to be filled from {@code source} ("volume@snapshot"). */
    public static ByteBuffer createClone(String name, long size, String source) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        byte[] src = source.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = begin(KIND_CREATE_CLONE, 0, 0, 10 + n.length + src.length);
        b.putLong(size).putShort((short) n.length).put(n).put(src);
        return finish(b);
    }

    public static ByteBuffer snapshot(String id, long createdMillis) {
        byte[] n = id.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = begin(KIND_SNAPSHOT, 0, 0, 8 + n.length);
        b.putLong(createdMillis).put(n);
        return finish(b);
    }

    public static ByteBuffer deleteSnapshot(String id) {
        byte[] n = id.getBytes(StandardCharsets.UTF_8);
        return finish(begin(KIND_DELETE_SNAPSHOT, 0, 0, n.length).put(n));
    }

    public static ByteBuffer filled(String source) {
        byte[] n = source.getBytes(StandardCharsets.UTF_8);
        return finish(begin(KIND_FILLED, 0, 0, n.length).put(n));
    }

    public static ByteBuffer attach(long epoch) {
        return finish(begin(KIND_ATTACH, 0, epoch, 0));
    }

    public static ByteBuffer queryInfo() {
        return finish(begin(KIND_QUERY_INFO, 0, 0, 0));
    }

    public static ByteBuffer queryChanged(long sinceIndex) {
        return finish(begin(KIND_QUERY_CHANGED, 0, 0, 8).putLong(sinceIndex));
    }

    public static ByteBuffer queryFence() {
        return finish(begin(KIND_QUERY_FENCE, 0, 0, 0));
    }

    public static ByteBuffer queryRead(long offset, int length) {
        return queryRead(offset, length, (byte) 0);
    }

    /** A peer's read (a repair, a rebuild's copy): no writer epoch, so not fenced. */
    public static ByteBuffer queryRead(long offset, int length, byte flags) {
        ByteBuffer b = begin(KIND_QUERY_READ, 1, 0, RECORD_HEADER);
        putRecord(b, new Op(OP_READ, flags, offset, length, null));
        return finish(b);
    }

    /**
     * A frontend's reads with writer {@code epoch}, one or several in one query ({@code ranges}:
     * offset, length pairs): one round trip and one read index for a burst of reads; the reply is
     * their bytes one after the other. Refused (fenced) unless {@code epoch} is the volume's.
     */
    public static ByteBuffer queryReads(long epoch, long[] ranges, int count) {
        if (count < 1 || count > 0xFFFF) {
            throw new IllegalArgumentException("a query of " + count + " reads");
        }
        ByteBuffer b = begin(KIND_QUERY_READ, count, epoch, count * RECORD_HEADER);
        for (int i = 0; i < count; i++) {
            putRecord(b, new Op(OP_READ, (byte) 0, ranges[2 * i], ranges[2 * i + 1], null));
        }
        return finish(b);
    }

    /** QUERY_SNAPSHOT_READ of [offset, +length) of snapshot {@code id} taken at log index {@code tag}. */
    public static ByteBuffer querySnapshotRead(String id, long tag, long offset, int length, byte flags) {
        byte[] n = id.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = begin(KIND_QUERY_SNAPSHOT_READ, 1, tag, RECORD_HEADER + n.length);
        putRecord(b, new Op(OP_READ, flags, offset, length, null));
        return finish(b.put(n));
    }

    public static ByteBuffer ops(long epoch, List<Op> ops) {
        if (ops.size() > 0xFFFF) {
            throw new IllegalArgumentException("too many records: " + ops.size());
        }
        int body = 0;
        for (Op op : ops) {
            body += op.encodedSize();
        }
        ByteBuffer b = begin(KIND_OPS, ops.size(), epoch, body);
        for (Op op : ops) {
            putRecord(b, op);
        }
        return finish(b);
    }

    private static ByteBuffer begin(byte kind, int count, long epoch, int bodyLen) {
        ByteBuffer b = ByteBuffer.allocate(HEADER + bodyLen + TRAILER).order(ByteOrder.BIG_ENDIAN);
        return b.putInt(MAGIC).put(VERSION).put(kind).putShort((short) count).putLong(epoch).putInt(bodyLen);
    }

    private static void putRecord(ByteBuffer b, Op op) {
        int dataLen = op.data == null ? 0 : op.data.remaining();
        b.put(op.type).put(op.flags).putShort((short) 0).putInt(dataLen).putLong(op.offset).putLong(op.length);
        if (op.data != null) {
            b.put(op.data.duplicate());
        }
    }

    private static ByteBuffer finish(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, b.position());
        b.putInt((int) crc.getValue());
        return b.flip();
    }

    /**
     * Decodes and verifies an entry; WRITE data are zero-copy slices of {@code buf}. INVALID_ARGUMENT
     * for a malformed entry, CORRUPTION for a CRC mismatch.
     */
    public static Entry decode(ByteBuffer buf) {
        return decode(buf, length -> {
            CRC32C crc = new CRC32C();
            crc.update(buf.slice().limit(length));
            return (int) crc.getValue();
        });
    }

    /**
     * {@link #decode(ByteBuffer)} of a message's bytes, summed where they lie (see
     * {@link ByteStringCrc32c}): the form for entries on the write path.
     */
    public static Entry decode(ByteString bytes) {
        return decode(bytes.asReadOnlyByteBuffer(), length -> ByteStringCrc32c.of(bytes.substring(0, length)));
    }

    /** The CRC32C of an entry's first {@code length} bytes. */
    private interface Crc {
        int of(int length);
    }

    private static Entry decode(ByteBuffer buf, Crc sum) {
        ByteBuffer b = buf.slice().order(ByteOrder.BIG_ENDIAN);
        if (b.remaining() < HEADER + TRAILER) {
            throw invalid("entry of " + b.remaining() + " bytes is shorter than its header");
        }
        if (b.getInt(0) != MAGIC) {
            throw invalid("bad magic " + Integer.toHexString(b.getInt(0)));
        }
        if (b.get(4) != VERSION) {
            throw invalid("unknown entry version " + b.get(4));
        }
        byte kind = b.get(5);
        int count = Short.toUnsignedInt(b.getShort(6));
        long epoch = b.getLong(8);
        int bodyLen = b.getInt(16);
        if (bodyLen < 0 || bodyLen != b.remaining() - HEADER - TRAILER) {
            throw invalid("body length " + bodyLen + " does not match entry size " + b.remaining());
        }
        if (sum.of(HEADER + bodyLen) != b.getInt(HEADER + bodyLen)) {
            throw new BallastException(ErrorCode.CORRUPTION, "volume log entry fails its CRC32C");
        }
        ByteBuffer body = b.duplicate().position(HEADER).limit(HEADER + bodyLen).slice().order(ByteOrder.BIG_ENDIAN);
        switch (kind) {
            case KIND_CREATE -> {
                if (bodyLen < 9) {
                    throw invalid("CREATE body too short");
                }
                long size = body.getLong();
                byte[] n = new byte[body.remaining()];
                body.get(n);
                return new Entry(kind, epoch, List.of(), new String(n, StandardCharsets.UTF_8), size);
            }
            case KIND_SNAPSHOT -> {
                if (bodyLen < 9) {
                    throw invalid("SNAPSHOT body too short");
                }
                long created = body.getLong();
                return new Entry(kind, epoch, List.of(), utf8(body), created);
            }
            case KIND_DELETE_SNAPSHOT -> {
                return new Entry(kind, epoch, List.of(), utf8(body), 0);
            }
            case KIND_FILLED -> {
                return new Entry(kind, epoch, List.of(), null, 0, utf8(body));
            }
            case KIND_CREATE_CLONE -> {
                if (bodyLen < 10) {
                    throw invalid("CREATE_CLONE body too short");
                }
                long size = body.getLong();
                int nameLen = Short.toUnsignedInt(body.getShort());
                if (nameLen > body.remaining()) {
                    throw invalid("CREATE_CLONE name length " + nameLen + " exceeds the entry");
                }
                String name = utf8(body.slice(body.position(), nameLen));
                body.position(body.position() + nameLen);
                return new Entry(kind, epoch, List.of(), name, size, utf8(body));
            }
            case KIND_QUERY_CHANGED -> {
                if (bodyLen != 8) {
                    throw invalid("QUERY_CHANGED body of " + bodyLen + " bytes, not 8");
                }
                return new Entry(kind, epoch, List.of(), null, body.getLong());
            }
            case KIND_QUERY_SNAPSHOT_READ -> {
                if (count != 1 || bodyLen <= RECORD_HEADER) {
                    throw invalid("QUERY_SNAPSHOT_READ needs one READ record and a snapshot id");
                }
                Op read = readRecord(body, 0);
                if (read.type() != OP_READ) {
                    throw invalid("QUERY_SNAPSHOT_READ record of type " + read.type());
                }
                return new Entry(kind, epoch, List.of(read), utf8(body), 0);
            }
            case KIND_ATTACH, KIND_QUERY_INFO, KIND_QUERY_FENCE -> {
                return new Entry(kind, epoch, List.of(), null, 0);
            }
            case KIND_OPS, KIND_QUERY_READ -> {
                List<Op> ops = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    ops.add(readRecord(body, i));
                }
                if (body.hasRemaining()) {
                    throw invalid(body.remaining() + " trailing bytes after " + count + " records");
                }
                return new Entry(kind, epoch, ops, null, 0);
            }
            default -> throw invalid("unknown entry kind " + kind);
        }
    }

    /** Record {@code i} at {@code body}'s position (header, then a WRITE's data), checked; the position moves past it. */
    private static Op readRecord(ByteBuffer body, int i) {
        if (body.remaining() < RECORD_HEADER) {
            throw invalid("record " + i + " truncated");
        }
        byte type = body.get();
        byte flags = body.get();
        body.getShort();
        int dataLen = body.getInt();
        long offset = body.getLong();
        long length = body.getLong();
        if (dataLen < 0 || dataLen > body.remaining()) {
            throw invalid("record " + i + " data length " + dataLen + " exceeds the entry");
        }
        ByteBuffer data = null;
        if (type == OP_WRITE) {
            if (dataLen != length) {
                throw invalid("WRITE record " + i + " carries " + dataLen + " bytes for length " + length);
            }
            data = body.slice(body.position(), dataLen).asReadOnlyBuffer();
        } else if (dataLen != 0 || type < OP_WRITE || type > OP_READ) {
            throw invalid("record " + i + " has type " + type + " with " + dataLen + " data bytes");
        }
        body.position(body.position() + dataLen);
        return new Op(type, flags, offset, length, data);
    }

    /** Where a WRITE record's data lies in an encoded entry, and the volume offset it goes to. */
    public record Payload(int position, int length, long offset) {
    }

    /**
     * The data of each WRITE record of an OPS entry, in record order, found from the framing alone
     * (no CRC check: the journal uses this to place the bytes, {@link #decode} judges the entry).
     * Empty for any other entry, and for one whose framing does not hold together.
     */
    public static List<Payload> payloads(ByteBuffer entry) {
        ByteBuffer b = entry.slice().order(ByteOrder.BIG_ENDIAN);
        if (b.remaining() < HEADER + TRAILER || b.getInt(0) != MAGIC || b.get(4) != VERSION || b.get(5) != KIND_OPS
                || b.getInt(16) != b.remaining() - HEADER - TRAILER) {
            return List.of();
        }
        int count = Short.toUnsignedInt(b.getShort(6));
        int end = b.remaining() - TRAILER;
        List<Payload> found = new ArrayList<>();
        int pos = HEADER;
        for (int i = 0; i < count; i++) {
            if (end - pos < RECORD_HEADER) {
                return List.of();
            }
            int dataLen = b.getInt(pos + 4);
            if (dataLen < 0 || dataLen > end - pos - RECORD_HEADER) {
                return List.of();
            }
            if (b.get(pos) == OP_WRITE && dataLen > 0) {
                found.add(new Payload(pos + RECORD_HEADER, dataLen, b.getLong(pos + 8)));
            }
            pos += RECORD_HEADER + dataLen;
        }
        return found;
    }

    private static String utf8(ByteBuffer b) {
        byte[] n = new byte[b.remaining()];
        b.get(n);
        return new String(n, StandardCharsets.UTF_8);
    }

    public static ByteBuffer reply(byte[] statuses) {
        return ByteBuffer.allocate(2 + statuses.length).putShort((short) statuses.length).put(statuses).flip();
    }

    public static byte[] decodeReply(ByteBuffer b) {
        int n = Short.toUnsignedInt(b.getShort());
        byte[] s = new byte[n];
        b.get(s);
        return s;
    }

    /**
     * Applied state a rebuilding follower copies from: volume, size, (term, index), epoch, and the
     * group's snapshot registry ({@link io.ballast.replication.snapshot.SnapshotRegistry SnapshotRegistry} bytes; empty from a node that has none).
     * size (8) term (8) index (8) epoch (8) nameLen (2) name, registry (rest).
     */
    public record Info(String name, long size, long term, long index, long epoch, ByteBuffer registry) {
        public ByteBuffer encode() {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(34 + n.length + registry.remaining()).putLong(size).putLong(term).putLong(index)
                    .putLong(epoch).putShort((short) n.length).put(n).put(registry.duplicate()).flip();
        }

        public static Info decode(ByteBuffer b) {
            long size = b.getLong();
            long term = b.getLong();
            long index = b.getLong();
            long epoch = b.getLong();
            byte[] n = new byte[Short.toUnsignedInt(b.getShort())];
            b.get(n);
            return new Info(new String(n, StandardCharsets.UTF_8), size, term, index, epoch, b.slice());
        }
    }

    private static BallastException invalid(String msg) {
        return new BallastException(ErrorCode.INVALID_ARGUMENT, "volume log entry: " + msg);
    }
}
