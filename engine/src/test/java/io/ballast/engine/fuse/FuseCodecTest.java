package io.ballast.engine.fuse;

import io.ballast.engine.sys.Errno;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Golden-byte tests of the FUSE codec: requests laid out by hand as the kernel's structs
 * ({@code include/uapi/linux/fuse.h}) decode to the right values, and replies encode to the exact
 * bytes the kernel expects. No kernel needed.
 */
class FuseCodecTest {
    /** fuse_in_header: len, opcode, unique 0x0102030405060708, nodeid, uid 1000, gid 100, pid 0x1234. */
    private static String header(int len, int opcode, long nodeId) {
        return String.format("%s %s 0807060504030201 %s e8030000 64000000 34120000 0000 0000",
                le32(len), le32(opcode), le64(nodeId));
    }

    private static String le32(int v) {
        return String.format("%02x%02x%02x%02x", v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    }

    private static String le64(long v) {
        return le32((int) v) + le32((int) (v >>> 32));
    }

    private static FuseRequest decode(String hex) {
        ByteBuffer b = Hex.buffer(hex, 0);
        return FuseRequestDecoder.decode(b, Hex.bytes(hex).length);
    }

    @Test
    void initWithExtendedFlags() {
        // major 7, minor 45, max_readahead 128 KiB, flags with INIT_EXT (bit 30) + ASYNC_DIO, flags2 = 0x3
        FuseRequest r = decode(header(40 + 64, 26, 0)
                + "07000000 2d000000 00000200 00800040 03000000" + "00".repeat(44));
        var init = assertInstanceOf(FuseRequest.Init.class, r);
        assertEquals(0x0102030405060708L, init.unique());
        assertEquals(7, init.major());
        assertEquals(45, init.minor());
        assertEquals(128 * 1024, init.maxReadahead());
        assertEquals(0x3_4000_8000L, init.flags());
    }

    @Test
    void lookupReadsTheZeroTerminatedName() {
        var l = assertInstanceOf(FuseRequest.Lookup.class, decode(header(40 + 7, 1, 1) + "766f6c756d6500"));
        assertEquals("volume", l.name());
        assertEquals(1, l.nodeId());
        var bad = assertInstanceOf(FuseRequest.Malformed.class, decode(header(40 + 6, 1, 1) + "766f6c756d65"));
        assertTrue(bad.reason().contains("0-terminated"), bad.reason());
    }

    @Test
    void readAndWrite() {
        // fuse_read_in: fh 1, offset 0x100000, size 0x20000, read_flags 0, lock_owner 0, flags O_RDWR|O_DIRECT, pad
        var r = assertInstanceOf(FuseRequest.Read.class, decode(header(80, 15, 2)
                + "0100000000000000 0000100000000000 00000200 00000000 0000000000000000 02400000 00000000"));
        assertEquals(new FuseRequest.Read(0x0102030405060708L, 2, 1, 0x100000, 0x20000), r);
        // fuse_write_in: fh 1, offset 0x10000, size 5, write_flags 1, lock_owner 0, flags, pad, then "hello"
        String write = header(85, 16, 2)
                + "0100000000000000 0000010000000000 05000000 01000000 0000000000000000 02800000 00000000 68656c6c6f";
        ByteBuffer b = Hex.buffer(write, 0);
        var w = assertInstanceOf(FuseRequest.Write.class, FuseRequestDecoder.decode(b, 85));
        assertEquals(new FuseRequest.Write(0x0102030405060708L, 2, 1, 0x10000, 5, 1, 80), w);
        byte[] data = new byte[5];
        b.get(w.dataOffset(), data);
        assertEquals("hello", new String(data, StandardCharsets.US_ASCII));
        // size disagreeing with the bytes that follow
        var bad = assertInstanceOf(FuseRequest.Malformed.class, FuseRequestDecoder.decode(Hex.buffer(write.replace(
                "05000000 01000000", "06000000 01000000"), 0), 85));
        assertTrue(bad.reason().contains("WRITE size 6"), bad.reason());
    }

    @Test
    void syncReleaseInterruptFallocateForget() {
        var fsync = assertInstanceOf(FuseRequest.Sync.class, decode(header(56, 20, 2) + "0100000000000000 01000000 00000000"));
        assertEquals(FuseConstants.FSYNC, fsync.opcode());
        var flush = assertInstanceOf(FuseRequest.Sync.class,
                decode(header(64, 25, 2) + "0700000000000000 00000000 00000000 0000000000000000"));
        assertEquals(FuseConstants.FLUSH, flush.opcode());
        assertEquals(7, flush.fh());
        var release = assertInstanceOf(FuseRequest.Release.class,
                decode(header(64, 18, 2) + "0100000000000000 02000000 00000000 0000000000000000"));
        assertEquals(1, release.fh());
        var interrupt = assertInstanceOf(FuseRequest.Interrupt.class, decode(header(48, 36, 0) + "2a00000000000000"));
        assertEquals(42, interrupt.target());
        // fuse_fallocate_in: fh 1, offset 4096, length 8192, mode PUNCH_HOLE|KEEP_SIZE
        var fa = assertInstanceOf(FuseRequest.Fallocate.class, decode(header(72, 43, 2)
                + "0100000000000000 0010000000000000 0020000000000000 03000000 00000000"));
        assertEquals(new FuseRequest.Fallocate(0x0102030405060708L, 2, 1, 4096, 8192, 3), fa);
        assertInstanceOf(FuseRequest.Forget.class, decode(header(48, 2, 2) + "0100000000000000"));
        assertInstanceOf(FuseRequest.Forget.class, decode(header(48, 42, 0) + "00000000 00000000"));
    }

    @Test
    void unknownShortAndInconsistentRequests() {
        var mkdir = assertInstanceOf(FuseRequest.Unsupported.class, decode(header(48, 9, 1) + "ed010000 12000000"));
        assertEquals(9, mkdir.opcode());
        var lying = assertInstanceOf(FuseRequest.Malformed.class, decode(header(41, 3, 2)));
        assertTrue(lying.reason().contains("header says 41"), lying.reason());
        var tiny = assertInstanceOf(FuseRequest.Malformed.class, FuseRequestDecoder.decode(Hex.buffer("0000", 64), 2));
        assertEquals(0, tiny.unique());
        var shortRead = assertInstanceOf(FuseRequest.Malformed.class, decode(header(48, 15, 2) + "0100000000000000"));
        assertTrue(shortRead.reason().contains("too short"), shortRead.reason());
    }

    @Test
    void errorAndEmptyReplies() {
        ByteBuffer b = Hex.buffer("", 256);
        assertEquals(16, FuseReplies.error(b, 0x0102030405060708L, Errno.ENOSYS));
        assertEquals("10000000" + "daffffff" + "0807060504030201", Hex.dump(b, 16));
        assertEquals(16, FuseReplies.empty(b, 5));
        assertEquals("10000000" + "00000000" + "0500000000000000", Hex.dump(b, 16));
    }

    @Test
    void initReply() {
        ByteBuffer b = Hex.buffer("ff".repeat(128), 128); // garbage must not leak into unused fields
        var out = new FuseReplies.InitOut(38, 131072, 0x00448021, 32, 24, 1 << 20, 256);
        assertEquals(80, FuseReplies.init(b, 9, out));
        assertEquals(("50000000 00000000 0900000000000000"
                + "07000000 26000000 00000200 21804400 2000 1800 00001000 01000000 0001 0000 00000000"
                + "00".repeat(28)).replace(" ", ""), Hex.dump(b, 80));
    }

    @Test
    void entryAndAttrReplies() {
        FileAttr attr = new FileAttr(2, 0x18000000L, 0100600, 1, 0, 0, 4096, 1700000000L, 0);
        String attrHex = "0200000000000000 0000001800000000 00000c0000000000" // ino, size 384 MiB, blocks 786432
                + " 00f1536500000000 00f1536500000000 00f1536500000000" // a/m/ctime 1700000000
                + " 00000000 00000000 00000000 80810000 01000000 00000000 00000000 00000000 00100000 00000000";
        ByteBuffer b = Hex.buffer("", 256);
        assertEquals(16 + 128, FuseReplies.entry(b, 3, attr, 3_600_000_000_000L, 1_500_000_000L));
        assertEquals(("90000000 00000000 0300000000000000"
                + "0200000000000000 0100000000000000 100e000000000000 0100000000000000 00000000 0065cd1d"
                + attrHex).replace(" ", ""), Hex.dump(b, 144));
        assertEquals(16 + 104, FuseReplies.attr(b, 4, attr, 1_000_000_000L));
        assertEquals(("78000000 00000000 0400000000000000 0100000000000000 00000000 00000000" + attrHex)
                .replace(" ", ""), Hex.dump(b, 120));
    }

    @Test
    void openWriteReadStatfsReplies() {
        ByteBuffer b = Hex.buffer("", 256);
        assertEquals(32, FuseReplies.open(b, 1, 1, FuseConstants.FOPEN_DIRECT_IO));
        assertEquals("20000000000000000100000000000000" + "0100000000000000 01000000 00000000".replace(" ", ""),
                Hex.dump(b, 32));
        assertEquals(24, FuseReplies.write(b, 2, 1 << 20));
        assertEquals("180000000000000002000000000000000000100000000000", Hex.dump(b, 24));
        assertEquals(16 + 4096, FuseReplies.read(b, 3, 4096));
        assertEquals("10100000000000000300000000000000", Hex.dump(b, 16));
        assertEquals(96, FuseReplies.statfs(b, 4, 98304, 4096, 2));
        assertEquals(("60000000 00000000 0400000000000000"
                + "0080010000000000 0000000000000000 0000000000000000 0200000000000000 0000000000000000"
                + "00100000 ff000000 00100000 00000000" + "00".repeat(24)).replace(" ", ""), Hex.dump(b, 96));
    }

    @Test
    void notifyResendAndTheConnectionNote() {
        ByteBuffer b = Hex.buffer("", 64);
        assertEquals(16, FuseReplies.notifyResend(b));
        assertEquals("10000000 07000000 0000000000000000".replace(" ", ""), Hex.dump(b, 16)); // len 16, code 7, unique 0
        var info = new FuseConnectionInfo(7, 45, 38, (1L << 39) | 0x8000, 0x8000, 1 << 20, 256, 131072, 64);
        assertTrue(info.kernelResends());
        assertEquals(info, FuseConnectionInfo.decode(info.encode()));
        assertFalse(info.encode().contains(" "));
        assertFalse(new FuseConnectionInfo(7, 38, 38, 0x8000, 0x8000, 1 << 20, 256, 131072, 64).kernelResends());
        for (String bad : new String[] {"", "1,2,3", "a,b,c,d,e,f,g,h,i", "1,2,3,4,5,6,7,8,9,10"}) {
            org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> FuseConnectionInfo.decode(bad));
        }
    }

