package io.ballast.engine.crypt;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.volume.BlockVolume;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Unlocks an encrypted volume: reads its key header, opens a key slot with a passphrase and returns
 * the decrypting view ({@link EncryptedBlockVolume}). A volume whose header region is still all
 * zeroes (never written) is formatted first: a fresh random data key sealed in slot 0. Rotation:
 * when only the previous passphrase opens a slot, the current one gets a slot of its own and the
 * slots the previous one opens are emptied, in one write of the header block (one replicated
 * write, applied whole or not at all), so a crash leaves either the old or the new header.
 *
 * <p>Refusals change nothing: a region with data but no header (a volume written unencrypted) is
 * FAILED_PRECONDITION, a passphrase that opens no slot INVALID_ARGUMENT.
 * Threading: blocks the caller on the volume's I/O; call it off event loops.
 */
public final class VolumeKeys {
    private static final long IO_TIMEOUT_SECONDS = 60;

    private final SecureRandom random;
    private final int iterations;

    /** @param iterations PBKDF2 rounds for new slots ({@link KeySlot#DEFAULT_ITERATIONS} in production) */
    public VolumeKeys(SecureRandom random, int iterations) {
        this.random = random;
        this.iterations = iterations;
    }

    public VolumeKeys() {
        this(new SecureRandom(), KeySlot.DEFAULT_ITERATIONS);
    }

    /** What {@link #unlock} did, for the log. */
    public enum Outcome { OPENED, FORMATTED, ROTATED }

    /** An unlocked volume. */
    public record Unlocked(EncryptedBlockVolume volume, Outcome outcome) {}

    /**
     * Unlocks {@code raw} (formatting it if it was never written). On success the returned volume
     * owns {@code raw} (closing it closes {@code raw}); on failure the caller still does.
     */
    public Unlocked unlock(BlockVolume raw, Passphrases pass) {
        if (raw.size() <= KeyHeaderLayout.DATA_OFFSET) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume " + raw.name() + " is " + raw.size()
                    + " bytes, too small to hold a key header of " + KeyHeaderLayout.DATA_OFFSET + " bytes and data");
        }
        ByteBuffer block = ByteBuffer.allocate(KeyHeaderLayout.HEADER_BYTES);
        await(raw.read(0, block.duplicate()), raw, "read its key header");
        if (!KeyHeaderLayout.hasMagic(block)) {
            requireBlankRegion(raw);
            byte[] dataKey = new byte[SectorCipher.KEY_BYTES];
            random.nextBytes(dataKey);
            return new Unlocked(open(raw, format(raw, pass, dataKey), dataKey), Outcome.FORMATTED);
        }
        KeyHeader header = KeyHeaderLayout.decode(block, raw.name());
        if (!SectorCipher.NAME.equals(header.cipher())) {
            throw new BallastException(ErrorCode.FOREIGN_FORMAT, "volume " + raw.name() + " is encrypted with "
                    + header.cipher() + "; this Ballast knows " + SectorCipher.NAME);
        }
        Optional<byte[]> key = openAny(header, pass.current()).map(Opened::key);
        if (key.isPresent()) {
            return new Unlocked(open(raw, header, key.get()), Outcome.OPENED);
        }
        if (pass.previous().isPresent()) {
            List<Opened> old = openAll(header, pass.previous().get());
            if (!old.isEmpty()) {
                return new Unlocked(open(raw, rotate(raw, header, old, pass.current()), old.get(0).key()), Outcome.ROTATED);
            }
        }
        throw new BallastException(ErrorCode.INVALID_ARGUMENT, "volume " + raw.name() + ": the passphrase opens none of its "
                + header.activeSlots() + " key slot(s)" + (pass.previous().isPresent() ? ", nor does the previous one" : "")
                + "; check the Secret's encryptionPassphrase");
    }

    private record Opened(int slot, byte[] key) {}

    private static Optional<Opened> openAny(KeyHeader h, char[] pass) {
        for (int i = 0; i < h.slots().size(); i++) {
            int slot = i;
            Optional<byte[]> key = h.slots().get(i).flatMap(s -> s.open(pass, h.keyId()));
            if (key.isPresent()) {
                return Optional.of(new Opened(slot, key.get()));
            }
        }
        return Optional.empty();
    }

    private static List<Opened> openAll(KeyHeader h, char[] pass) {
        List<Opened> all = new ArrayList<>();
        for (int i = 0; i < h.slots().size(); i++) {
            int slot = i;
            h.slots().get(i).flatMap(s -> s.open(pass, h.keyId())).ifPresent(k -> all.add(new Opened(slot, k)));
        }
        return all;
    }

    private void requireBlankRegion(BlockVolume raw) {
        ByteBuffer region = ByteBuffer.allocate((int) KeyHeaderLayout.DATA_OFFSET);
        await(raw.read(0, region.duplicate()), raw, "read its key header region");
        for (int i = 0; i < region.capacity(); i += 8) {
            if (region.getLong(i) != 0) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + raw.name() + " is to be encrypted, "
                        + "but its first " + KeyHeaderLayout.DATA_OFFSET + " bytes hold data and no Ballast key header "
                        + "(byte " + i + " on): it was written unencrypted. Refusing to format it; nothing was changed");
            }
        }
    }

    private KeyHeader format(BlockVolume raw, Passphrases pass, byte[] dataKey) {
        byte[] keyId = new byte[16];
        random.nextBytes(keyId);
        List<Optional<KeySlot>> slots = new ArrayList<>();
        slots.add(Optional.of(KeySlot.seal(dataKey, pass.current(), keyId, iterations, random)));
        while (slots.size() < KeyHeaderLayout.SLOTS) {
            slots.add(Optional.empty());
        }
        KeyHeader h = new KeyHeader(keyId, SectorCipher.NAME, 4096, KeyHeaderLayout.DATA_OFFSET, slots);
        await(raw.write(0, KeyHeaderLayout.encode(h), true), raw, "write its key header");
        return h;
    }

    private KeyHeader rotate(BlockVolume raw, KeyHeader h, List<Opened> old, char[] current) {
        KeyHeader next = h;
        for (Opened o : old) {
            next = next.with(o.slot(), Optional.empty());
        }
        int free = next.freeSlot(); // at least the slot just emptied
        next = next.with(free, Optional.of(KeySlot.seal(old.get(0).key(), current, h.keyId(), iterations, random)));
        await(raw.write(0, KeyHeaderLayout.encode(next), true), raw, "write its rotated key header");
        return next;
    }

    private static EncryptedBlockVolume open(BlockVolume raw, KeyHeader h, byte[] key) {
        try {
            return new EncryptedBlockVolume(raw, new SectorCipher(key, h.sectorSize()), h.dataOffset());
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private static void await(CompletableFuture<Void> f, BlockVolume raw, String what) {
        try {
            f.get(IO_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BallastException(ErrorCode.UNAVAILABLE, "volume " + raw.name() + ": interrupted trying to " + what);
        } catch (Exception e) {
            BallastException b = BallastException.of(e);
            throw new BallastException(b.code(), "volume " + raw.name() + ": could not " + what + ": " + b.getMessage(), b);
        }
    }
}
