package io.ballast.engine.crypt;

import io.ballast.engine.volume.BlockVolume;
import io.ballast.engine.volume.LocalBlockVolumeContractTest;
import java.security.SecureRandom;

/** An encrypted volume over a real local store keeps every promise of a plain one. */
class EncryptedBlockVolumeContractTest extends LocalBlockVolumeContractTest {
    @Override
    protected BlockVolume newVolume(long sizeBytes) {
        BlockVolume raw = super.newVolume(sizeBytes + KeyHeaderLayout.DATA_OFFSET);
        return new VolumeKeys(new SecureRandom(), 1000).unlock(raw, Passphrases.of("contract")).volume();
    }
}
