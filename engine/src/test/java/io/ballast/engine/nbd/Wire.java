package io.ballast.engine.nbd;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;

/**
 * Test-side NBD frames, written from the spec independently of the production descriptors, plus hex
 * helpers for golden frames ("4e42 444d ..."; whitespace and '|' ignored).
 */
final class Wire {
    private Wire() {
    }

    static final String GREETING = "4e42444d41474943 49484156454f5054 0003";
    static final String IHAVEOPT = "49484156454f5054";
    static final String REPLY_MAGIC = "0003e889045565a9";

    static byte[] hex(String s) {
        return HexFormat.of().parseHex(s.replaceAll("[\\s|]", ""));
    }

    /** The hex string without spacing, for comparing against {@link #hex(byte[])}. */
    static String norm(String s) {
        return s.replaceAll("[\\s|]", "").toLowerCase(java.util.Locale.ROOT);
    }

    /** Hex of the first {@code n} bytes. */
    static String head(byte[] b, int n) {
        return hex(java.util.Arrays.copyOf(b, Math.min(n, b.length)));
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    static byte[] clientFlags(int flags) {
        return ByteBuffer.allocate(4).putInt(flags).array();
    }

    static byte[] option(int option, byte[] data) {
        return ByteBuffer.allocate(16 + data.length).put(hex(IHAVEOPT)).putInt(option).putInt(data.length)
                .put(data).array();
    }

    static byte[] goData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length).putInt(n.length).put(n)
                .putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    static byte[] request(int flags, int type, long cookie, long offset, long length) {
        return ByteBuffer.allocate(28).putInt(0x25609513).putShort((short) flags).putShort((short) type)
                .putLong(cookie).putLong(offset).putInt((int) length).array();
    }

    static byte[] write(int flags, long cookie, long offset, byte[] data) {
        return concat(request(flags, 1, cookie, offset, data.length), data);
    }

    static byte[] reply(int error, long cookie) {
        return ByteBuffer.allocate(16).putInt(0x67446698).putInt(error).putLong(cookie).array();
    }

    static byte[] optionReply(int option, int type, byte[] data) {
        return ByteBuffer.allocate(20 + data.length).put(hex(REPLY_MAGIC)).putInt(option).putInt(type)
                .putInt(data.length).put(data).array();
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }
}
