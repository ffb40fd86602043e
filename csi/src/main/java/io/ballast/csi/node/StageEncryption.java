package io.ballast.csi.node;

import io.ballast.cluster.VolumeEncryption;
import io.ballast.engine.crypt.Passphrases;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * The key NodeStageVolume brings for an encrypted volume: the volume context says whether the volume
 * is encrypted (the controller put {@value VolumeEncryption#PARAMETER} there at creation), the
 * node-stage Secret holds the passphrase ({@value #PASSPHRASE}) and, while the Secret's passphrase is
 * being changed, the one before it ({@value #PREVIOUS_PASSPHRASE}). Both mismatches are refused
 * before anything on the host is touched.
 */
final class StageEncryption {
    static final String PASSPHRASE = "encryptionPassphrase";
    static final String PREVIOUS_PASSPHRASE = "previousEncryptionPassphrase";

    private StageEncryption() {}

    /** The passphrases to unlock the volume with, or empty for a volume that is not encrypted. */
    static Optional<Passphrases> of(String volumeId, Map<String, String> context, Map<String, String> secrets) {
        String pass = secrets.getOrDefault(PASSPHRASE, "");
        if (!VolumeEncryption.encrypted(context)) {
            if (!pass.isEmpty()) {
                throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId + " is not encrypted (it "
                        + "was created without parameter " + VolumeEncryption.PARAMETER + ": \"true\"), but NodeStageVolume "
                        + "carries an " + PASSPHRASE + ": refusing rather than write data in the clear that its owner "
                        + "expects encrypted. Remove the node-stage Secret from the StorageClass, or copy the data to an "
                        + "encrypted volume");
            }
            return Optional.empty();
        }
        if (pass.isEmpty()) {
            throw new BallastException(ErrorCode.FAILED_PRECONDITION, "volume " + volumeId + " is encrypted: NodeStageVolume "
                    + "needs its passphrase under the Secret key '" + PASSPHRASE + "' (the StorageClass parameters "
                    + "csi.storage.k8s.io/node-stage-secret-name and csi.storage.k8s.io/node-stage-secret-namespace name "
                    + "the Secret); the secrets passed have " + (secrets.isEmpty() ? "no keys" : "keys " + new TreeSet<>(secrets.keySet())));
        }
        return Optional.of(Passphrases.of(pass, secrets.get(PREVIOUS_PASSPHRASE)));
    }
}
