package io.ballast.engine.crypt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * The key header of an encrypted volume (its bytes: {@link KeyHeaderLayout}).
 *
 * @param keyId      16 random bytes naming this volume's data key (the slots' associated data)
 * @param cipher     {@link SectorCipher#NAME}
 * @param sectorSize bytes per encrypted sector
 * @param dataOffset where sector 0 starts in the underlying volume (the header region before it)
 * @param slots      {@value KeyHeaderLayout#SLOTS} entries, empty or holding a slot
 */
public record KeyHeader(byte[] keyId, String cipher, int sectorSize, long dataOffset, List<Optional<KeySlot>> slots) {

    public KeyHeader {
        slots = Collections.unmodifiableList(new ArrayList<>(slots));
    }

    public long activeSlots() {
        return slots.stream().filter(Optional::isPresent).count();
    }

    /** This header with {@code slot} in slot {@code index}, or that slot emptied when {@code slot} is empty. */
    public KeyHeader with(int index, Optional<KeySlot> slot) {
        List<Optional<KeySlot>> s = new ArrayList<>(slots);
        s.set(index, slot);
        return new KeyHeader(keyId, cipher, sectorSize, dataOffset, s);
    }

    /** The first empty slot's index, or -1. */
    public int freeSlot() {
        for (int i = 0; i < slots.size(); i++) {
            if (slots.get(i).isEmpty()) {
                return i;
            }
        }
        return -1;
    }
}
