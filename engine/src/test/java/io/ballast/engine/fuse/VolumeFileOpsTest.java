package io.ballast.engine.fuse;

import io.ballast.engine.sys.Errno;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.MemoryBlockVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * How requests become volume calls and replies, without a kernel: requests are decoded from bytes
 * laid out as the kernel's, answered by {@link VolumeFileOps} over a {@link MemoryBlockVolume}, and
 * the replies are read back from the bytes the session would write to /dev/fuse.
 */
class VolumeFileOpsTest {
    private static final int MIB = 1 << 20;
    private final MemoryBlockVolume volume = new MemoryBlockVolume("v", 8 * MIB);
    private final FuseCounters counters = new FuseCounters();
    private final VolumeFileOps ops = new VolumeFileOps(volume, FuseExportConfig.defaults(), counters, 0, 0, 0);
    private final List<Reply> replies = new ArrayList<>();
    private long nextUnique = 100;

    /** What reached the kernel: the header fields and a copy of the body. */
    record Reply(long unique, int error, byte[] body) {
        ByteBuffer le() {
            return ByteBuffer.wrap(body).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        }
    }

    private final VolumeFileOps.Replies out = new VolumeFileOps.Replies() {
        @Override
        public void reply(FuseBuffer buffer, int length) {
            ByteBuffer b = buffer.bytes;
            assertEquals(length, b.getInt(0), "out header len");
            byte[] body = new byte[length - 16];
            b.get(16, body);
            synchronized (replies) {
                replies.add(new Reply(b.getLong(8), b.getInt(4), body));
            }
        }

        @Override
        public void noReply(FuseBuffer buffer) {
        }
    };

    /** Lays out a request (header + body) in a fresh buffer and hands it to the ops; returns its unique. */
    private long send(int opcode, long nodeId, ByteBuffer body) {
        long unique = nextUnique++;
        FuseBuffer buf = new FuseBuffer(FuseExportConfig.defaults().bufferSize());
        ByteBuffer b = buf.bytes;
        int len = 40 + body.remaining();
        b.putInt(0, len).putInt(4, opcode).putLong(8, unique).putLong(16, nodeId);
        b.put(40, body, body.position(), body.remaining());
        ops.handle(FuseRequestDecoder.decode(b, len), buf, out);
        return unique;
    }

    private static ByteBuffer body(int size) {
        return ByteBuffer.allocate(size).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    private long read(long offset, int size) {
        return send(FuseConstants.READ, FuseConstants.FILE_ID, body(40).putLong(0, 1).putLong(8, offset).putInt(16, size));
    }

    private long write(long offset, byte[] data) {
        ByteBuffer b = body(40 + data.length).putLong(0, 1).putLong(8, offset).putInt(16, data.length);
        b.put(40, data);
        return send(FuseConstants.WRITE, FuseConstants.FILE_ID, b);
    }

    private Reply reply(long unique) {
        synchronized (replies) {
            return replies.stream().filter(r -> r.unique() == unique).findFirst()
                    .orElseThrow(() -> new AssertionError("no reply to " + unique + " in " + replies));
        }
    }

    private boolean replied(long unique) {
        synchronized (replies) {
            return replies.stream().anyMatch(r -> r.unique() == unique);
        }
    }

    private long init(int major, int minor, int flags) {
        return send(FuseConstants.INIT, 0, body(64).putInt(0, major).putInt(4, minor).putInt(8, 128 * 1024).putInt(12, flags));
    }

    @Test
    void initAnswersOurLimitsAndTheFlagsBothSidesHave() throws Exception {
        long u = init(7, 45, 0xffffffff & ~FuseConstants.INIT_PARALLEL_DIROPS);
        ByteBuffer r = reply(u).le();
        assertEquals(0, reply(u).error());
        assertEquals(7, r.getInt(0));
        assertEquals(38, r.getInt(4)); // the lower minor
        assertEquals(128 * 1024, r.getInt(8));
        int flags = r.getInt(12);
        assertEquals(FuseConstants.INIT_ASYNC_READ | FuseConstants.INIT_BIG_WRITES | FuseConstants.INIT_ASYNC_DIO
                | FuseConstants.INIT_MAX_PAGES, flags, "PARALLEL_DIROPS not offered, WRITEBACK_CACHE never asked");
        assertEquals(MIB, r.getInt(20));
        assertEquals(256, r.getShort(28));
        FuseConnectionInfo info = ops.initialized().get();
        assertTrue(info.asyncDirectIo());
        assertEquals(45, info.kernelMinor());
    }

    @Test
    void initRefusesAnOldOrForeignProtocol() {
        long u = init(7, 27, 0);
        assertEquals(-Errno.EPROTO, reply(u).error());
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> ops.initialized().get());
        assertTrue(e.getCause().getMessage().contains("7.27"), e.getCause().getMessage());
    }

