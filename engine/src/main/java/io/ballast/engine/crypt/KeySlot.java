package io.ballast.engine.crypt;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.security.spec.KeySpec;
import java.util.Arrays;
import java.util.Optional;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * One key slot: the volume's data key encrypted (AES-256-GCM, the JDK's) under a key derived from a
 * passphrase with PBKDF2-HMAC-SHA256 (the JDK's), as a LUKS key slot. GCM's tag tells a wrong
 * passphrase from a right one without a stored hash of it; the header's key id is the associated
 * data, so a slot copied from another volume's header does not open this one.
 *
 * @param iterations PBKDF2 rounds (stored, so the default can grow without breaking old slots)
 * @param salt       {@value #SALT_BYTES} random bytes
 * @param nonce      {@value #NONCE_BYTES} random bytes
 * @param wrapped    the data key encrypted, followed by the 16-byte GCM tag
 */
public record KeySlot(int iterations, byte[] salt, byte[] nonce, byte[] wrapped) {
    public static final int SALT_BYTES = 32;
    public static final int NONCE_BYTES = 12;
    public static final int WRAPPED_BYTES = SectorCipher.KEY_BYTES + 16;
    /** OWASP's 2023 figure for PBKDF2-HMAC-SHA256; about 0.3 s here, once per stage. */
    public static final int DEFAULT_ITERATIONS = 600_000;
    private static final int TAG_BITS = 128;

    public KeySlot {
        if (iterations < 1 || salt.length != SALT_BYTES || nonce.length != NONCE_BYTES || wrapped.length != WRAPPED_BYTES) {
            throw new IllegalArgumentException("malformed key slot");
        }
    }

    /** Wraps {@code dataKey} under {@code passphrase}. */
    public static KeySlot seal(byte[] dataKey, char[] passphrase, byte[] keyId, int iterations, SecureRandom random) {
        byte[] salt = new byte[SALT_BYTES];
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(salt);
        random.nextBytes(nonce);
        try {
            Cipher gcm = gcm(Cipher.ENCRYPT_MODE, passphrase, salt, iterations, nonce, keyId);
            return new KeySlot(iterations, salt, nonce, gcm.doFinal(dataKey));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK refused AES-GCM or PBKDF2", e);
        }
    }

    /** The data key if {@code passphrase} opens this slot. */
    public Optional<byte[]> open(char[] passphrase, byte[] keyId) {
        try {
            return Optional.of(gcm(Cipher.DECRYPT_MODE, passphrase, salt, iterations, nonce, keyId).doFinal(wrapped));
        } catch (AEADBadTagException e) {
            return Optional.empty();
        } catch (GeneralSecurityException e) {
            throw new BallastException(ErrorCode.CORRUPTION, "a key slot could not be decrypted: " + e.getMessage());
        }
    }

    private static Cipher gcm(int mode, char[] passphrase, byte[] salt, int iterations, byte[] nonce, byte[] keyId)
            throws GeneralSecurityException {
        KeySpec spec = new PBEKeySpec(passphrase, salt, iterations, 256);
        byte[] kek = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(mode, new SecretKeySpec(kek, "AES"), new GCMParameterSpec(TAG_BITS, nonce));
            c.updateAAD(keyId);
            return c;
        } finally {
            Arrays.fill(kek, (byte) 0);
        }
    }
}
