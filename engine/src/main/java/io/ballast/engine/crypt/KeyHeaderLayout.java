package io.ballast.engine.crypt;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The bytes of a {@link KeyHeader}: the first {@value #HEADER_BYTES} bytes of an encrypted volume
 * (one 4 KiB block, so one replicated write replaces it atomically). Little-endian:
 * <pre>
 *   0  magic "BALCRYPT"        8  format version (1)   12 sector size   16 data offset (8)
 *  24  key id (16)            40  cipher name, ASCII, zero-padded (32)  72 slot count
 * 128 + 128*i: slot i:  0 state (1 = in use)  4 PBKDF2 iterations  8 salt (32)  40 nonce (12)
 *                      52 wrapped key + GCM tag (48)
 * 4092 crc32c of [0, 4092)
 * </pre>
 * The rest of the header region, up to the data offset (1 MiB, so the filesystem above stays
 * aligned as on a plain volume), is reserved.
 */
public final class KeyHeaderLayout {
    public static final int HEADER_BYTES = 4096;
    public static final long DATA_OFFSET = 1 << 20;
    public static final int SLOTS = 8;
    static final int VERSION = 1;
    private static final byte[] MAGIC = "BALCRYPT".getBytes(StandardCharsets.US_ASCII);
    private static final int KEY_ID_BYTES = 16;
    private static final int CIPHER_NAME_BYTES = 32;
    private static final int SLOT_BASE = 128;
    private static final int SLOT_BYTES = 128;
    private static final int CRC_OFFSET = HEADER_BYTES - 4;

    private KeyHeaderLayout() {}

    /** True when {@code block} starts with the header's magic. */
    public static boolean hasMagic(ByteBuffer block) {
        if (block.remaining() < MAGIC.length) {
            return false;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (block.get(block.position() + i) != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    public static ByteBuffer encode(KeyHeader h) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, MAGIC).putInt(8, VERSION).putInt(12, h.sectorSize()).putLong(16, h.dataOffset()).put(24, h.keyId());
        byte[] name = h.cipher().getBytes(StandardCharsets.US_ASCII);
        b.put(40, name).putInt(72, h.slots().size());
        for (int i = 0; i < h.slots().size(); i++) {
            int at = SLOT_BASE + i * SLOT_BYTES;
            Optional<KeySlot> s = h.slots().get(i);
            if (s.isPresent()) {
                b.put(at, (byte) 1).putInt(at + 4, s.get().iterations()).put(at + 8, s.get().salt())
                        .put(at + 40, s.get().nonce()).put(at + 52, s.get().wrapped());
            }
        }
        b.putInt(CRC_OFFSET, crc(b));
        return b;
    }

    /** Parses a header block; CORRUPTION for a damaged one, FOREIGN_FORMAT for another version. */
    public static KeyHeader decode(ByteBuffer block, String volume) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.position(0);
        if (block.remaining() < HEADER_BYTES || !hasMagic(block)) {
            throw new BallastException(ErrorCode.FOREIGN_FORMAT, "volume " + volume + " has no Ballast key header");
        }
        b = b.slice(block.position(), HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(CRC_OFFSET) != crc(b)) {
            throw new BallastException(ErrorCode.CORRUPTION, "volume " + volume + ": its key header failed its checksum");
        }
        if (b.getInt(8) != VERSION) {
            throw new BallastException(ErrorCode.FOREIGN_FORMAT, "volume " + volume + ": key header version "
                    + b.getInt(8) + "; this Ballast understands " + VERSION);
        }
        byte[] keyId = new byte[KEY_ID_BYTES];
        b.get(24, keyId);
        byte[] name = new byte[CIPHER_NAME_BYTES];
        b.get(40, name);
        String cipher = new String(name, StandardCharsets.US_ASCII).replace("\0", "");
        int count = b.getInt(72);
        if (count != SLOTS) {
            throw new BallastException(ErrorCode.CORRUPTION, "volume " + volume + ": key header names " + count + " slots");
        }
        List<Optional<KeySlot>> slots = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int at = SLOT_BASE + i * SLOT_BYTES;
            if (b.get(at) != 1) {
                slots.add(Optional.empty());
                continue;
            }
            byte[] salt = new byte[KeySlot.SALT_BYTES];
            byte[] nonce = new byte[KeySlot.NONCE_BYTES];
            byte[] wrapped = new byte[KeySlot.WRAPPED_BYTES];
            b.get(at + 8, salt).get(at + 40, nonce).get(at + 52, wrapped);
            slots.add(Optional.of(new KeySlot(b.getInt(at + 4), salt, nonce, wrapped)));
        }
        return new KeyHeader(keyId, cipher, b.getInt(12), b.getLong(16), slots);
    }

    private static int crc(ByteBuffer b) {
        CRC32C c = new CRC32C();
        c.update(b.duplicate().position(0).limit(CRC_OFFSET));
        return (int) c.getValue();
    }
}