    @Test
    void lookupGetattrAndStatfsDescribeOneFileOfTheVolumesSize() {
        byte[] name = "volume\0".getBytes();
        long u = send(FuseConstants.LOOKUP, FuseConstants.ROOT_ID, body(name.length).put(0, name));
        ByteBuffer e = reply(u).le();
        assertEquals(FuseConstants.FILE_ID, e.getLong(0));
        assertEquals(8 * MIB, e.getLong(40 + 8));
        long missing = send(FuseConstants.LOOKUP, FuseConstants.ROOT_ID, body(3).put(0, "x\0\0".getBytes()));
        assertEquals(-Errno.ENOENT, reply(missing).error());
        volume.resize(12 * MIB).join();
        long g = send(FuseConstants.GETATTR, FuseConstants.FILE_ID, body(16));
        assertEquals(12 * MIB, reply(g).le().getLong(16 + 8), "GETATTR reads the volume's size now");
        assertEquals(0100600, reply(g).le().getInt(16 + 60));
        long s = send(FuseConstants.STATFS, FuseConstants.ROOT_ID, body(0));
        assertEquals(12 * MIB / 4096, reply(s).le().getLong(0));
        long unknown = send(9 /* MKDIR */, FuseConstants.ROOT_ID, body(8));
        assertEquals(-Errno.ENOSYS, reply(unknown).error());
    }

    @Test
    void writesAndReadsReachTheVolumeAndReadsStopAtTheEnd() {
        byte[] data = new byte[10_000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 31);
        }
        long w = write(4096 + 3, data);
        assertEquals(0, reply(w).error());
        assertEquals(data.length, reply(w).le().getInt(0));
        assertArrayEquals(data, volume.bytes(4096 + 3, data.length));
        long r = read(4096 + 3, data.length);
        assertArrayEquals(data, reply(r).body());
        long tail = read(8 * MIB - 100, 4096);
        assertEquals(100, reply(tail).body().length, "a read past the end is short, as on a file");
        long beyond = read(8 * MIB, 4096);
        assertEquals(0, reply(beyond).body().length);
        long outside = write(8 * MIB - 10, new byte[20]);
        assertEquals(-Errno.EFBIG, reply(outside).error());
    }

    @Test
    void fsyncAndFlushAreAnsweredOnlyAfterTheVolumeFlushed() {
        CompletableFuture<Void> gate = new CompletableFuture<>();
        volume.interceptor(c -> c.op() == MemoryBlockVolume.Op.FLUSH ? gate : null);
        long fsync = send(FuseConstants.FSYNC, FuseConstants.FILE_ID, body(16).putLong(0, 1));
        long flush = send(FuseConstants.FLUSH, FuseConstants.FILE_ID, body(24).putLong(0, 1));
        assertFalse(replied(fsync));
        assertFalse(replied(flush));
        gate.complete(null);
        assertEquals(0, reply(fsync).error());
        assertEquals(0, reply(flush).error());
        assertEquals(2, volume.calls().stream().filter(c -> c.op() == MemoryBlockVolume.Op.FLUSH).count());
    }

    @Test
    void repliesLeaveInCompletionOrderAndFailuresBecomeErrno() {
        CompletableFuture<Void> slow = new CompletableFuture<>();
        volume.interceptor(c -> c.op() == MemoryBlockVolume.Op.READ && c.offset() == 0 ? slow
                : c.op() == MemoryBlockVolume.Op.WRITE ? CompletableFuture.failedFuture(
                        new BallastException(ErrorCode.CORRUPTION, "bad block")) : null);
        long first = read(0, 4096);
        long second = read(MIB, 4096);
        assertTrue(replied(second));
        assertFalse(replied(first));
        slow.complete(null);
        assertEquals(List.of(second, first), replies.stream().map(Reply::unique).toList());
        long w = write(0, new byte[4096]);
        assertEquals(-Errno.EIO, reply(w).error());
        assertEquals(1, counters.snapshot().errors());
    }

    @Test
    void fallocateZeroesOrRefuses() {
        volume.fill(0, new byte[] {1, 2, 3});
        // PUNCH_HOLE | KEEP_SIZE (the loop driver's DISCARD): must read back as zeroes
        long punch = send(FuseConstants.FALLOCATE, FuseConstants.FILE_ID,
                body(32).putLong(0, 1).putLong(8, 0).putLong(16, 8192).putInt(24, 3));
        assertEquals(0, reply(punch).error());
        assertArrayEquals(new byte[3], volume.bytes(0, 3));
        long zero = send(FuseConstants.FALLOCATE, FuseConstants.FILE_ID,
                body(32).putLong(0, 1).putLong(8, 4096).putLong(16, 4096).putInt(24, 0x11));
        assertEquals(0, reply(zero).error());
        var zeroCalls = volume.calls().stream().filter(c -> c.op() == MemoryBlockVolume.Op.WRITE_ZEROES).toList();
        assertEquals(List.of(true, false), zeroCalls.stream().map(MemoryBlockVolume.Call::mayPunchHole).toList());
        long allocate = send(FuseConstants.FALLOCATE, FuseConstants.FILE_ID,
                body(32).putLong(0, 1).putLong(8, 0).putLong(16, 4096).putInt(24, 0));
        assertEquals(-Errno.EOPNOTSUPP, reply(allocate).error());
    }

    @Test
    void forgetAndInterruptAreNotAnswered() {
        send(FuseConstants.FORGET, FuseConstants.FILE_ID, body(8).putLong(0, 1));
        send(FuseConstants.INTERRUPT, 0, body(8).putLong(0, 77));
        assertTrue(replies.isEmpty(), replies::toString);
    }
}
