package io.ballast.cluster;

import io.ballast.engine.crypt.KeyHeaderLayout;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.Map;

/**
 * What an encrypted volume means to the cluster: its parameter, and the key header region its
 * replicas hold in front of the data ({@link KeyHeaderLayout#DATA_OFFSET}), so a volume the user
 * sees as N bytes is a replica group of N + 1 MiB. The catalog and every CSI answer keep the user's
 * size; only the calls that size replica groups add the header. Stateless.
 */
public final class VolumeEncryption {
    /** The StorageClass parameter, recorded with the volume and passed to NodeStageVolume in its context. */
    public static final String PARAMETER = "encrypted";

    private VolumeEncryption() {}

    public static boolean encrypted(Map<String, String> parameters) {
        return "true".equals(parameters.get(PARAMETER));
    }

    /** The replica group's size for a volume of {@code sizeBytes} with {@code parameters}. */
    public static long replicaBytes(long sizeBytes, Map<String, String> parameters) {
        return encrypted(parameters) ? sizeBytes + KeyHeaderLayout.DATA_OFFSET : sizeBytes;
    }

    /**
     * INVALID_ARGUMENT unless a volume filled from {@code source} is encrypted exactly when the
     * source is: an encrypted source's clone holds its ciphertext and key slots (same key), and a
     * plain source's clone holds data where the key header would go.
     */
    public static void requireSameAsSource(Map<String, String> parameters, Map<String, String> source, String sourceName) {
        if (encrypted(parameters) != encrypted(source)) {
            throw new BallastException(ErrorCode.INVALID_ARGUMENT, sourceName + " is " + (encrypted(source) ? "" : "not ")
                    + "encrypted and the new volume would " + (encrypted(parameters) ? "" : "not ") + "be: a clone is "
                    + "encrypted exactly when its source is (with the source's key); use a StorageClass with parameter "
                    + PARAMETER + ": \"" + encrypted(source) + "\"");
        }
    }
}
