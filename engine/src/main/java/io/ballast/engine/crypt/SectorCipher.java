package io.ballast.engine.crypt;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Encrypts and decrypts whole sectors with dm-crypt's {@code aes-cbc-essiv:sha256}: AES-256 in CBC
 * mode (the JDK's, AES-NI accelerated), each sector's IV the sector number encrypted with
 * SHA-256 of the data key (ESSIV), so IVs are unpredictable without the key and equal plaintexts in
 * two sectors encrypt differently. It is length-preserving, which a block device needs: there is no
 * room for a per-write nonce or tag. The JDK has no XTS mode and no well-kept Java provider on
 * Maven Central offers one without native code; CBC-ESSIV is the mode LUKS1 used by default, built
 * here from the JDK's CBC and ECB ciphers, not a mode of our own. What it leaks is in docs/security.md.
 *
 * <p>Threading: thread-safe; each thread has its own {@link Cipher} instances (the JDK's are not).
 */
public final class SectorCipher {
    public static final String NAME = "aes-cbc-essiv:sha256";
    public static final int KEY_BYTES = 32;
    private static final int AES_BLOCK = 16;

    private final SecretKeySpec dataKey;
    private final SecretKeySpec essivKey;
    private final int sectorSize;
    private final ThreadLocal<Ciphers> ciphers = ThreadLocal.withInitial(Ciphers::new);

    /** {@code key}: the volume's 32-byte data key (copied); {@code sectorSize}: a multiple of 16. */
    public SectorCipher(byte[] key, int sectorSize) {
        if (key.length != KEY_BYTES || sectorSize <= 0 || sectorSize % AES_BLOCK != 0) {
            throw new IllegalArgumentException("a " + KEY_BYTES + "-byte key and a sector size that is a multiple of 16");
        }
        this.dataKey = new SecretKeySpec(key, "AES");
        byte[] salt = sha256(key);
        this.essivKey = new SecretKeySpec(salt, "AES");
        Arrays.fill(salt, (byte) 0);
        this.sectorSize = sectorSize;
    }

    public int sectorSize() {
        return sectorSize;
    }

    /** Encrypts one sector: {@code sectorSize} bytes from {@code src}'s position into {@code dst}'s; both advance. */
    public void encrypt(long sector, ByteBuffer src, ByteBuffer dst) {
        crypt(Cipher.ENCRYPT_MODE, sector, src, dst);
    }

    /** Decrypts one sector from {@code src} into {@code dst} (they may be the same memory); both advance. */
    public void decrypt(long sector, ByteBuffer src, ByteBuffer dst) {
        crypt(Cipher.DECRYPT_MODE, sector, src, dst);
    }

    private void crypt(int mode, long sector, ByteBuffer src, ByteBuffer dst) {
        Ciphers c = ciphers.get();
        ByteBuffer in = src.duplicate();
        in.limit(in.position() + sectorSize);
        try {
            c.cbc.init(mode, dataKey, new IvParameterSpec(c.iv(sector)));
            int n = c.cbc.doFinal(in, dst); // copy-safe: src and dst may share memory
            if (n != sectorSize) {
                throw new IllegalStateException("AES-CBC returned " + n + " bytes for a " + sectorSize + "-byte sector");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES is part of every JDK; this one refused it", e);
        }
        src.position(src.position() + sectorSize);
    }

    private final class Ciphers {
        final Cipher cbc;
        final Cipher essiv;
        final ByteBuffer sectorNumber = ByteBuffer.allocate(AES_BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        final byte[] iv = new byte[AES_BLOCK];

        Ciphers() {
            try {
                cbc = Cipher.getInstance("AES/CBC/NoPadding");
                essiv = Cipher.getInstance("AES/ECB/NoPadding");
                essiv.init(Cipher.ENCRYPT_MODE, essivKey);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES is part of every JDK; this one refused it", e);
            }
        }

        /** dm-crypt's ESSIV: E_{sha256(key)}(le64(sector) || 0^8). */
        byte[] iv(long sector) throws GeneralSecurityException {
            sectorNumber.clear();
            sectorNumber.putLong(sector).putLong(0);
            essiv.doFinal(sectorNumber.array(), 0, AES_BLOCK, iv, 0);
            return iv;
        }
    }

    static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK; this one refused it", e);
        }
    }
}
