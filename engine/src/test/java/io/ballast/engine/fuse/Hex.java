package io.ballast.engine.fuse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

/** Golden byte frames written as hex (spaces, newlines and {@code |} ignored) in little-endian buffers. */
final class Hex {
    private Hex() {
    }

    static ByteBuffer buffer(String hex, int capacity) {
        byte[] bytes = bytes(hex);
        ByteBuffer b = ByteBuffer.allocateDirect(Math.max(capacity, bytes.length)).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, bytes);
        return b;
    }

    static byte[] bytes(String hex) {
        return HexFormat.of().parseHex(hex.replaceAll("[\\s|]", ""));
    }

    static String dump(ByteBuffer b, int length) {
        byte[] out = new byte[length];
        b.get(0, out);
        return HexFormat.of().formatHex(out);
    }
}
