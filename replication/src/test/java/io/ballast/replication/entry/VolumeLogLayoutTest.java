package io.ballast.replication.entry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.util.List;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.junit.jupiter.api.Test;

class VolumeLogLayoutTest {
    @Test
    void batchRoundTripsAndEveryFlippedBitIsDetected() {
        ByteBuffer e = VolumeLogLayout.ops(7, List.of(
                new VolumeLogLayout.Op(VolumeLogLayout.OP_WRITE, (byte) 0, 4096, 3, ByteBuffer.wrap(new byte[] {1, 2, 3})),
                new VolumeLogLayout.Op(VolumeLogLayout.OP_ZEROES, VolumeLogLayout.FLAG_PUNCH, 0, 8192, null)));
        VolumeLogLayout.Entry d = VolumeLogLayout.decode(e.duplicate());
        assertEquals(7, d.epoch());
        assertEquals(2, d.ops().size());
        assertEquals(ByteBuffer.wrap(new byte[] {1, 2, 3}), d.ops().get(0).data());
        assertEquals(8192, d.ops().get(1).length());
        for (int bit = 0; bit < e.remaining() * 8; bit++) {
            ByteBuffer c = ByteBuffer.allocate(e.remaining()).put(e.duplicate()).flip();
            c.put(bit / 8, (byte) (c.get(bit / 8) ^ (1 << (bit % 8))));
            BallastException x = assertThrows(BallastException.class, () -> VolumeLogLayout.decode(c));
            assertEquals(true, x.code() == ErrorCode.CORRUPTION || x.code() == ErrorCode.INVALID_ARGUMENT);
        }
    }

    @Test
    void aSnapshotReadQueryRoundTrips() {
        ByteBuffer q = VolumeLogLayout.querySnapshotRead("s-1", 42, 8L << 20, 4 << 20, VolumeLogLayout.FLAG_SPARSE);
        VolumeLogLayout.Entry d = VolumeLogLayout.decode(q.duplicate());
        assertEquals(VolumeLogLayout.KIND_QUERY_SNAPSHOT_READ, d.kind());
        assertEquals("s-1", d.name());
        assertEquals(42, d.epoch(), "the index the snapshot was taken at");
        VolumeLogLayout.Op op = d.ops().get(0);
        assertEquals(List.of(VolumeLogLayout.OP_READ, VolumeLogLayout.FLAG_SPARSE, 8L << 20, 4L << 20),
                List.of(op.type(), op.flags(), op.offset(), op.length()));
    }

    @Test
    void aQueryOfSeveralReadsRoundTripsWithItsEpoch() {
        ByteBuffer q = VolumeLogLayout.queryReads(5, new long[] {0, 4096, 1 << 20, 8192, 12288, 4096}, 3);
        VolumeLogLayout.Entry d = VolumeLogLayout.decode(q.duplicate());
        assertEquals(VolumeLogLayout.KIND_QUERY_READ, d.kind());
        assertEquals(5, d.epoch());
        assertEquals(List.of(0L, 1L << 20, 12288L), d.ops().stream().map(VolumeLogLayout.Op::offset).toList());
        assertEquals(List.of(4096L, 8192L, 4096L), d.ops().stream().map(VolumeLogLayout.Op::length).toList());
        assertThrows(IllegalArgumentException.class, () -> VolumeLogLayout.queryReads(5, new long[0], 0));
    }

    @Test
    void aMessageDecodesAsItsBytesDoInEveryShapeAProtobufByteStringTakes() {
        byte[] data = new byte[256 << 10];
        new java.util.Random(5).nextBytes(data);
        ByteBuffer e = VolumeLogLayout.ops(9, List.of(
                new VolumeLogLayout.Op(VolumeLogLayout.OP_WRITE, (byte) 0, 1 << 20, data.length, ByteBuffer.wrap(data))));
        byte[] raw = new byte[e.remaining()];
        e.duplicate().get(raw);
        int half = raw.length / 2;
        List<ByteString> shapes = List.of(
                ByteString.copyFrom(raw),
                // a slice of a larger array, and a rope of two pieces (what a parse or a concat gives)
                ByteString.copyFrom(concat(new byte[7], raw)).substring(7),
                ByteString.copyFrom(raw, 0, half).concat(ByteString.copyFrom(raw, half, raw.length - half)),
                UnsafeByteOperations.unsafeWrap(ByteBuffer.allocateDirect(raw.length).put(raw).flip()));
        for (ByteString s : shapes) {
            VolumeLogLayout.Entry d = VolumeLogLayout.decode(s);
            assertEquals(9, d.epoch());
            assertEquals(ByteBuffer.wrap(data), d.ops().get(0).data());
            byte[] bad = s.toByteArray();
            bad[bad.length / 3] ^= 1;
            BallastException x = assertThrows(BallastException.class,
                    () -> VolumeLogLayout.decode(ByteString.copyFrom(bad, 0, half).concat(ByteString.copyFrom(bad, half, bad.length - half))));
            assertEquals(ErrorCode.CORRUPTION, x.code());
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
