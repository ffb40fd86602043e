package io.ballast.csi.controller;

import io.ballast.cluster.ClusterBackend;
import io.ballast.cluster.VolumeEncryption;
import io.ballast.csi.MkfsOptions;
import io.ballast.csi.VolumeCapabilities;
import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import java.util.Map;
import java.util.TreeMap;

/**
 * The StorageClass parameters Ballast understands, parsed once:
 * <ul>
 *   <li>{@value #REPLICAS}: number of replicas, 1..{@value #MAX_REPLICAS}, default {@value #DEFAULT_REPLICAS};</li>
 *   <li>{@value #FS_TYPE}: ext4 or xfs, the filesystem for mount access (optional);</li>
 *   <li>{@value io.ballast.csi.MkfsOptions#KEY}: extra mkfs arguments for the first stage (optional, {@link MkfsOptions});</li>
 *   <li>{@value io.ballast.cluster.VolumeEncryption#PARAMETER}: "true" for a volume encrypted on the attaching node with
 *       the passphrase of the node-stage Secret (optional, default "false").</li>
 * </ul>
 * Keys under {@value #SIDECAR_PREFIX} are added by the CSI sidecars (PVC name and namespace, ...):
 * they are accepted and ignored, so they never make two requests for one volume look different.
 * Any other key is INVALID_ARGUMENT naming it: a typo such as {@code replica: "5"} must not silently
 * give 3 replicas.
 *
 * @param replicas  the replica count
 * @param fsType    "" when not given
 * @param mkfsOptions "" when not given
 * @param encrypted   encrypted on the attaching node (see {@link io.ballast.cluster.VolumeEncryption})
 */
public record VolumeParameters(int replicas, String fsType, String mkfsOptions, boolean encrypted) {
    public static final String REPLICAS = "replicas";
    public static final String FS_TYPE = "fsType";
    public static final String SIDECAR_PREFIX = "csi.storage.k8s.io/";
    public static final int DEFAULT_REPLICAS = 3;
    public static final int MAX_REPLICAS = 5;

    /** Parses {@code params} (the request field {@code field}); INVALID_ARGUMENT on an unknown key or bad value. */
    public static VolumeParameters parse(Map<String, String> params, String field) {
        int replicas = DEFAULT_REPLICAS;
        String fsType = "";
        String mkfs = "";
        boolean encrypted = false;
        for (Map.Entry<String, String> e : new TreeMap<>(params).entrySet()) {
            String key = e.getKey();
            String value = e.getValue();
            if (key.startsWith(SIDECAR_PREFIX)) {
                continue;
            }
            switch (key) {
                case REPLICAS -> replicas = parseReplicas(value, field);
                case FS_TYPE -> {
                    if (value.isEmpty() || !VolumeCapabilities.FS_TYPES.contains(value)) {
                        throw invalid(field + ": " + FS_TYPE + " '" + value + "' is not supported; use ext4 or xfs");
                    }
                    fsType = value;
                }
                case MkfsOptions.KEY -> mkfs = String.join(" ", MkfsOptions.parse(value, field));
                case VolumeEncryption.PARAMETER -> {
                    if (!value.equals("true") && !value.equals("false")) {
                        throw invalid(field + ": " + VolumeEncryption.PARAMETER + " must be \"true\" or \"false\", got '" + value + "'");
                    }
                    encrypted = value.equals("true");
                }
                default -> throw invalid(field + ": unknown parameter '" + key + "'; Ballast understands "
                        + REPLICAS + ", " + FS_TYPE + ", " + MkfsOptions.KEY + " and " + VolumeEncryption.PARAMETER
                        + " (and ignores " + SIDECAR_PREFIX + "* keys)");
            }
        }
        return new VolumeParameters(replicas, fsType, mkfs, encrypted);
    }

    /**
     * The replica count a CSI {@code mutable_parameters} map asks for (ModifyVolume, or CreateVolume
     * from a VolumeAttributesClass), or 0 when it is empty. {@value #REPLICAS} is the only mutable
     * parameter: any other key is INVALID_ARGUMENT naming it.
     */
    public static int mutableReplicas(Map<String, String> params, String field) {
        int replicas = 0;
        for (Map.Entry<String, String> e : new TreeMap<>(params).entrySet()) {
            if (!e.getKey().equals(REPLICAS)) {
                throw invalid(field + ": '" + e.getKey() + "' cannot be changed; the only mutable parameter is " + REPLICAS
                        + " (1.." + MAX_REPLICAS + ")");
            }
            replicas = parseReplicas(e.getValue(), field);
        }
        return replicas;
    }

    /** The same parameters with {@code replicas} instead (0: unchanged). */
    public VolumeParameters withReplicas(int n) {
        return n == 0 ? this : new VolumeParameters(n, fsType, mkfsOptions, encrypted);
    }

    private static int parseReplicas(String value, String field) {
        int n;
        try {
            n = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw invalid(field + ": " + REPLICAS + " '" + value + "' is not a number");
        }
        if (n < 1 || n > MAX_REPLICAS) {
            throw invalid(field + ": " + REPLICAS + " must be 1.." + MAX_REPLICAS + ", got " + n);
        }
        return n;
    }

    /**
     * The canonical form handed to the backend and recorded with the volume (and echoed as the
     * volume context): replicas always, fsType, mkfs options and encrypted when given. Two requests with the same canonical
     * form ask for the same volume.
     */
    public Map<String, String> canonical() {
        Map<String, String> m = new TreeMap<>();
        m.put(REPLICAS, Integer.toString(replicas));
        if (!fsType.isEmpty()) {
            m.put(FS_TYPE, fsType);
        }
        if (!mkfsOptions.isEmpty()) {
            m.put(MkfsOptions.KEY, mkfsOptions);
        }
        if (encrypted) {
            m.put(VolumeEncryption.PARAMETER, "true");
        }
        return m;
    }

    /** The parameters recorded with an existing volume, read back leniently (a volume made outside CSI may lack them). */
    public static VolumeParameters of(ClusterBackend.VolumeRecord volume) {
        return new VolumeParameters(volume.replicas(), volume.parameters().getOrDefault(FS_TYPE, ""),
                volume.parameters().getOrDefault(MkfsOptions.KEY, ""), VolumeEncryption.encrypted(volume.parameters()));
    }

    private static BallastException invalid(String message) {
        return new BallastException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