    @Test
    void notifyInvalInodeAndReaddir() {
        ByteBuffer b = Hex.buffer("", 512);
        assertEquals(40, FuseReplies.notifyInvalInodeAttributes(b, 2));
        assertEquals(("28000000 02000000 0000000000000000 0200000000000000 ffffffffffffffff 0000000000000000")
                .replace(" ", ""), Hex.dump(b, 40));
        var entries = new FuseReplies.Dirent[] {new FuseReplies.Dirent(1, FuseConstants.DT_DIR, "."),
            new FuseReplies.Dirent(2, FuseConstants.DT_REG, "volume")};
        assertEquals(16 + 32 + 32, FuseReplies.readdir(b, 5, entries, 0, 4096));
        assertEquals(("50000000 00000000 0500000000000000"
                + "0100000000000000 0100000000000000 01000000 04000000 2e00000000000000"
                + "0200000000000000 0200000000000000 06000000 08000000 766f6c756d650000").replace(" ", ""),
                Hex.dump(b, 80));
        assertEquals(16 + 32, FuseReplies.readdir(b, 5, entries, 1, 4096)); // resumes at the cookie
        assertEquals(16, FuseReplies.readdir(b, 5, entries, 2, 4096)); // end of directory
        assertEquals(16 + 32, FuseReplies.readdir(b, 5, entries, 0, 40)); // only what fits
    }
}
