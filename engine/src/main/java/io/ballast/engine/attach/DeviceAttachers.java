package io.ballast.engine.attach;

import io.ballast.engine.error.BallastException;
import io.ballast.engine.error.ErrorCode;
import io.ballast.engine.fuse.FuseExportConfig;
import io.ballast.engine.keeper.FdKeeperClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Chooses the node's {@link DeviceAttacher} from the {@code --attach} flag: {@code auto} takes NBD
 * where the kernel has it (/dev/nbd0 exists, or the "nbd" generic netlink family resolves) and
 * FUSE + loop elsewhere; {@code nbd} and {@code fuse-loop} force one ({@code nbd} on a host without
 * the module is refused at once, with the fix, rather than failing every stage later).
 *
 * <p>Stateless and thread-safe; the probes touch the host only when called.
 */
public final class DeviceAttachers {
    private DeviceAttachers() {
    }

    /** The flag values. */
    public static final String AUTO = "auto";
    public static final String NBD = "nbd";
    public static final String FUSE_LOOP = "fuse-loop";

    /** What the host offers; injected in tests. */
    public interface Probes {
        /** True when /dev/nbd0 (or its sysfs entry) exists: the module is loaded. */
        boolean nbdDeviceExists();

        /** True when CTRL_CMD_GETFAMILY "nbd" answers (the module is loaded, or loads on demand). */
        boolean nbdFamilyResolves();

        /** This host's: /dev/nbd0 and /sys/block/nbd0; a real CTRL_CMD_GETFAMILY on generic netlink. */
        static Probes system() {
            return new Probes() {
                @Override
                public boolean nbdDeviceExists() {
                    return Files.exists(Path.of("/dev/nbd0")) || Files.exists(Path.of("/sys/block/nbd0"));
                }

                @Override
                public boolean nbdFamilyResolves() {
                    try (NbdNative.GenlSocket s = NbdNative.GenlSocket.open(2000)) {
                        s.resolve(NbdNetlink.FAMILY);
                        return true;
                    } catch (BallastException e) {
                        return false;
                    }
                }
            };
        }
    }

    /**
     * The decision: {@code kind} is {@link #NBD} or {@link #FUSE_LOOP}; {@code reason} is one line for
     * the node's startup log.
     */
    public record Choice(String kind, String reason) {
        /**
         * The attacher chosen.
         *
         * @param nbdSocket  the node's NBD server socket (for nbd)
         * @param fuseRunDir where FUSE mount points are made (for fuse-loop)
         * @param keeper     holds FUSE connections across restarts (for fuse-loop); null: none
         */
        public DeviceAttacher create(Path nbdSocket, Path fuseRunDir, FdKeeperClient keeper) {
            return kind.equals(NBD) ? new NbdAttacher(nbdSocket)
                    : new FuseLoopAttacher(fuseRunDir, FuseExportConfig.defaults(), true, keeper);
        }
    }

    /** {@link #choose(String, Probes)} with this host's probes. */
    public static Choice choose(String flag) {
        return choose(flag, Probes.system());
    }

    /**
     * @throws BallastException INVALID_ARGUMENT for an unknown flag; FAILED_PRECONDITION for
     *                          {@code nbd} on a host without the nbd module
     */
    public static Choice choose(String flag, Probes probes) {
        Objects.requireNonNull(probes, "probes");
        String f = flag == null ? "" : flag.trim();
        switch (f) {
            case FUSE_LOOP:
                return new Choice(FUSE_LOOP, "--attach=fuse-loop");
            case NBD:
            case AUTO: {
                String nbd = probes.nbdDeviceExists() ? "/dev/nbd0 exists"
                        : probes.nbdFamilyResolves() ? "the nbd generic netlink family resolves" : null;
                if (nbd != null) {
                    return new Choice(NBD, "--attach=" + f + ": " + nbd);
                }
                if (f.equals(NBD)) {
                    throw new BallastException(ErrorCode.FAILED_PRECONDITION, "--attach=nbd but the kernel has no "
                            + "nbd module (no /dev/nbd0, no 'nbd' generic netlink family): modprobe nbd, "
                            + "or use --attach=auto or --attach=fuse-loop");
                }
                return new Choice(FUSE_LOOP, "--attach=auto: no nbd kernel module (no /dev/nbd0, no 'nbd' generic "
                        + "netlink family), so FUSE + loop");
            }
            default:
                throw new BallastException(ErrorCode.INVALID_ARGUMENT, "unknown --attach value '" + flag
                        + "': use auto, nbd or fuse-loop");
        }
    }
}
