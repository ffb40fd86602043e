package io.ballast.backup;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * One stored chunk: {@code "BALCHUNK"}, format 1, the uncompressed length, the SHA-256 of the
 * uncompressed bytes (also the object's name, so equal chunks are stored once), the codec, then the
 * bytes: deflated (the JDK's zlib, fastest level), or as they are when a 16 KiB sample does not
 * shrink by a tenth (random data, ciphertext of encrypted volumes: deflating them costs more CPU
 * than the upload saves). Decoding checks everything and refuses, never returns, damaged data.
 */
public final class ChunkCodec {
    private static final byte[] MAGIC = "BALCHUNK".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final int HEADER = 8 + 4 + 4 + 32 + 4;
    private static final int RAW = 0;
    private static final int DEFLATE = 1;
    private static final int SAMPLE = 16 << 10;

    private ChunkCodec() {}

    public static byte[] sha256(ByteBuffer data) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(data.duplicate());
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    public static String name(byte[] sha) {
        return "chunks/" + HexFormat.of().formatHex(sha);
    }

    public static byte[] encode(ByteBuffer data, byte[] sha) {
        byte[] plain = new byte[data.remaining()];
        data.duplicate().get(plain);
        boolean compress = plain.length <= SAMPLE ? true : deflate(plain, SAMPLE).length < SAMPLE * 9 / 10;
        byte[] body = compress ? deflate(plain, plain.length) : plain;
        int codec = compress && body.length < plain.length ? DEFLATE : RAW;
        if (codec == RAW) {
            body = plain;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(body.length + HEADER);
        out.writeBytes(ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN).put(MAGIC).putInt(VERSION)
                .putInt(plain.length).put(sha).putInt(codec).array());
        out.writeBytes(body);
        return out.toByteArray();
    }

    private static byte[] deflate(byte[] plain, int length) {
        Deflater d = new Deflater(Deflater.BEST_SPEED);
        ByteArrayOutputStream out = new ByteArrayOutputStream(length / 2 + 64);
        try {
            d.setInput(plain, 0, length);
            d.finish();
            byte[] buf = new byte[64 << 10];
            while (!d.finished()) {
                out.write(buf, 0, d.deflate(buf));
            }
        } finally {
            d.end();
        }
        return out.toByteArray();
    }

    /** The chunk's bytes; CORRUPTION naming {@code what} when anything does not check out. */
    public static byte[] decode(byte[] stored, byte[] expectedSha, String what) {
        ByteBuffer b = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN);
        if (stored.length < HEADER || !Arrays.equals(Arrays.copyOf(stored, 8), MAGIC) || b.getInt(8) != VERSION) {
            throw corrupt(what, "not a Ballast chunk (bad header)");
        }
        int length = b.getInt(12);
        byte[] sha = Arrays.copyOfRange(stored, 16, 48);
        if (!Arrays.equals(sha, expectedSha)) {
            throw corrupt(what, "its header names another chunk");
        }
        if (length < 0 || length > (64 << 20)) {
            throw corrupt(what, "length " + length);
        }
        int codec = b.getInt(48);
        byte[] plain;
        if (codec == RAW) {
            if (stored.length - HEADER != length) {
                throw corrupt(what, "it holds " + (stored.length - HEADER) + " bytes, not " + length);
            }
            plain = Arrays.copyOfRange(stored, HEADER, stored.length);
        } else if (codec == DEFLATE) {
            plain = inflate(stored, length, what);
        } else {
            throw corrupt(what, "unknown codec " + codec);
        }
        if (!Arrays.equals(sha256(ByteBuffer.wrap(plain)), expectedSha)) {
            throw corrupt(what, "its SHA-256 does not match");
        }
        return plain;
    }

    private static byte[] inflate(byte[] stored, int length, String what) {
        byte[] plain = new byte[length];
        Inflater inf = new Inflater();
        try {
            inf.setInput(stored, HEADER, stored.length - HEADER);
            int n = 0;
            while (n < length && !inf.finished()) {
                int got = inf.inflate(plain, n, length - n);
                if (got == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    break;
                }
                n += got;
            }
            if (n != length || !inf.finished()) {
                throw corrupt(what, "it decompresses to " + n + " bytes, not " + length);
            }
        } catch (DataFormatException e) {
            throw corrupt(what, "its compressed stream is damaged (" + e.getMessage() + ")");
        } finally {
            inf.end();
        }
        return plain;
    }

    private static BallastException corrupt(String what, String why) {
        return new BallastException(ErrorCode.CORRUPTION, what + " is damaged: " + why);
    }
}
