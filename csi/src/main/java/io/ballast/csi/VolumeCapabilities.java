package io.ballast.csi;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.proto.csi.v1.VolumeCapability;
import io.ballast.proto.csi.v1.VolumeCapability.AccessMode.Mode;
import java.util.List;
import java.util.Set;

/**
 * Which CSI volume capabilities Ballast supports, in one place for the Controller and Node services.
 *
 * <p>Two questions are kept apart, because the spec answers them with different codes: a capability
 * that is <em>malformed</em> (no access type, no or unknown access mode) is INVALID_ARGUMENT
 * everywhere; a well-formed capability that is <em>unsupported</em> is INVALID_ARGUMENT for
 * CreateVolume/ControllerPublish but only an unconfirmed answer for ValidateVolumeCapabilities.
 *
 * <p>Supported: block or mount access; mount with fsType "" (the Node service chooses), ext4 or xfs; access
 * modes SINGLE_NODE_WRITER, SINGLE_NODE_READER_ONLY, SINGLE_NODE_SINGLE_WRITER,
 * SINGLE_NODE_MULTI_WRITER and MULTI_NODE_READER_ONLY with either access type; MULTI_NODE_MULTI_WRITER
 * and MULTI_NODE_SINGLE_WRITER with block access only (ext4 and xfs are not cluster filesystems: two
 * nodes mounting one read-write would corrupt it). Stateless, thread-safe.
 */
public final class VolumeCapabilities {
    /** Filesystems the Node service can make and mount; "" leaves the choice to the Node service. */
    public static final Set<String> FS_TYPES = Set.of("", "ext4", "xfs");

    private VolumeCapabilities() {
    }

    /** INVALID_ARGUMENT unless the list is non-empty and every capability is well formed and supported. */
    public static void requireSupported(List<VolumeCapability> caps, String field) {
        if (caps.isEmpty()) {
            throw invalid(field + " is required (at least one volume capability)");
        }
        for (int i = 0; i < caps.size(); i++) {
            requireSupported(caps.get(i), field + "[" + i + "]");
        }
    }

    /** INVALID_ARGUMENT unless the capability is well formed and supported. */
    public static void requireSupported(VolumeCapability cap, String field) {
        requireWellFormed(cap, field);
        String why = unsupported(cap);
        if (why != null) {
            throw invalid(field + ": " + why);
        }
    }

    /** INVALID_ARGUMENT when the capability lacks an access type or a known access mode. */
    public static void requireWellFormed(VolumeCapability cap, String field) {
        if (cap.getAccessTypeCase() == VolumeCapability.AccessTypeCase.ACCESSTYPE_NOT_SET) {
            throw invalid(field + ": access_type is required (block or mount)");
        }
        if (!cap.hasAccessMode() || cap.getAccessMode().getMode() == Mode.UNKNOWN) {
            throw invalid(field + ": access_mode is required");
        }
        if (cap.getAccessMode().getMode() == Mode.UNRECOGNIZED) {
            throw invalid(field + ": access_mode " + cap.getAccessMode().getModeValue() + " is not a CSI access mode");
        }
    }

    /** Null when a well-formed capability is supported, else why not (for a person to read). */
    public static String unsupported(VolumeCapability cap) {
        Mode mode = cap.getAccessMode().getMode();
        if (cap.hasMount()) {
            String fs = cap.getMount().getFsType();
            if (!FS_TYPES.contains(fs)) {
                return "fs_type '" + fs + "' is not supported (use ext4 or xfs, or block access)";
            }
            if (mode == Mode.MULTI_NODE_MULTI_WRITER || mode == Mode.MULTI_NODE_SINGLE_WRITER) {
                return "access mode " + mode + " needs block access: ext4/xfs cannot be mounted on several nodes";
            }
        }
        return null;
    }

    /** True for the modes that allow the volume on one node only (publication is exclusive). */
    public static boolean singleNode(Mode mode) {
        return switch (mode) {
            case SINGLE_NODE_WRITER, SINGLE_NODE_READER_ONLY, SINGLE_NODE_SINGLE_WRITER, SINGLE_NODE_MULTI_WRITER -> true;
            default -> false;
        };
    }

    /**
     * True for the mode whose publications on several nodes all write
     * (MULTI_NODE_MULTI_WRITER, block only): each node attaches shared, fencing none of the others.
     * {@code mode}: the access mode's name, as a staged-volume record keeps it.
     */
    public static boolean sharedWriters(String mode) {
        return Mode.MULTI_NODE_MULTI_WRITER.name().equals(mode);
    }

    /** True for the reader-only modes: publishing in them is read-only whatever the readonly flag says. */
    public static boolean readerOnly(Mode mode) {
        return mode == Mode.SINGLE_NODE_READER_ONLY || mode == Mode.MULTI_NODE_READER_ONLY;
    }

    private static BallastException invalid(String message) {
        return new BallastException(ErrorCode.INVALID_ARGUMENT, message);
    }
}
