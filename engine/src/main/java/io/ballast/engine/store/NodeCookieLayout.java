package io.ballast.engine.store;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The identity "cookie" of a node's data directory (file {@value #FILE_NAME}), written once when
 * the directory is formatted and checked on every start so a node never runs on another node's
 * or another cluster's data. All integers little-endian.
 *
 * <pre>
 *  0                   8         12        16                  24        26        28
 *  +-------------------+---------+---------+-------------------+---------+---------+
 *  | magic "BLSTNODE"  | version | reserved| created (ms epoch)| clus len| node len|
 *  | 8 bytes           | u32     | u32 = 0 | i64               | u16     | u16     |
 *  +-------------------+---------+---------+-------------------+---------+---------+
 *  28                  28+c                28+c+n
 *  +-------------------+-------------------+---------+
 *  | cluster id UTF-8  | node id UTF-8     | crc32c  |  crc32c covers bytes [0, 28+c+n)
 *  | c bytes           | n bytes           | u32     |
 *  +-------------------+-------------------+---------+
 * </pre>
 *
 * <p>Every way of not matching (missing bytes, magic, checksum, version) is FOREIGN_FORMAT: the
 * node must refuse the directory and leave it alone for a person to look at.
 */
public final class NodeCookieLayout {
    public static final String FILE_NAME = "ballast-node.cookie";
    public static final long MAGIC = 0x45444F4E54534C42L; // "BLSTNODE" read little-endian
    public static final int FORMAT_VERSION = 1;

    public static final int MAGIC_OFFSET = 0;
    public static final int VERSION_OFFSET = 8;
    public static final int RESERVED_OFFSET = 12;
    public static final int CREATED_OFFSET = 16;
    public static final int CLUSTER_LENGTH_OFFSET = 24;
    public static final int NODE_LENGTH_OFFSET = 26;
    public static final int IDS_OFFSET = 28;
    public static final int CRC_LENGTH = 4;
    /** Longest id, in UTF-8 bytes. */
    public static final int MAX_ID_BYTES = 255;
    public static final int MAX_RECORD_BYTES = IDS_OFFSET + 2 * MAX_ID_BYTES + CRC_LENGTH;

    private NodeCookieLayout() {}

    /** Offset of the trailing checksum for ids of the given UTF-8 lengths. */
    public static int crcOffset(int clusterIdBytes, int nodeIdBytes) {
        return IDS_OFFSET + clusterIdBytes + nodeIdBytes;
    }

    /** Checks an id and returns its UTF-8 bytes; INVALID_ARGUMENT when empty or too long. */
    static byte[] idBytes(String what, String id) {
        if (id == null || id.isBlank()) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, what + " must not be empty");
        }
        byte[] bytes = id.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_ID_BYTES) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT,
                    what + " is " + bytes.length + " UTF-8 bytes; at most " + MAX_ID_BYTES + " allowed");
        }
        return bytes;
    }

    static ByteBuffer encode(NodeIdentity id) {
        byte[] cluster = idBytes("cluster id", id.clusterId());
        byte[] node = idBytes("node id", id.nodeId());
        int crcAt = crcOffset(cluster.length, node.length);
        ByteBuffer buf = ByteBuffer.allocate(crcAt + CRC_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(MAGIC_OFFSET, MAGIC)
                .putInt(VERSION_OFFSET, id.formatVersion())
                .putInt(RESERVED_OFFSET, 0)
                .putLong(CREATED_OFFSET, id.createdAt().toEpochMilli())
                .putShort(CLUSTER_LENGTH_OFFSET, (short) cluster.length)
                .putShort(NODE_LENGTH_OFFSET, (short) node.length)
                .put(IDS_OFFSET, cluster)
                .put(IDS_OFFSET + cluster.length, node);
        buf.putInt(crcAt, Durable.crc32c(buf, 0, crcAt));
        return buf;
    }

    /** Decodes and checks a cookie read from {@code file}; FOREIGN_FORMAT on any mismatch. */
    static NodeIdentity decode(ByteBuffer raw, Path file) {
        ByteBuffer buf = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int len = buf.remaining();
        if (len < IDS_OFFSET + CRC_LENGTH) {
            throw foreign(file, "it is " + len + " bytes, shorter than any cookie");
        }
        long magic = buf.getLong(MAGIC_OFFSET);
        if (magic != MAGIC) {
            throw foreign(file, String.format("magic is 0x%016x, expected 0x%016x (\"BLSTNODE\")", magic, MAGIC));
        }
        int version = buf.getInt(VERSION_OFFSET);
        int clusterLen = Short.toUnsignedInt(buf.getShort(CLUSTER_LENGTH_OFFSET));
        int nodeLen = Short.toUnsignedInt(buf.getShort(NODE_LENGTH_OFFSET));
        int crcAt = crcOffset(clusterLen, nodeLen);
        if (crcAt + CRC_LENGTH != len) {
            throw foreign(file, "id lengths (" + clusterLen + ", " + nodeLen + ") do not match the file size "
                    + len + "; the cookie is damaged");
        }
        int stored = buf.getInt(crcAt);
        int actual = Durable.crc32c(buf, 0, crcAt);
        if (stored != actual) {
            throw foreign(file, String.format("checksum is 0x%08x, computed 0x%08x; the cookie is damaged",
                    stored, actual));
        }
        if (version != FORMAT_VERSION) {
            throw foreign(file, "format version is " + version + ", this Ballast understands only "
                    + FORMAT_VERSION + " (written by a newer or older Ballast?)");
        }
        byte[] cluster = new byte[clusterLen];
        byte[] node = new byte[nodeLen];
        buf.get(IDS_OFFSET, cluster).get(IDS_OFFSET + clusterLen, node);
        return new NodeIdentity(new String(cluster, StandardCharsets.UTF_8), new String(node, StandardCharsets.UTF_8),
                version, Instant.ofEpochMilli(buf.getLong(CREATED_OFFSET)));
    }

    private static BallastException foreign(Path file, String why) {
        return new BallastException(ErrorCode.FOREIGN_FORMAT,
                "refusing data directory " + file.getParent() + ": cookie " + file.getFileName() + " " + why);
    }
}
