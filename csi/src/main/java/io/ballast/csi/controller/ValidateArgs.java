package io.ballast.csi.controller;

import io.ballast.csi.VolumeCapabilities;
import io.ballast.cluster.ClusterBackend.VolumeRecord;
import io.ballast.engine.error.BallastException;
import io.ballast.proto.csi.v1.VolumeCapability;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * ValidateVolumeCapabilities' judgement: whether an existing volume can be used with the given
 * capabilities, parameters and volume context. Confirmation is all or nothing (spec: confirm only
 * what is supported), and a refusal is an answer with a message, not an error. Stateless.
 */
final class ValidateArgs {
    private ValidateArgs() {
    }

    /** Null when every capability, parameter and context entry fits the volume; else why not. */
    static String unconfirmed(VolumeRecord volume, List<VolumeCapability> caps, Map<String, String> parameters,
            Map<String, String> context) {
        VolumeParameters actual = VolumeParameters.of(volume);
        for (VolumeCapability cap : caps) {
            String why = VolumeCapabilities.unsupported(cap);
            if (why != null) {
                return why;
            }
            String fs = cap.getMount().getFsType();
            if (cap.hasMount() && !fs.isEmpty() && !actual.fsType().isEmpty() && !fs.equals(actual.fsType())) {
                return "volume " + volume.id() + " is formatted " + actual.fsType() + ", not " + fs;
            }
        }
        VolumeParameters asked;
        try {
            asked = VolumeParameters.parse(parameters, "parameters");
        } catch (BallastException e) {
            return e.getMessage();
        }
        // only what the caller names is compared: an absent key is not a request for its default
        if (parameters.containsKey(VolumeParameters.REPLICAS) && asked.replicas() != actual.replicas()) {
            return "volume " + volume.id() + " has " + actual.replicas() + " replicas, not " + asked.replicas();
        }
        if (parameters.containsKey(VolumeParameters.FS_TYPE) && !asked.fsType().equals(actual.fsType())) {
            return "volume " + volume.id() + " has fsType '" + actual.fsType() + "', not " + asked.fsType();
        }
        for (Map.Entry<String, String> e : new TreeMap<>(context).entrySet()) {
            if (e.getKey().startsWith(VolumeParameters.SIDECAR_PREFIX)) {
                continue;
            }
            String mine = volume.parameters().get(e.getKey());
            if (mine == null) {
                return "volume_context key '" + e.getKey() + "' is not one Ballast sets";
            }
            if (!mine.equals(e.getValue())) {
                return "volume_context " + e.getKey() + "=" + e.getValue() + " does not match the volume's " + mine;
            }
        }
        return null;
    }
}
